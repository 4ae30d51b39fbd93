package dev.kiln.core.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.registry.ModelConfig;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EnsembleModelTest {
  private final FakeMembers members =
      new FakeMembers()
          .put("a", FakeMembers.classifier(x -> new float[] {0.9f, 0.1f}))
          .put("b", FakeMembers.classifier(x -> new float[] {0.3f, 0.7f}))
          .put("c", FakeMembers.classifier(x -> new float[] {0.2f, 0.8f}));

  private static ModelConfig config(
      List<String> names, String combiner, List<Double> weights, String output, String fin) {
    return new ModelConfig(
        null,
        0,
        null,
        null,
        null,
        null,
        null,
        new ModelConfig.Ensemble(names, combiner, weights, output, fin),
        null);
  }

  private static InferenceRequest rows(int n) {
    return new InferenceRequest(
        "r1", Map.of("x", Tensor.ofFloats("x", new long[] {n, 2}, new float[2 * n])), null, null);
  }

  private Map<String, Tensor> run(EnsembleModel m, InferenceRequest request) {
    return m.execute(List.of(request)).getFirst().orThrow();
  }

  @Test
  void execute_mean_averagesProbabilitiesAndTakesArgmax() {
    var m =
        EnsembleRuntime.load(
            "e", config(List.of("a", "b", "c"), "mean", null, null, null), members);

    Map<String, Tensor> out = run(m, rows(2));

    assertThat(out.get("probabilities").shape()).containsExactly(2, 2);
    assertThat(out.get("probabilities").floats())
        .containsExactly(
            new float[] {1.4f / 3, 1.6f / 3, 1.4f / 3, 1.6f / 3},
            org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(out.get("label").longs()).containsExactly(1, 1);
  }

  @Test
  void execute_weightedMean_normalisesTheWeights() {
    var m =
        EnsembleRuntime.load(
            "e",
            config(List.of("a", "b"), "weighted-mean", List.of(3.0, 1.0), null, null),
            members);

    Map<String, Tensor> out = run(m, rows(1));

    // (3 * 0.9 + 1 * 0.3) / 4 = 0.75
    assertThat(out.get("probabilities").floats())
        .containsExactly(new float[] {0.75f, 0.25f}, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(out.get("label").longs()).containsExactly(0);
  }

  @Test
  void signature_mean_isFirstMembersInputsAndTheCombinedOutputs() {
    var m = EnsembleRuntime.load("e", config(List.of("a", "b"), "mean", null, null, null), members);

    assertThat(m.signature().platform()).isEqualTo("ensemble");
    assertThat(m.signature().inputs()).isEqualTo(FakeMembers.classifierSignature().inputs());
    assertThat(m.signature().outputs().stream().map(TensorSpec::toString))
        .containsExactly("probabilities FP32 [-1, 2]", "label INT64 [-1]");
    assertThat(m.signature().output("label").orElseThrow().labels()).containsExactly("no", "yes");
  }

  @Test
  void execute_voteTie_goesToTheLowestLabel() {
    var m = EnsembleRuntime.load("e", config(List.of("a", "b"), "vote", null, null, null), members);

    assertThat(run(m, rows(1)).get("label").longs()).containsExactly(0);
  }

  @Test
  void execute_voteMajority_wins() {
    var m =
        EnsembleRuntime.load(
            "e", config(List.of("a", "b", "c"), "vote", null, null, null), members);

    Map<String, Tensor> out = run(m, rows(3));

    assertThat(out.keySet()).containsExactly("label");
    assertThat(out.get("label").longs()).containsExactly(1, 1, 1);
  }

  @Test
  void execute_weightedVote_heavierMemberWins() {
    var m =
        EnsembleRuntime.load(
            "e",
            config(List.of("a", "b", "c"), "vote", List.of(3.0, 1.0, 1.0), null, null),
            members);

    assertThat(run(m, rows(1)).get("label").longs()).containsExactly(0);
  }

  @Test
  void execute_stack_feedsConcatenatedMemberOutputsToTheFinalModel() {
    var finalSig =
        new ModelSignature(
            "fake",
            List.of(new TensorSpec("features", DataType.FP32, new long[] {-1, 4})),
            List.of(new TensorSpec("prediction", DataType.FP32, new long[] {-1, 4})),
            0);
    members.put(
        "stacker", FakeMembers.model(finalSig, t -> Map.of("prediction", t.rename("prediction"))));
    var m =
        EnsembleRuntime.load(
            "e", config(List.of("a", "b"), "stack", null, null, "stacker"), members);

    Map<String, Tensor> out = run(m, rows(1));

    assertThat(m.signature().outputs()).isEqualTo(finalSig.outputs());
    assertThat(out.get("prediction").floats()).containsExactly(0.9f, 0.1f, 0.3f, 0.7f);
  }

  @Test
  void execute_memberFails_failsTheRequestNamingTheMember() {
    members.put(
        "b",
        FakeMembers.model(
            FakeMembers.classifierSignature(),
            t -> {
              throw KilnException.of(ErrorKind.MODEL_NOT_READY, "model 'b' is not ready");
            }));
    var m = EnsembleRuntime.load("e", config(List.of("a", "b"), "mean", null, null, null), members);

    var result = m.execute(List.of(rows(1))).getFirst();

    assertThatThrownBy(result::orThrow)
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.MODEL_NOT_READY))
        .hasMessageContaining("ensemble 'e': member 'b'");
  }

  @Test
  void execute_memberWithOtherInputs_failsNamingTheMember() {
    var other =
        new ModelSignature(
            "fake",
            List.of(new TensorSpec("input", DataType.FP32, new long[] {-1, 2})),
            FakeMembers.classifierSignature().outputs(),
            0);
    members.put("b", FakeMembers.model(other, t -> Map.of()));
    var m = EnsembleRuntime.load("e", config(List.of("a", "b"), "mean", null, null, null), members);

    assertThatThrownBy(() -> run(m, rows(1)))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED))
        .hasMessageContaining("member 'b'")
        .hasMessageContaining("same inputs");
  }

  @Test
  void execute_membersRunInParallel() {
    var bothStarted = new CountDownLatch(2);
    LoadedModel waiting =
        FakeMembers.classifier(x -> {
          bothStarted.countDown();
          try {
            // Completes only if the other member is running at the same time.
            assertThat(bothStarted.await(10, TimeUnit.SECONDS)).isTrue();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return new float[] {0.5f, 0.5f};
        });
    members.put("a", waiting).put("b", waiting);
    var m = EnsembleRuntime.load("e", config(List.of("a", "b"), "mean", null, null, null), members);

    assertThat(run(m, rows(1)).get("probabilities").floats()).containsExactly(0.5f, 0.5f);
  }

  @Test
  void load_ensembleNamingItself_fails() {
    assertThatThrownBy(() ->
            EnsembleRuntime.load("e", config(List.of("a", "e"), "mean", null, null, null), members))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("cannot contain itself");
  }

  @Test
  void execute_cycleThroughAnotherEnsemble_failsWithTheCycle() {
    // f names e, e names f: each loads (the other is ready), the first request finds the cycle.
    var e = EnsembleRuntime.load("e", config(List.of("a"), "mean", null, null, null), members);
    members.put("e", e);
    var f = EnsembleRuntime.load("f", config(List.of("e"), "mean", null, null, null), members);
    members.put("f", f);
    var e2 = EnsembleRuntime.load("e", config(List.of("f"), "mean", null, null, null), members);
    members.put("e", e2);

    assertThatThrownBy(() -> run(e2, rows(1)))
        .isInstanceOfSatisfying(
            KilnException.class, x -> assertThat(x.kind()).isEqualTo(ErrorKind.UNSUPPORTED))
        .hasMessageContaining("ensemble cycle: e -> f -> e");
  }

  @Test
  void load_firstMemberNotReadyAndNothingDeclared_failsSayingWhatToDo() {
    assertThatThrownBy(() ->
            EnsembleRuntime.load(
                "e", config(List.of("zz", "a"), "mean", null, null, null), members))
        .isInstanceOfSatisfying(
            KilnException.class, x -> assertThat(x.kind()).isEqualTo(ErrorKind.MODEL_NOT_READY))
        .hasMessageContaining("model 'zz' is not ready")
        .hasMessageContaining("declare");
  }

  @Test
  void load_membersNotReadyButSignatureDeclared_loadsAndResolvesLater() {
    var declared =
        new ModelConfig(
            null,
            0,
            null,
            List.of(new ModelConfig.TensorConfig("x", "FP32", List.of(-1L, 2L), null, null, null)),
            List.of(
                new ModelConfig.TensorConfig(
                    "probabilities", "FP32", List.of(-1L, 2L), null, null, null)),
            null,
            null,
            new ModelConfig.Ensemble(List.of("late", "a"), "mean", null, null, null),
            null);
    var m = EnsembleRuntime.load("e", declared, members);
    members.put("late", FakeMembers.classifier(x -> new float[] {0.1f, 0.9f}));

    Map<String, Tensor> out = run(m, rows(1));

    assertThat(out.keySet()).containsExactly("probabilities");
    assertThat(out.get("probabilities").floats())
        .containsExactly(new float[] {0.5f, 0.5f}, org.assertj.core.data.Offset.offset(1e-6f));
  }
}
