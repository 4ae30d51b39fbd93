package dev.kiln.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
  @TempDir Path dir;

  private Path yaml(String text) throws IOException {
    return Files.writeString(dir.resolve("kiln.yaml"), text);
  }

  @Test
  void load_noLayers_usesEmbeddedDefaults() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of());

    assertThat(c.server().port()).isEqualTo(8080);
    assertThat(c.server().host()).isEqualTo("0.0.0.0");
    assertThat(c.server().shutdownTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.server().strictReadiness()).isTrue();
    assertThat(c.repository().modelControl()).isEqualTo(ModelControl.NONE);
    assertThat(c.repository().pollInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.repository().loadModels()).isEmpty();
  }

  @Test
  void load_fileSetsKey_overridesDefault() throws IOException {
    Path file = yaml("server:\n  port: 9000\n");

    KilnConfig c = ConfigLoader.load(file, Map.of(), Map.of());

    assertThat(c.server().port()).isEqualTo(9000);
  }

  @Test
  void load_envSetsKey_overridesFile() throws IOException {
    Path file = yaml("server:\n  port: 9000\n");

    KilnConfig c = ConfigLoader.load(file, Map.of("KILN_SERVER_PORT", "9100"), Map.of());

    assertThat(c.server().port()).isEqualTo(9100);
  }

  @Test
  void load_flagSetsKey_overridesEnv() throws IOException {
    Path file = yaml("server:\n  port: 9000\n");

    KilnConfig c =
        ConfigLoader.load(file, Map.of("KILN_SERVER_PORT", "9100"), Map.of("server.port", "9200"));

    assertThat(c.server().port()).isEqualTo(9200);
  }

  @Test
  void load_laterLayerSetsOtherKey_keepsEarlierLayersValue() throws IOException {
    Path file = yaml("server:\n  host: 127.0.0.1\n");

    KilnConfig c = ConfigLoader.load(file, Map.of(), Map.of("server.port", "9200"));

    assertThat(c.server().host()).isEqualTo("127.0.0.1");
  }

  @Test
  void load_envNameWithDashes_mapsToKebabCaseKey() {
    KilnConfig c =
        ConfigLoader.load(null, Map.of("KILN_REPOSITORY_MODEL_CONTROL", "poll"), Map.of());

    assertThat(c.repository().modelControl()).isEqualTo(ModelControl.POLL);
  }

  @Test
  void load_envHoldsUnrelatedVariables_ignoresThem() {
    KilnConfig c =
        ConfigLoader.load(null, Map.of("PATH", "/usr/bin", "KILN_NOT_A_KEY", "x"), Map.of());

    assertThat(c.values()).doesNotContainKeys("path", "not.a.key");
  }

  @Test
  void load_unknownKeyInFile_throwsNamingKey() throws IOException {
    Path file = yaml("server:\n  prot: 9000\n");

    assertThatThrownBy(() -> ConfigLoader.load(file, Map.of(), Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'server.prot'")
        .hasMessageContaining("config file");
  }

  @Test
  void load_unknownKeyInFlags_throwsNamingKey() {
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("repository.pth", "m")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'repository.pth'")
        .hasMessageContaining("flags");
  }

  @Test
  void load_portOutOfRange_throwsNamingKey() {
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("server.port", "70000")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("server.port")
        .hasMessageContaining("70000");
  }

  @Test
  void load_pollIntervalBelowMinimum_throwsNamingKey() {
    assertThatThrownBy(
            () -> ConfigLoader.load(null, Map.of(), Map.of("repository.poll-interval", "1ms")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("repository.poll-interval");
  }

  @Test
  void load_missingFile_throwsNamingFile() {
    Path missing = dir.resolve("nope.yaml");

    assertThatThrownBy(() -> ConfigLoader.load(missing, Map.of(), Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(missing.toString());
  }

  @Test
  void load_fileWithOnlyComments_usesDefaults() throws IOException {
    Path file = yaml("# nothing to override yet\n");

    KilnConfig c = ConfigLoader.load(file, Map.of(), Map.of());

    assertThat(c.server().port()).isEqualTo(8080);
  }

  @ParameterizedTest
  @CsvSource({"250ms, 250", "5s, 5000", "PT2S, 2000", "2m, 120000"})
  void load_durationFlag_parsesUnit(String text, long expectedMillis) {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("server.shutdown-timeout", text));

    assertThat(c.server().shutdownTimeout()).isEqualTo(Duration.ofMillis(expectedMillis));
  }

  @Test
  void load_durationInFile_parsesUnit() throws IOException {
    Path file = yaml("repository:\n  poll-interval: 250ms\n");

    KilnConfig c = ConfigLoader.load(file, Map.of(), Map.of());

    assertThat(c.repository().pollInterval()).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void load_listKeyFromFlags_splitsOnCommas() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("repository.load-models", "a,b"));

    assertThat(c.repository().loadModels()).containsExactly("a", "b");
  }

  @Test
  void load_listKeyWithSpacesAndEmptyItems_trimsAndDropsEmpty() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("repository.load-models", " a , b ,"));

    assertThat(c.repository().loadModels()).containsExactly("a", "b");
  }

  @Test
  void load_listKeyFromFileSequence_readsEveryItem() throws IOException {
    Path file = yaml("repository:\n  load-models: [x, y]\n");

    KilnConfig c = ConfigLoader.load(file, Map.of(), Map.of());

    assertThat(c.repository().loadModels()).containsExactly("x", "y");
  }

  @Test
  void load_listKeyFromEnv_splitsOnCommas() {
    KilnConfig c = ConfigLoader.load(null, Map.of("KILN_REPOSITORY_LOAD_MODELS", "a,b"), Map.of());

    assertThat(c.repository().loadModels()).containsExactly("a", "b");
  }

  @Test
  void load_flagsSet_valuesHoldEffectiveStrings() {
    KilnConfig c = ConfigLoader.load(null, Map.of(), Map.of("server.port", "9200"));

    assertThat(c.values())
        .containsEntry("server.port", "9200")
        .containsKey("onnx.intra-op-threads");
  }

  @Test
  void parseDuration_fractionalSeconds_isExactToTheNanosecond() {
    assertThat(ConfigLoader.parseDuration("1.001s")).isEqualTo(Duration.ofMillis(1001));
  }

  @Test
  void parseDuration_bareNumber_isSeconds() {
    assertThat(ConfigLoader.parseDuration("3")).isEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void parseDuration_unknownUnit_throwsNamingText() {
    assertThatThrownBy(() -> ConfigLoader.parseDuration("5days"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'5days'");
  }

  @Test
  void parseDuration_noNumber_throwsNamingText() {
    assertThatThrownBy(() -> ConfigLoader.parseDuration("ms"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'ms'");
  }
}
