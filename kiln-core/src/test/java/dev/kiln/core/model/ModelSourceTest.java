package dev.kiln.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.KilnException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelSourceTest {
  private static ModelSource with(Map<String, String> parameters) {
    return new ModelSource("m", 1, Path.of("/tmp/m/1"), parameters, KilnConfig.defaults());
  }

  @Test
  void booleanParameter_absent_isTheFallback() {
    assertThat(with(Map.of()).booleanParameter("warmup", true)).isTrue();
    assertThat(with(Map.of()).booleanParameter("warmup", false)).isFalse();
  }

  @Test
  void booleanParameter_trueOrFalseInAnyCase_isRead() {
    assertThat(with(Map.of("warmup", " FALSE ")).booleanParameter("warmup", true)).isFalse();
    assertThat(with(Map.of("warmup", "True")).booleanParameter("warmup", false)).isTrue();
  }

  @Test
  void booleanParameter_anythingElse_failsNamingParameterAndValue() {
    assertThatThrownBy(() -> with(Map.of("warmup", "yes")).booleanParameter("warmup", true))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("warmup")
        .hasMessageContaining("'yes'");
  }
}
