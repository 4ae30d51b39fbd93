package dev.kiln.core.ensemble;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.registry.ModelState;
import dev.kiln.core.time.Ticker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ensembles inside a real registry: load order and member reloads. */
class EnsembleRegistryTest {
  @TempDir Path dir;
  private ModelRegistry registry;

  /** Claims any directory with a file {@code m}; version v answers [v / 10, 1 - v / 10]. */
  private static final class MemberRuntime implements ModelRuntime {
    @Override
    public String name() {
      return "member";
    }

    @Override
    public int claims(Path versionDirectory) {
      return Files.exists(versionDirectory.resolve("m")) ? 1 : 0;
    }

    @Override
    public LoadedModel load(ModelSource source) {
      float p = source.version() / 10f;
      return FakeMembers.classifier(x -> new float[] {p, 1 - p});
    }
  }

  private void write(String relative, String text) throws IOException {
    Path p = dir.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
  }

  @BeforeEach
  void setUp() throws IOException {
    // "a-ens" sorts before its members.
    write("a-ens/config.yaml", "ensemble: {members: [m1, m2]}\n");
    Files.createDirectories(dir.resolve("a-ens/1"));
    write("m1/1/m", "");
    write("m2/3/m", "");
    var config =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "repository.path", dir.toString(),
                "repository.model-control", "poll",
                "repository.poll-interval", "1h"));
    registry =
        new ModelRegistry(
            config, List.of(new MemberRuntime(), new EnsembleRuntime()), Ticker.system());
  }

  @AfterEach
  void tearDown() {
    registry.close();
  }

  private float[] infer() {
    var request =
        new InferenceRequest(
            null, Map.of("x", Tensor.ofFloats("x", new long[] {1, 2}, new float[2])), null, null);
    try (var lease = registry.acquire("a-ens", OptionalLong.empty())) {
      return lease.execute(List.of(request)).getFirst().orThrow().get("probabilities").floats();
    }
  }

  @Test
  void rescan_ensembleNamedBeforeItsMembers_loadsAfterThem() {
    registry.rescan();

    assertThat(registry.status("a-ens", OptionalLong.empty()).state()).isEqualTo(ModelState.READY);
    assertThat(registry.allReady()).isTrue();
    assertThat(infer())
        .containsExactly(new float[] {0.2f, 0.8f}, org.assertj.core.data.Offset.offset(1e-6f));
  }

  @Test
  void infer_afterAMemberReloads_usesTheNewVersion() throws IOException {
    registry.rescan();
    write("m1/5/m", "");
    registry.rescan();

    // m1 version 5 (0.5) with m2 version 3 (0.3); the ensemble itself did not reload.
    assertThat(infer())
        .containsExactly(new float[] {0.4f, 0.6f}, org.assertj.core.data.Offset.offset(1e-6f));
  }

  @Test
  void memberReload_tellsListenersTheEnsemblesThatCallIt_soTheirCachedAnswersGo()
      throws IOException {
    // b-ens calls a-ens, which calls m1 and m2: a new m1 changes the answers of all three.
    write("b-ens/config.yaml", "ensemble: {members: [a-ens]}\n");
    Files.createDirectories(dir.resolve("b-ens/1"));
    registry.rescan();
    var changed = new java.util.concurrent.CopyOnWriteArrayList<String>();
    registry.addListener(changed::add);

    write("m1/5/m", "");
    registry.rescan();

    assertThat(changed).containsExactlyInAnyOrder("m1", "a-ens", "b-ens");
  }

  @Test
  void memberReload_leavesModelsThatDoNotCallIt_alone() throws IOException {
    registry.rescan();
    var changed = new java.util.concurrent.CopyOnWriteArrayList<String>();
    registry.addListener(changed::add);

    write("m2/4/m", "");
    registry.rescan();

    assertThat(changed).containsExactly("m2", "a-ens");
  }

  @Test
  void rescan_failedEnsembleWhoseMemberArrives_loadsAtTheNextPoll() throws IOException {
    write("a-ens/config.yaml", "ensemble: {members: [m9, m1]}\n");
    registry.rescan();
    assertThat(registry.status("a-ens", OptionalLong.empty()).state())
        .isEqualTo(ModelState.UNAVAILABLE);

    write("m9/1/m", "");
    registry.rescan();

    assertThat(registry.status("a-ens", OptionalLong.empty()).state()).isEqualTo(ModelState.READY);
  }
}
