package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Node modes, missing values, aggregates and post transforms that the converter's fixtures do not
 * use, on hand-made TreeEnsembleRegressor attributes (ONNX Runtime's semantics).
 */
class OnnxTreeEnsembleTest {
  private final Map<String, OnnxGraph.Attribute> attrs = new HashMap<>();

  private void ints(String name, long... v) {
    attrs.put(name, new OnnxGraph.Attribute(name, 0, 0, null, new float[0], v, List.of(), false));
  }

  private void floats(String name, float... v) {
    attrs.put(name, new OnnxGraph.Attribute(name, 0, 0, null, v, new long[0], List.of(), false));
  }

  private void string(String name, String s) {
    attrs.put(
        name, new OnnxGraph.Attribute(name, 0, 0, s, new float[0], new long[0], List.of(), false));
  }

  private void strings(String name, String... s) {
    attrs.put(
        name,
        new OnnxGraph.Attribute(name, 0, 0, null, new float[0], new long[0], List.of(s), false));
  }

  /** Trees 0..n-1, each "x0 MODE 1.0 ? leaf yes[t] : leaf no[t]", one target. */
  private OnnxTreeEnsemble stumps(String mode, boolean nanTrue, float[] yes, float[] no) {
    List<String> modes = new ArrayList<>();
    int n = yes.length;
    long[] treeIds = new long[3 * n];
    long[] nodeIds = new long[3 * n];
    long[] trues = new long[3 * n];
    long[] falses = new long[3 * n];
    long[] missing = new long[3 * n];
    float[] values = new float[3 * n];
    long[] wTree = new long[2 * n];
    long[] wNode = new long[2 * n];
    float[] w = new float[2 * n];
    for (int t = 0; t < n; t++) {
      for (int j = 0; j < 3; j++) {
        treeIds[3 * t + j] = t;
        nodeIds[3 * t + j] = j;
        modes.add(j == 0 ? mode : "LEAF");
      }
      values[3 * t] = 1.0f;
      trues[3 * t] = 1;
      falses[3 * t] = 2;
      missing[3 * t] = nanTrue ? 1 : 0;
      wTree[2 * t] = t;
      wNode[2 * t] = 1;
      w[2 * t] = yes[t];
      wTree[2 * t + 1] = t;
      wNode[2 * t + 1] = 2;
      w[2 * t + 1] = no[t];
    }
    ints("nodes_treeids", treeIds);
    ints("nodes_nodeids", nodeIds);
    ints("nodes_featureids", new long[3 * n]);
    floats("nodes_values", values);
    strings("nodes_modes", modes.toArray(String[]::new));
    ints("nodes_truenodeids", trues);
    ints("nodes_falsenodeids", falses);
    ints("nodes_missing_value_tracks_true", missing);
    ints("target_treeids", wTree);
    ints("target_nodeids", wNode);
    ints("target_ids", new long[2 * n]);
    floats("target_weights", w);
    attrs.put(
        "n_targets",
        new OnnxGraph.Attribute(
            "n_targets", 0, 1, null, new float[0], new long[0], List.of(), false));
    var te =
        new OnnxGraph.Node(
            "TreeEnsembleRegressor", "ai.onnx.ml", List.of("x"), List.of("y"), Map.copyOf(attrs));
    return OnnxTreeEnsemble.from(te, 1);
  }

  private static float one(OnnxTreeEnsemble e, float x) {
    return e.scores(new float[] {x}, 1)[0];
  }

  @Test
  void scores_eachMode_comparesAsOnnxRuntime() {
    float[] yes = {1};
    float[] no = {0};
    assertThat(one(stumps("BRANCH_LEQ", false, yes, no), 1.0f)).isEqualTo(1);
    assertThat(one(stumps("BRANCH_LT", false, yes, no), 1.0f)).isEqualTo(0);
    assertThat(one(stumps("BRANCH_GTE", false, yes, no), 1.0f)).isEqualTo(1);
    assertThat(one(stumps("BRANCH_GT", false, yes, no), 1.0f)).isEqualTo(0);
    assertThat(one(stumps("BRANCH_EQ", false, yes, no), 1.0f)).isEqualTo(1);
    assertThat(one(stumps("BRANCH_NEQ", false, yes, no), 1.0f)).isEqualTo(0);
  }

  @Test
  void scores_nan_goesFalseUnlessTracksTrue_exceptNeq() {
    float[] yes = {1};
    float[] no = {0};
    assertThat(one(stumps("BRANCH_LEQ", false, yes, no), Float.NaN)).isEqualTo(0);
    assertThat(one(stumps("BRANCH_GT", false, yes, no), Float.NaN)).isEqualTo(0);
    assertThat(one(stumps("BRANCH_LEQ", true, yes, no), Float.NaN)).isEqualTo(1);
    assertThat(one(stumps("BRANCH_NEQ", false, yes, no), Float.NaN)).isEqualTo(1);
  }

  @Test
  void scores_aggregates_minMaxAverageSum() {
    float[] yes = {3, -2, 5};
    float[] no = {0, 0, 0};
    string("aggregate_function", "MIN");
    assertThat(one(stumps("BRANCH_LEQ", false, yes, no), 0f)).isEqualTo(-2);
    string("aggregate_function", "MAX");
    assertThat(one(stumps("BRANCH_LEQ", false, yes, no), 0f)).isEqualTo(5);
    string("aggregate_function", "AVERAGE");
    floats("base_values", 10f);
    assertThat(one(stumps("BRANCH_LEQ", false, yes, no), 0f)).isEqualTo(12f);
    string("aggregate_function", "SUM");
    assertThat(one(stumps("BRANCH_LEQ", false, yes, no), 0f)).isEqualTo(16f);
  }

  @Test
  void scores_logistic_isOrtsSignSplitSigmoid() {
    string("post_transform", "LOGISTIC");

    float p = one(stumps("BRANCH_LEQ", false, new float[] {-2}, new float[] {0}), 0f);

    assertThat(p).isEqualTo(1.0f - 1.0f / (1.0f + (float) Math.exp(-2.0f)));
  }

  @Test
  void from_probit_isUnsupported() {
    string("post_transform", "PROBIT");

    assertThatThrownBy(() -> stumps("BRANCH_LEQ", false, new float[] {1}, new float[] {0}))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED));
  }
}
