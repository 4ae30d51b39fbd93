package dev.kiln.core.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.registry.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnsembleConfigTest {
  @TempDir Path dir;

  private ModelConfig read(String yaml) throws IOException {
    Files.writeString(dir.resolve(ModelConfig.FILE_NAME), yaml);
    return ModelConfig.read(dir);
  }

  @Test
  void read_ensembleBlock_setsBackendAndDefaults() throws IOException {
    ModelConfig c = read("ensemble:\n  members: [a, b]\n");

    assertThat(c.backend()).isEqualTo("ensemble");
    assertThat(c.ensemble().combiner()).isEqualTo("mean");
    assertThat(c.ensemble().output()).isEqualTo("probabilities");
  }

  @Test
  void read_stackWithFinal_readsTheFinalKey() throws IOException {
    ModelConfig c =
        read("backend: ensemble\nensemble: {members: [a], combiner: stack, final: meta}\n");

    assertThat(c.ensemble().finalModel()).isEqualTo("meta");
  }

  @Test
  void read_weightedMeanWithoutWeights_fails() {
    assertThatThrownBy(() -> read("ensemble: {members: [a, b], combiner: weighted-mean}\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs ensemble.weights");
  }

  @Test
  void read_weightsOfTheWrongLength_fails() {
    assertThatThrownBy(
            () -> read("ensemble: {members: [a, b], combiner: weighted-mean, weights: [1]}\n"))
        .hasMessageContaining("1 values for 2 members");
  }

  @Test
  void read_unknownCombiner_fails() {
    assertThatThrownBy(() -> read("ensemble: {members: [a], combiner: median}\n"))
        .hasMessageContaining("ensemble.combiner must be one of");
  }

  @Test
  void read_ensembleBlockWithOtherBackend_fails() {
    assertThatThrownBy(() -> read("backend: onnxruntime\nensemble: {members: [a]}\n"))
        .hasMessageContaining("needs backend 'ensemble'");
  }

  @Test
  void load_fromVersionDirectory_readsTheModelsConfig() throws IOException {
    read("ensemble: {members: [a, b], combiner: vote}\n");
    Path version = Files.createDirectories(dir.resolve("1"));
    var members = new FakeMembers().put("a", FakeMembers.classifier(x -> new float[] {1, 0}));
    var source =
        new dev.kiln.core.model.ModelSource(
            "e", 1, version, null, dev.kiln.core.config.KilnConfig.defaults(), members);

    var loaded = new EnsembleRuntime().load(source);

    assertThat(loaded.signature().outputs()).hasSize(1);
    assertThat(loaded.signature().outputs().getFirst().name()).isEqualTo("label");
  }
}
