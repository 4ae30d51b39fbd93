package dev.kiln.core.registry;

import static dev.kiln.core.registry.KilnAssertions.assertKind;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.registry.FakeRuntime.FakeModel;
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
 * The registry in poll mode, driven by calling {@link ModelRegistry#rescan()} directly. The poll
 * interval is an hour so that the background poller never runs during a test.
 */
class ModelRegistryTest {
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
  void start_twoVersionsOnDisk_loadsOnlyLatest() {
    repo.version("m", 1).version("m", 2);

    registry.start();

    assertThat(runtime.loaded()).extracting(m -> m.version).containsExactly(2L);
    assertThat(registry.versions("m"))
        .singleElement()
        .satisfies(s -> {
          assertThat(s.version()).isEqualTo(2);
          assertThat(s.state()).isEqualTo(ModelState.READY);
        });
  }

  @Test
  void start_versionLoads_recordsLoadTimeFromTicker() {
    repo.version("m", 1);

    registry.start();

    assertThat(registry.status("m", v(1)).loadMillis()).isEqualTo(FakeRuntime.LOAD_TIME.toMillis());
  }

  @Test
  void start_modelConfigParameters_reachRuntime() {
    repo.version("m", 1).config("m", "parameters:\n  threads: 2\n");

    registry.start();

    assertThat(runtime.sources())
        .singleElement()
        .satisfies(s -> {
          assertThat(s.parameters()).containsEntry("threads", "2");
          assertThat(s.directory()).isEqualTo(registry.repository().root().resolve("m/1"));
        });
  }

  @Test
  void acquire_noVersion_returnsHighestReadyVersion() {
    repo.version("m", 1).version("m", 3).version("m", 2).config("m", "version-policy: all\n");
    registry.start();

    try (Lease lease = registry.acquire("m", LATEST)) {
      assertThat(lease.version()).isEqualTo(3);
    }
  }

  @Test
  void acquire_readyModel_executesOnLoadedVersion() {
    repo.version("m", 1);
    registry.start();

    try (Lease lease = registry.acquire("m", LATEST)) {
      List<InferenceResult> results = lease.execute(List.of(FakeRuntime.request(1, 2)));

      assertThat(results).singleElement().isInstanceOf(InferenceResult.Success.class);
      assertThat(results.getFirst().orThrow().get("y").floats()).containsExactly(1, 2);
      assertThat(lease.signature()).isEqualTo(FakeModel.SIGNATURE);
    }
  }

  @Test
  void acquire_unknownModel_throwsModelNotFound() {
    repo.version("m", 1);
    registry.start();

    assertKind(() -> registry.acquire("ghost", LATEST), ErrorKind.MODEL_NOT_FOUND, "'ghost'");
  }

  @Test
  void acquire_unknownVersion_throwsModelNotFound() {
    repo.version("m", 1);
    registry.start();

    assertKind(() -> registry.acquire("m", v(7)), ErrorKind.MODEL_NOT_FOUND, "'m'", "version 7");
  }

  @Test
  void allReady_everyModelLoaded_isTrue() {
    repo.version("a", 1).version("b", 1);

    registry.start();

    assertThat(registry.allReady()).isTrue();
  }

  @Test
  void rescan_newVersionAppears_servesNewVersion() {
    repo.version("m", 1);
    registry.start();
    repo.version("m", 2);

    registry.rescan();

    try (Lease lease = registry.acquire("m", LATEST)) {
      assertThat(lease.version()).isEqualTo(2);
    }
  }

  @Test
  void rescan_newVersionAppears_retiresAndClosesOldVersion() {
    repo.version("m", 1);
    registry.start();
    repo.version("m", 2);

    registry.rescan();

    assertThat(registry.versions("m")).extracting(VersionStatus::version).containsExactly(2L);
    assertThat(runtime.model("m", 1).closeCount()).isEqualTo(1);
    assertKind(() -> registry.acquire("m", v(1)), ErrorKind.MODEL_NOT_FOUND, "version 1");
  }

  @Test
  void rescan_newVersionWhileLeaseOpen_oldVersionFinishesRequestBeforeClosing() {
    repo.version("m", 1);
    registry.start();
    Lease inFlight = registry.acquire("m", LATEST);
    repo.version("m", 2);

    registry.rescan();

    FakeModel old = runtime.model("m", 1);
    assertThat(old.isClosed()).isFalse();
    assertThat(inFlight.version()).isEqualTo(1);
    assertThat(inFlight.execute(List.of(FakeRuntime.request(3, 4)))).hasSize(1);
    inFlight.close();
    assertThat(old.closeCount()).isEqualTo(1);
  }

  @Test
  void leaseClose_calledTwice_releasesOnlyOnce() {
    repo.version("m", 1);
    registry.start();
    Lease first = registry.acquire("m", LATEST);
    Lease second = registry.acquire("m", LATEST);
    repo.version("m", 2);
    registry.rescan();

    first.close();
    first.close();

    assertThat(runtime.model("m", 1).isClosed()).isFalse();
    second.close();
    assertThat(runtime.model("m", 1).closeCount()).isEqualTo(1);
  }

  @Test
  void rescan_nothingChanged_keepsLoadedVersion() {
    repo.version("m", 1);
    registry.start();

    registry.rescan();

    assertThat(runtime.loaded()).hasSize(1);
    assertThat(runtime.model("m", 1).isClosed()).isFalse();
  }

  @Test
  void rescan_modelDirectoryRemoved_acquireThrowsModelNotFound() {
    repo.version("m", 1).version("other", 1);
    registry.start();
    repo.remove("m");

    registry.rescan();

    assertKind(() -> registry.acquire("m", LATEST), ErrorKind.MODEL_NOT_FOUND, "'m'");
  }

  @Test
  void rescan_modelDirectoryRemoved_closesItsVersions() {
    repo.version("m", 1).version("other", 1);
    registry.start();
    repo.remove("m");

    registry.rescan();

    assertThat(runtime.model("m", 1).closeCount()).isEqualTo(1);
    assertThat(registry.modelNames()).containsExactly("other");
  }

  @Test
  void rescan_newModelAppears_loadsIt() {
    repo.version("a", 1);
    registry.start();
    repo.version("b", 1);

    registry.rescan();

    try (Lease lease = registry.acquire("b", LATEST)) {
      assertThat(lease.version()).isEqualTo(1);
    }
  }

  @Test
  void rescan_hiddenStagingVersion_isNotLoaded() {
    repo.version("m", 1);
    registry.start();
    repo.directory("m/.2");

    registry.rescan();

    assertThat(registry.versions("m")).extracting(VersionStatus::version).containsExactly(1L);
  }

  @Test
  void start_versionPolicyAll_servesEveryVersion() {
    repo.version("m", 1).version("m", 2).config("m", "version-policy: all\n");

    registry.start();

    try (Lease one = registry.acquire("m", v(1));
        Lease two = registry.acquire("m", v(2))) {
      assertThat(one.version()).isEqualTo(1);
      assertThat(two.version()).isEqualTo(2);
    }
  }

  @Test
  void start_versionPolicySpecific_servesListedVersionsOnly() {
    repo.version("m", 1)
        .version("m", 2)
        .version("m", 3)
        .config("m", "version-policy: {specific: [1, 3]}\n");

    registry.start();

    assertThat(registry.versions("m")).extracting(VersionStatus::version).containsExactly(1L, 3L);
  }

  @Test
  void start_configDeclaresFeatures_signatureCarriesThem() {
    repo.version("m", 1)
        .config("m", "max-batch-size: 8\ninputs:\n  - name: x\n    features: [age, income]\n");

    registry.start();

    try (Lease lease = registry.acquire("m", LATEST)) {
      assertThat(lease.signature().maxBatchSize()).isEqualTo(8);
      assertThat(lease.signature().input("x").orElseThrow().features())
          .containsExactly("age", "income");
    }
  }

  @Test
  void close_openLease_closesModelWhenLeaseCloses() {
    repo.version("m", 1);
    registry.start();
    Lease inFlight = registry.acquire("m", LATEST);

    registry.close();

    assertThat(runtime.model("m", 1).isClosed()).isFalse();
    inFlight.close();
    assertThat(runtime.model("m", 1).closeCount()).isEqualTo(1);
  }

  @Test
  void close_noLeases_closesEveryLoadedModel() {
    repo.version("a", 1).version("b", 1);
    registry.start();

    registry.close();

    assertThat(runtime.loaded()).allSatisfy(m -> assertThat(m.closeCount()).isEqualTo(1));
  }

  @Test
  void rescan_newVersionFailsToLoad_previousVersionKeepsServing() {
    repo.version("m", 1);
    registry.start();
    repo.brokenVersion("m", 2);

    registry.rescan();

    try (Lease lease = registry.acquire("m", LATEST)) {
      assertThat(lease.version()).isEqualTo(1);
    }
    assertThat(registry.status("m", v(2)).state()).isEqualTo(ModelState.UNAVAILABLE);
  }

  @Test
  void rescan_failedVersionFixedOnDisk_isRetriedAndServed() {
    repo.brokenVersion("m", 1);
    registry.start();
    repo.remove("m/1/" + FakeRuntime.BROKEN);

    registry.rescan();

    try (Lease lease = registry.acquire("m", LATEST)) {
      assertThat(lease.version()).isEqualTo(1);
    }
  }

  @Test
  void rescan_failedVersionUnchanged_isNotReloaded() {
    repo.brokenVersion("m", 1);
    registry.start();
    int attempts = runtime.loadAttempts();

    registry.rescan();

    assertThat(runtime.loadAttempts()).isEqualTo(attempts);
  }
}
