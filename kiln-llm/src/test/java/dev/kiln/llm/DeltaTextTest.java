package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeltaTextTest {
  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void append_characterSplitAcrossTokens_waitsForTheRest() {
    byte[] emoji = utf8("😀");
    DeltaText t = new DeltaText(List.of());
    assertThat(t.append(Arrays.copyOfRange(emoji, 0, 2))).isEmpty();
    assertThat(t.append(Arrays.copyOfRange(emoji, 2, 4))).isEqualTo("😀");
  }

  @Test
  void append_stopStringAcrossTokens_dropsItAndStops() {
    DeltaText t = new DeltaText(List.of("\nUser:"));
    StringBuilder shown = new StringBuilder();
    for (String piece : List.of("Hello", " there\n", "Us", "er: more")) {
      shown.append(t.append(utf8(piece)));
    }
    assertThat(t.stopped()).isTrue();
    assertThat(shown).hasToString("Hello there");
    assertThat(t.text()).isEqualTo("Hello there");
  }

  @Test
  void append_prefixOfStopThatDoesNotComplete_isShownLater() {
    DeltaText t = new DeltaText(List.of("LORD,"));
    assertThat(t.append(utf8("the LO"))).isEqualTo("the ");
    assertThat(t.append(utf8("RD and"))).isEqualTo("LORD and");
    assertThat(t.stopped()).isFalse();
  }

  @Test
  void finish_heldBackPrefix_isReleased() {
    DeltaText t = new DeltaText(List.of("amen"));
    assertThat(t.append(utf8("so be it, am"))).isEqualTo("so be it, ");
    assertThat(t.finish()).isEqualTo("am");
    assertThat(t.text()).isEqualTo("so be it, am");
  }

  @Test
  void append_earliestOfSeveralStops_wins() {
    DeltaText t = new DeltaText(List.of("c", "b"));
    assertThat(t.append(utf8("abc"))).isEqualTo("a");
    assertThat(t.stopped()).isTrue();
  }
}
