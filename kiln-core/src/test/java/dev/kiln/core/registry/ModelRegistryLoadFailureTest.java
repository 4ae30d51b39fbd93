package dev.kiln.core.registry;

import static dev.kiln.core.registry.KilnAssertions.assertKind;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.time.FakeTicker;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry when a version fails to load or a model's config.yaml is wrong: the failure stays
 * with that version or model and never stops the others.
 */
class ModelRegistryLoadFailureTest {
  private static final OptionalLong LATEST = OptionalLong.empty();

  @TempDir Path dir;
  private TestRepository repo;
  private FakeTicker ticker;
  private FakeRuntime runtime;
  private ModelRegistry registry;

  @BeforeEach
  void setUp() {
    repo = new TestRepository(dir);
    ticker = new FakeTicker();
    runtime = new FakeRuntime(ticker);
    KilnConfig config =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "repository.path", dir.toString(),
                "repository.model-control", "poll",
                "repository.poll-interval", "1h"));
    registry = new ModelRegistry(config, List.of(runtime), ticker);
  }

  @AfterEach
  void tearDown() {
    registry.close();
  }

  private static OptionalLong v(long version) {
    return OptionalLong.of(version);
  }

  @Test
  void acquire_highestVersionFailed_returnsHighestReadyVersion() {
    repo.version("m", 1).brokenVersion("m", 2).config("m", "version-policy: all\n");
    registry.start();

    try (Lease lease = registry.acquire("m", LATEST)) {
      assertThat(lease.version()).isEqualTo(1);
    }
  }

  @Test
  void start_loadFails_versionUnavailableWithReason() {
    repo.brokenVersion("m", 1);

    registry.start();

    VersionStatus s = registry.status("m", v(1));
    assertThat(s.state()).isEqualTo(ModelState.UNAVAILABLE);
    assertThat(s.reason()).contains("the model file is corrupt");
  }

  @Test
  void acquire_loadFailed_throwsModelNotReadyWithReason() {
    repo.brokenVersion("m", 1);
    registry.start();

    assertKind(
        () -> registry.acquire("m", LATEST),
        ErrorKind.MODEL_NOT_READY,
        "the model file is corrupt");
  }

  @Test
  void acquire_failedVersionByNumber_throwsModelNotReady() {
    repo.brokenVersion("m", 1);
    registry.start();

    assertKind(() -> registry.acquire("m", v(1)), ErrorKind.MODEL_NOT_READY, "version 1");
  }

  @Test
  void start_oneModelFails_otherModelServes() {
    repo.brokenVersion("bad", 1).version("good", 1);

    registry.start();

    try (Lease lease = registry.acquire("good", LATEST)) {
      assertThat(lease.model()).isEqualTo("good");
    }
  }

  @Test
  void allReady_oneModelFailed_isFalse() {
    repo.brokenVersion("bad", 1).version("good", 1);

    registry.start();

    assertThat(registry.allReady()).isFalse();
  }

  @Test
  void start_configNamesInputModelLacks_versionUnavailableNamingInput() {
    repo.version("m", 1).config("m", "inputs:\n  - name: age\n    datatype: FP32\n");

    registry.start();

    VersionStatus s = registry.status("m", v(1));
    assertThat(s.state()).isEqualTo(ModelState.UNAVAILABLE);
    assertThat(s.reason()).contains("'age'");
  }

  @Test
  void start_configNamesInputModelLacks_closesLoadedModel() {
    repo.version("m", 1).config("m", "inputs:\n  - name: age\n");

    registry.start();

    assertThat(runtime.model("m", 1).closeCount()).isEqualTo(1);
  }

  @Test
  void start_configNamesMissingBackend_versionUnavailableNamingBackend() {
    repo.version("m", 1).config("m", "backend: tensorflow\n");

    registry.start();

    assertThat(registry.status("m", v(1)).reason()).contains("'tensorflow'");
  }

  @Test
  void acquire_badConfigYaml_throwsModelNotReadyWithReason() {
    repo.version("bad", 1).config("bad", "version-policy: newest\n");

    registry.start();

    assertKind(
        () -> registry.acquire("bad", LATEST), ErrorKind.MODEL_NOT_READY, "bad config", "'newest'");
  }

  @Test
  void start_badConfigYaml_otherModelServes() {
    repo.version("bad", 1).config("bad", "version-policy: newest\n").version("good", 1);

    registry.start();

    try (Lease lease = registry.acquire("good", LATEST)) {
      assertThat(lease.model()).isEqualTo("good");
    }
  }

  @Test
  void allReady_badConfigYaml_isFalse() {
    repo.version("bad", 1).config("bad", "version-policy: newest\n").version("good", 1);

    registry.start();

    assertThat(registry.allReady()).isFalse();
  }
}
