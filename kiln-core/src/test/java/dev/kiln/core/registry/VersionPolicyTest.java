package dev.kiln.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.registry.VersionPolicy.Kind;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VersionPolicyTest {
  private static final Set<Long> ON_DISK = Set.of(1L, 3L, 2L, 10L);

  @Test
  void select_latestOne_returnsHighestVersion() {
    assertThat(VersionPolicy.LATEST_ONE.select(ON_DISK)).containsExactly(10L);
  }

  @Test
  void select_latestTwo_returnsTwoHighestVersions() {
    VersionPolicy p = new VersionPolicy(Kind.LATEST, 2, List.of());

    assertThat(p.select(ON_DISK)).containsExactly(3L, 10L);
  }

  @Test
  void select_latestMoreThanOnDisk_returnsEveryVersion() {
    VersionPolicy p = new VersionPolicy(Kind.LATEST, 9, List.of());

    assertThat(p.select(ON_DISK)).containsExactly(1L, 2L, 3L, 10L);
  }

  @Test
  void select_all_returnsEveryVersionInOrder() {
    VersionPolicy p = new VersionPolicy(Kind.ALL, 0, List.of());

    assertThat(p.select(ON_DISK)).containsExactly(1L, 2L, 3L, 10L);
  }

  @Test
  void select_specific_returnsListedVersionsOnDisk() {
    VersionPolicy p = new VersionPolicy(Kind.SPECIFIC, 0, List.of(3L, 1L));

    assertThat(p.select(ON_DISK)).containsExactly(1L, 3L);
  }

  @Test
  void select_specificVersionNotOnDisk_leavesItOut() {
    VersionPolicy p = new VersionPolicy(Kind.SPECIFIC, 0, List.of(2L, 7L));

    assertThat(p.select(ON_DISK)).containsExactly(2L);
  }

  @Test
  void select_nothingOnDisk_returnsEmpty() {
    assertThat(VersionPolicy.LATEST_ONE.select(Set.of())).isEmpty();
  }

  @Test
  void new_latestZero_throws() {
    assertThatThrownBy(() -> new VersionPolicy(Kind.LATEST, 0, List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("latest");
  }

  @Test
  void new_specificWithoutVersions_throws() {
    assertThatThrownBy(() -> new VersionPolicy(Kind.SPECIFIC, 0, List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("specific");
  }
}
