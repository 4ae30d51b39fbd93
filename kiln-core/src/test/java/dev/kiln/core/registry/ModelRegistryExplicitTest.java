package dev.kiln.core.registry;

import static dev.kiln.core.registry.KilnAssertions.assertKind;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.time.FakeTicker;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry in explicit mode: models load and unload only on request. */
class ModelRegistryExplicitTest {
  private static final OptionalLong LATEST = OptionalLong.empty();

  @TempDir Path dir;
  private TestRepository repo;
  private FakeRuntime runtime;
  private FakeTicker ticker;
  private ModelRegistry registry;

  @BeforeEach
  void setUp() {
    repo = new TestRepository(dir).version("a", 1).version("b", 1);
    ticker = new FakeTicker();
    runtime = new FakeRuntime(ticker);
  }

  @AfterEach
  void tearDown() {
    if (registry != null) {
      registry.close();
    }
  }

  private ModelRegistry start(String loadModels) {
    Map<String, String> flags = new HashMap<>();
    flags.put("repository.path", dir.toString());
    flags.put("repository.model-control", "explicit");
    if (loadModels != null) {
      flags.put("repository.load-models", loadModels);
    }
    KilnConfig config = ConfigLoader.load(null, Map.of(), flags);
    registry = new ModelRegistry(config, List.of(runtime), ticker);
    registry.start();
    return registry;
  }

  @Test
  void start_noLoadModels_loadsNothing() {
    start(null);

    assertThat(runtime.loaded()).isEmpty();
  }

  @Test
  void start_noLoadModels_knowsModelsButAcquireThrowsModelNotReady() {
    start(null);

    assertThat(registry.modelNames()).containsExactly("a", "b");
    assertKind(() -> registry.acquire("a", LATEST), ErrorKind.MODEL_NOT_READY, "not loaded");
  }

  @Test
  void start_loadModelsListsOne_loadsOnlyThatModel() {
    start("b");

    assertThat(runtime.loaded()).extracting(m -> m.name).containsExactly("b");
  }

  @Test
  void start_loadModelsStar_loadsEveryModel() {
    start("*");

    assertThat(runtime.loaded()).extracting(m -> m.name).containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void load_modelInRepository_makesItReady() {
    start(null);

    registry.load("a");

    try (Lease lease = registry.acquire("a", LATEST)) {
      assertThat(lease.version()).isEqualTo(1);
    }
  }

  @Test
  void load_modelNotInRepository_throwsModelNotFound() {
    start(null);

    assertKind(() -> registry.load("ghost"), ErrorKind.MODEL_NOT_FOUND, "'ghost'");
  }

  @Test
  void load_modelWithBadConfig_throwsInvalidInputNamingModel() {
    repo.config("a", "version-policy: newest\n");
    start(null);

    assertKind(() -> registry.load("a"), ErrorKind.INVALID_INPUT, "'a'", "'newest'");
  }

  @Test
  void unload_loadedModel_acquireThrowsModelNotReady() {
    start("a");

    registry.unload("a");

    assertKind(() -> registry.acquire("a", LATEST), ErrorKind.MODEL_NOT_READY, "unloaded");
  }

  @Test
  void unload_noLeases_closesModel() {
    start("a");

    registry.unload("a");

    assertThat(runtime.model("a", 1).closeCount()).isEqualTo(1);
  }

  @Test
  void unload_withOpenLease_closesOnlyAfterLeaseCloses() {
    start("a");
    Lease inFlight = registry.acquire("a", LATEST);

    registry.unload("a");

    assertThat(runtime.model("a", 1).isClosed()).isFalse();
    assertThat(inFlight.execute(List.of(FakeRuntime.request(1, 2)))).hasSize(1);
    inFlight.close();
    assertThat(runtime.model("a", 1).closeCount()).isEqualTo(1);
  }

  @Test
  void unload_oneModel_leavesOthersServing() {
    start("*");

    registry.unload("a");

    try (Lease lease = registry.acquire("b", LATEST)) {
      assertThat(lease.model()).isEqualTo("b");
    }
  }

  @Test
  void unload_unknownModel_throwsModelNotFound() {
    start(null);

    assertKind(() -> registry.unload("ghost"), ErrorKind.MODEL_NOT_FOUND, "'ghost'");
  }

  @Test
  void load_afterUnload_servesFreshlyLoadedModel() {
    start("a");
    registry.unload("a");

    registry.load("a");

    try (Lease lease = registry.acquire("a", LATEST)) {
      assertThat(runtime.loaded()).hasSize(2);
      assertThat(lease.loaded()).isSameAs(runtime.loaded().getLast());
    }
  }

  @Test
  void allReady_explicitModelsNotLoaded_isTrue() {
    start(null);

    assertThat(registry.allReady()).isTrue();
  }
}
