package dev.kiln.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.config.KilnConfig;
import dev.kiln.onnx.OnnxSettings.OptimizationLevel;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxSettingsTest {
  private final OnnxSettings defaults = new OnnxSettings(1, 0, OptimizationLevel.ALL);

  @Test
  void section_embeddedDefaults_bindsOnnxRuntimeDefaults() {
    assertThat(KilnConfig.defaults().section("onnx", OnnxSettings.class)).isEqualTo(defaults);
  }

  @Test
  void withOverrides_noParameters_keepsSettings() {
    assertThat(defaults.withOverrides(Map.of())).isEqualTo(defaults);
  }

  @Test
  void withOverrides_everyKey_replacesEachSetting() {
    var overridden =
        defaults.withOverrides(
            Map.of(
                "intra-op-threads", " 3",
                "inter-op-threads", "2",
                "optimization-level", "Basic"));

    assertThat(overridden).isEqualTo(new OnnxSettings(3, 2, OptimizationLevel.BASIC));
  }

  @Test
  void withOverrides_threadCountNotANumber_failsNamingTheParameter() {
    assertThatThrownBy(() -> defaults.withOverrides(Map.of("intra-op-threads", "many")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("parameters.intra-op-threads: 'many' is not a whole number");
  }

  @Test
  void withOverrides_negativeThreadCount_failsNamingTheParameter() {
    assertThatThrownBy(() -> defaults.withOverrides(Map.of("inter-op-threads", "-2")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("parameters.inter-op-threads must be >= 0, was -2");
  }

  @Test
  void withOverrides_unknownLevel_failsListingTheLevels() {
    assertThatThrownBy(() -> defaults.withOverrides(Map.of("optimization-level", "max")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'max' is not an optimization level (none, basic, extended or all)");
  }

  @Test
  void constructor_negativeThreads_throws() {
    assertThatThrownBy(() -> new OnnxSettings(-1, 0, OptimizationLevel.ALL))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("intra-op-threads must be >= 0, was -1");
  }

  @Test
  void constructor_noLevel_throws() {
    assertThatThrownBy(() -> new OnnxSettings(0, 0, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("optimization-level is required");
  }
}
