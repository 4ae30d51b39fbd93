package dev.kiln.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Assertions on the {@link KilnException}s the registry throws. */
final class KilnAssertions {
  private KilnAssertions() {}

  /** The call throws a {@link KilnException} of this kind whose message holds every fragment. */
  static void assertKind(ThrowingCallable call, ErrorKind kind, String... fragments) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            KilnException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(kind);
              assertThat(e.getMessage()).contains(fragments);
            });
  }
}
