package dev.kiln.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRepositoryTest {
  @TempDir Path dir;

  @Test
  void modelNames_mixedEntries_listsVisibleDirectoriesSorted() {
    new TestRepository(dir)
        .version("zeta", 1)
        .version("alpha", 1)
        .directory(".staging")
        .file("README.md");

    assertThat(new ModelRepository(dir).modelNames()).containsExactly("alpha", "zeta");
  }

  @Test
  void modelNames_rootMissing_throwsNamingRoot() {
    Path missing = dir.resolve("nope");

    assertThatThrownBy(() -> new ModelRepository(missing).modelNames())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(missing.toString());
  }

  @Test
  void versions_mixedEntries_listsPositiveIntegerDirectoriesOnly() {
    new TestRepository(dir)
        .version("m", 1)
        .version("m", 2)
        .version("m", 10)
        .directory("m/.3")
        .directory("m/latest")
        .directory("m/0")
        .directory("m/01")
        .directory("m/-4")
        .file("m/5")
        .config("m", "backend: fake\n");

    assertThat(new ModelRepository(dir).versions("m")).containsExactly(1L, 2L, 10L);
  }

  @Test
  void versions_unknownModel_returnsEmpty() {
    assertThat(new ModelRepository(dir).versions("ghost")).isEmpty();
  }

  @Test
  void modelDirectory_name_resolvesUnderRoot() {
    ModelRepository repo = new ModelRepository(dir);

    assertThat(repo.modelDirectory("m")).isEqualTo(repo.root().resolve("m"));
  }
}
