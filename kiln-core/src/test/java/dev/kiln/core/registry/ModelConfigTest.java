package dev.kiln.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.registry.ModelConfig.TensorConfig;
import dev.kiln.core.registry.VersionPolicy.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
  @TempDir Path dir;

  private ModelConfig read(String yaml) throws IOException {
    Files.writeString(dir.resolve(ModelConfig.FILE_NAME), yaml);
    return ModelConfig.read(dir);
  }

  @Test
  void read_noFile_returnsEmpty() {
    assertThat(ModelConfig.read(dir)).isEqualTo(ModelConfig.empty());
  }

  @Test
  void read_emptyFile_returnsEmpty() throws IOException {
    assertThat(read("")).isEqualTo(ModelConfig.empty());
  }

  @Test
  void read_onlyComments_returnsEmpty() throws IOException {
    assertThat(read("# every key is optional\n")).isEqualTo(ModelConfig.empty());
  }

  @Test
  void read_allKeys_bindsEach() throws IOException {
    ModelConfig c =
        read(
            """
            backend: onnxruntime
            max-batch-size: 8
            version-policy: {latest: 2}
            inputs:
              - name: x
                datatype: FP32
                shape: [-1, 2]
                features: [age, income]
                allow-nan: true
            outputs:
              - name: y
                labels: [cat, dog]
            parameters:
              threads: 4
              mode: fast
            """);

    assertThat(c.backend()).isEqualTo("onnxruntime");
    assertThat(c.maxBatchSize()).isEqualTo(8);
    assertThat(c.versionPolicy()).isEqualTo(new VersionPolicy(Kind.LATEST, 2, List.of()));
    assertThat(c.inputs())
        .containsExactly(
            new TensorConfig("x", "FP32", List.of(-1L, 2L), List.of("age", "income"), null, true));
    assertThat(c.outputs())
        .containsExactly(new TensorConfig("y", null, null, null, List.of("cat", "dog"), null));
    assertThat(c.parameters()).isEqualTo(Map.of("threads", "4", "mode", "fast"));
  }

  @Test
  void read_labelsSpelledLikeYamlBooleans_keptAsWritten() throws IOException {
    ModelConfig c = read("outputs:\n  - name: y\n    labels: [no, yes, off]\n");

    assertThat(c.outputs().getFirst().labels()).containsExactly("no", "yes", "off");
  }

  @Test
  void read_numericParameter_keptAsWritten() throws IOException {
    assertThat(read("parameters:\n  ratio: 1.50\n").parameters()).containsEntry("ratio", "1.50");
  }

  @Test
  void read_noVersionPolicy_defaultsToLatestOne() throws IOException {
    assertThat(read("backend: fake\n").versionPolicy()).isEqualTo(VersionPolicy.LATEST_ONE);
  }

  @Test
  void read_versionPolicyLatest_isLatestOne() throws IOException {
    assertThat(read("version-policy: latest\n").versionPolicy())
        .isEqualTo(VersionPolicy.LATEST_ONE);
  }

  @Test
  void read_versionPolicyAll_isAll() throws IOException {
    assertThat(read("version-policy: all\n").versionPolicy().kind()).isEqualTo(Kind.ALL);
  }

  @Test
  void read_versionPolicyLatestN_isLatestN() throws IOException {
    assertThat(read("version-policy: {latest: 2}\n").versionPolicy())
        .isEqualTo(new VersionPolicy(Kind.LATEST, 2, List.of()));
  }

  @Test
  void read_versionPolicySpecific_listsVersions() throws IOException {
    assertThat(read("version-policy: {specific: [1, 3]}\n").versionPolicy())
        .isEqualTo(new VersionPolicy(Kind.SPECIFIC, 0, List.of(1L, 3L)));
  }

  @Test
  void read_unknownVersionPolicy_throwsNamingFileAndPolicy() {
    assertThatThrownBy(() -> read("version-policy: newest\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(ModelConfig.FILE_NAME)
        .hasMessageContaining("'newest'");
  }

  @Test
  void read_negativeMaxBatchSize_throwsNamingKey() {
    assertThatThrownBy(() -> read("max-batch-size: -1\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max-batch-size");
  }

  @Test
  void read_tensorWithoutName_throws() {
    assertThatThrownBy(() -> read("inputs:\n  - datatype: FP32\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name");
  }

  @Test
  void read_malformedYaml_throwsNamingFile() {
    assertThatThrownBy(() -> read("inputs: [\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve(ModelConfig.FILE_NAME).toString());
  }

  @Test
  void read_unknownKey_failsNamingIt(@TempDir Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve(ModelConfig.FILE_NAME), "max-batch-sise: 8\n");

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ModelConfig.read(dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max-batch-sise");
  }
}
