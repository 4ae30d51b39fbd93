package dev.kiln.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class KilnConfigTest {
  /** What a runtime module would declare for its own section. */
  record OnnxSection(int intraOpThreads, int interOpThreads, String optimizationLevel) {}

  @Test
  void section_defaults_bindsKebabCaseKeysToComponents() {
    OnnxSection s = KilnConfig.defaults().section("onnx", OnnxSection.class);

    assertThat(s).isEqualTo(new OnnxSection(1, 0, "all"));
  }

  @Test
  void section_flagOverridesKey_bindsOverriddenValue() {
    KilnConfig c =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of("onnx.intra-op-threads", "4", "onnx.optimization-level", "basic"));

    OnnxSection s = c.section("onnx", OnnxSection.class);

    assertThat(s).isEqualTo(new OnnxSection(4, 0, "basic"));
  }

  @Test
  void section_valueOfWrongType_throwsNamingSection() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("onnx.intra-op-threads", "many"));

    assertThatThrownBy(() -> c.section("onnx", OnnxSection.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("config section onnx");
  }

  @Test
  void redacted_adminTokenSet_masksIt() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("server.admin-token", "s3cret"));

    assertThat(c.redacted().get("server.admin-token")).isEqualTo("******");
  }

  @Test
  void redacted_adminTokenSet_leavesOtherValuesVisible() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("server.admin-token", "s3cret"));

    assertThat(c.redacted()).containsEntry("server.port", "8080").doesNotContainValue("s3cret");
  }

  @Test
  void redacted_adminTokenEmpty_staysEmpty() {
    assertThat(KilnConfig.defaults().redacted()).containsEntry("server.admin-token", "");
  }

  @Test
  void redacted_adminTokenSet_doesNotChangeEffectiveValue() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("server.admin-token", "s3cret"));

    c.redacted();

    assertThat(c.server().adminToken()).isEqualTo("s3cret");
  }
}
