package dev.kiln.trees;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An {@code ai.onnx.ml} TreeEnsembleClassifier or TreeEnsembleRegressor node, flattened and
 * evaluated as ONNX Runtime does (its {@code TreeEnsembleCommon} with float input, so float32
 * thresholds and float32 sums).
 *
 * <p>A node is a leaf when {@code mode[n] == LEAF}; a split goes to {@code yes[n]} when {@code x
 * CMP threshold} holds, where CMP is its mode (&lt;=, &lt;, &gt;=, &gt;, ==, !=, with C's NaN
 * semantics: every comparison with NaN is false except !=), or when x is NaN and the node's {@code
 * nodes_missing_value_tracks_true} is set; else to {@code no[n]}. A leaf carries a list of (target,
 * weight) pairs.
 *
 * <p>Order of the sums: trees in ascending tree id (ORT's order), each leaf's weights in attribute
 * order, added one at a time into a float32 score per target that starts at 0; then AVERAGE divides
 * by the number of trees, the base value is added, and the post transform is applied, all in
 * float32 ({@code FinalizeScores}, {@code write_scores}). MIN and MAX keep the smallest or largest
 * weight seen per target (0 when none was). ORT itself may split the trees of a one-row batch
 * across threads and sum the partial scores, which can move the last bit.
 */
final class OnnxTreeEnsemble {
  static final byte LEAF = 0;
  static final byte LEQ = 1;
  static final byte LT = 2;
  static final byte GTE = 3;
  static final byte GT = 4;
  static final byte EQ = 5;
  static final byte NEQ = 6;

  enum Aggregate {
    SUM,
    AVERAGE,
    MIN,
    MAX
  }

  enum PostTransform {
    NONE,
    LOGISTIC,
    SOFTMAX,
    SOFTMAX_ZERO
  }

  private final int numFeatures;
  private final int numTargets;
  private final int[] roots;
  private final byte[] mode;
  private final int[] feature;
  private final float[] threshold;
  private final int[] yes;
  private final int[] no;
  private final boolean[] nanYes;
  private final int[] weightFrom;
  private final int[] weightTo;
  private final int[] weightTarget;
  private final float[] weight;
  private final Aggregate aggregate;
  private final PostTransform post;
  private final float[] base;

  private OnnxTreeEnsemble(
      int numFeatures,
      int numTargets,
      int[] roots,
      byte[] mode,
      int[] feature,
      float[] threshold,
      int[] yes,
      int[] no,
      boolean[] nanYes,
      int[] weightFrom,
      int[] weightTo,
      int[] weightTarget,
      float[] weight,
      Aggregate aggregate,
      PostTransform post,
      float[] base) {
    this.numFeatures = numFeatures;
    this.numTargets = numTargets;
    this.roots = roots;
    this.mode = mode;
    this.feature = feature;
    this.threshold = threshold;
    this.yes = yes;
    this.no = no;
    this.nanYes = nanYes;
    this.weightFrom = weightFrom;
    this.weightTo = weightTo;
    this.weightTarget = weightTarget;
    this.weight = weight;
    this.aggregate = aggregate;
    this.post = post;
    this.base = base;
  }

  int numTargets() {
    return numTargets;
  }

  int numFeatures() {
    return numFeatures;
  }

  int numTrees() {
    return roots.length;
  }

  /**
   * Builds the ensemble from the node's attributes. Throws UNSUPPORTED (with the reason) for what
   * Kiln does not evaluate exactly as ONNX Runtime: PROBIT, tensor-valued attributes, a two-class
   * classifier with base values or a leaf without a class-1 weight (ORT's binary special cases).
   */
  static OnnxTreeEnsemble from(OnnxGraph.Node node, int numFeatures) {
    boolean classifier = node.opType().equals("TreeEnsembleClassifier");
    var a = new Attrs(node);
    for (String tensorValued :
        List.of(
            "nodes_values_as_tensor",
            "nodes_hitrates_as_tensor",
            "base_values_as_tensor",
            "class_weights_as_tensor",
            "target_weights_as_tensor")) {
      if (node.attribute(tensorValued) != null) {
        throw unsupported("attribute %s (double precision) is not supported", tensorValued);
      }
    }
    long[] treeIds = a.ints("nodes_treeids", true);
    long[] nodeIds = a.ints("nodes_nodeids", true);
    long[] featureIds = a.ints("nodes_featureids", true);
    float[] values = a.floats("nodes_values", true);
    List<String> modes = a.strings("nodes_modes");
    long[] trueIds = a.ints("nodes_truenodeids", true);
    long[] falseIds = a.ints("nodes_falsenodeids", true);
    long[] missingTrue = a.ints("nodes_missing_value_tracks_true", false);
    int n = treeIds.length;
    if (nodeIds.length != n
        || featureIds.length != n
        || values.length != n
        || modes.size() != n
        || trueIds.length != n
        || falseIds.length != n
        || (missingTrue.length != 0 && missingTrue.length != n)) {
      throw unsupported("nodes_* attributes differ in length");
    }
    String p = classifier ? "class_" : "target_";
    long[] wTree = a.ints(p + "treeids", true);
    long[] wNode = a.ints(p + "nodeids", true);
    long[] wId = a.ints(p + "ids", true);
    float[] w = a.floats(p + "weights", true);
    if (wNode.length != wTree.length || wId.length != wTree.length || w.length != wTree.length) {
      throw unsupported("%s* attributes differ in length", p);
    }
    int k;
    if (classifier) {
      if (node.attribute("classlabels_strings") != null) {
        throw unsupported("string class labels are not supported");
      }
      k = a.ints("classlabels_int64s", true).length;
    } else {
      k = node.attribute("n_targets") == null ? 1 : (int) node.attribute("n_targets").i();
    }
    if (k < 1) {
      throw unsupported("%d targets", k);
    }
    float[] base = a.floats("base_values", false);
    if (base.length != 0 && base.length != k) {
      throw unsupported("%d base values for %d targets", base.length, k);
    }
    PostTransform post = enumOf(PostTransform.class, a.string("post_transform", "NONE"));
    Aggregate aggregate =
        classifier ? Aggregate.SUM : enumOf(Aggregate.class, a.string("aggregate_function", "SUM"));
    if (classifier && k == 2 && base.length != 0) {
      throw unsupported("a two-class classifier with base_values (ORT's binary case)");
    }

    // (tree, node) -> slot; trees in ascending id, a tree's root its smallest node id.
    Map<Long, TreeMap<Long, Integer>> byTree = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      if (byTree.computeIfAbsent(treeIds[i], t -> new TreeMap<>()).put(nodeIds[i], i) != null) {
        throw unsupported("tree %d has node %d twice", treeIds[i], nodeIds[i]);
      }
    }
    int[] slotOf = new int[n];
    int[] attrOf = new int[n];
    int[] roots = new int[byTree.size()];
    int s = 0;
    int t = 0;
    for (TreeMap<Long, Integer> tree : byTree.values()) {
      roots[t++] = s;
      for (int i : tree.values()) {
        slotOf[i] = s;
        attrOf[s++] = i;
      }
    }
    byte[] mode = new byte[n];
    int[] feature = new int[n];
    float[] threshold = new float[n];
    int[] yes = new int[n];
    int[] no = new int[n];
    boolean[] nanYes = new boolean[n];
    for (int slot = 0; slot < n; slot++) {
      int i = attrOf[slot];
      mode[slot] = mode(modes.get(i));
      if (mode[slot] == LEAF) {
        continue;
      }
      if (featureIds[i] < 0 || featureIds[i] >= numFeatures) {
        throw unsupported(
            "node %d splits on feature %d of %d", nodeIds[i], featureIds[i], numFeatures);
      }
      feature[slot] = (int) featureIds[i];
      threshold[slot] = values[i];
      TreeMap<Long, Integer> tree = byTree.get(treeIds[i]);
      Integer y = tree.get(trueIds[i]);
      Integer f = tree.get(falseIds[i]);
      if (y == null || f == null) {
        throw unsupported("tree %d node %d: child not in the tree", treeIds[i], nodeIds[i]);
      }
      yes[slot] = slotOf[y];
      no[slot] = slotOf[f];
      nanYes[slot] = missingTrue.length != 0 && missingTrue[i] != 0;
    }
    checkTrees(roots, mode, yes, no);

    // Leaf weights grouped by leaf, attribute order kept within a leaf.
    int[] count = new int[n + 1];
    int[] leafOf = new int[w.length];
    for (int j = 0; j < w.length; j++) {
      TreeMap<Long, Integer> tree = byTree.get(wTree[j]);
      Integer i = tree == null ? null : tree.get(wNode[j]);
      if (i == null || mode[slotOf[i]] != LEAF) {
        throw unsupported("weight %d is on tree %d node %d, not a leaf", j, wTree[j], wNode[j]);
      }
      if (wId[j] < 0 || wId[j] >= k) {
        throw unsupported("weight %d is for target %d of %d", j, wId[j], k);
      }
      leafOf[j] = slotOf[i];
      count[leafOf[j] + 1]++;
    }
    int[] from = new int[n];
    int[] to = new int[n];
    for (int i = 0; i < n; i++) {
      count[i + 1] += count[i];
      from[i] = count[i];
      to[i] = count[i];
    }
    int[] target = new int[w.length];
    float[] sorted = new float[w.length];
    for (int j = 0; j < w.length; j++) {
      int at = to[leafOf[j]]++;
      target[at] = (int) wId[j];
      sorted[at] = w[j];
    }
    if (classifier && k == 2) {
      for (int slot = 0; slot < n; slot++) {
        boolean class1 = false;
        for (int j = from[slot]; j < to[slot]; j++) {
          class1 |= target[j] == 1;
        }
        if (mode[slot] == LEAF && !class1) {
          throw unsupported("a two-class classifier with a leaf without a class-1 weight");
        }
      }
    }
    return new OnnxTreeEnsemble(
        numFeatures,
        k,
        roots,
        mode,
        feature,
        threshold,
        yes,
        no,
        nanYes,
        from,
        to,
        target,
        sorted,
        aggregate,
        post,
        base);
  }

  private static void checkTrees(int[] roots, byte[] mode, int[] yes, int[] no) {
    boolean[] seen = new boolean[mode.length];
    int[] stack = new int[mode.length + 1];
    for (int root : roots) {
      int top = 0;
      stack[top++] = root;
      while (top > 0) {
        int i = stack[--top];
        if (seen[i]) {
          throw unsupported("node slot %d is reached twice (not a tree)", i);
        }
        seen[i] = true;
        if (mode[i] != LEAF) {
          if (top + 2 > stack.length) {
            throw unsupported("not a tree");
          }
          stack[top++] = yes[i];
          stack[top++] = no[i];
        }
      }
    }
  }

  private static byte mode(String m) {
    return switch (m) {
      case "LEAF" -> LEAF;
      case "BRANCH_LEQ" -> LEQ;
      case "BRANCH_LT" -> LT;
      case "BRANCH_GTE" -> GTE;
      case "BRANCH_GT" -> GT;
      case "BRANCH_EQ" -> EQ;
      case "BRANCH_NEQ" -> NEQ;
      default -> throw unsupported("node mode %s", m);
    };
  }

  private static <E extends Enum<E>> E enumOf(Class<E> type, String name) {
    try {
      return Enum.valueOf(type, name);
    } catch (IllegalArgumentException e) {
      throw unsupported("%s %s", type.getSimpleName(), name);
    }
  }

  static KilnException unsupported(String format, Object... args) {
    return KilnException.of(ErrorKind.UNSUPPORTED, format, args);
  }

  /** Final scores (after base values and the post transform): {@code out[row * K + k]}. */
  float[] scores(float[] x, int rows) {
    int k = numTargets;
    float[] out = new float[rows * k];
    boolean[] has = new boolean[k];
    for (int r = 0; r < rows; r++) {
      int o = r * k;
      int xo = r * numFeatures;
      Arrays.fill(has, false);
      for (int root : roots) {
        int n = root;
        while (mode[n] != LEAF) {
          float v = x[xo + feature[n]];
          float th = threshold[n];
          boolean cond =
              switch (mode[n]) {
                case LEQ -> v <= th;
                case LT -> v < th;
                case GTE -> v >= th;
                case GT -> v > th;
                case EQ -> v == th;
                default -> v != th;
              };
          n = cond || (nanYes[n] && v != v) ? yes[n] : no[n];
        }
        for (int j = weightFrom[n]; j < weightTo[n]; j++) {
          int c = weightTarget[j];
          float wj = weight[j];
          switch (aggregate) {
            case SUM, AVERAGE -> out[o + c] += wj;
            case MIN -> out[o + c] = !has[c] || wj < out[o + c] ? wj : out[o + c];
            case MAX -> out[o + c] = !has[c] || wj > out[o + c] ? wj : out[o + c];
          }
          has[c] = true;
        }
      }
      for (int c = 0; c < k; c++) {
        float score = out[o + c];
        if (aggregate == Aggregate.AVERAGE) {
          score /= roots.length;
        }
        out[o + c] = base.length == 0 ? score : score + base[c];
      }
      postTransform(out, o, k);
    }
    return out;
  }

  /** ORT's {@code ml_common.h}: ComputeLogistic, ComputeSoftmax, ComputeSoftmaxZero in float. */
  private void postTransform(float[] s, int o, int k) {
    switch (post) {
      case NONE -> {}
      case LOGISTIC -> {
        for (int c = 0; c < k; c++) {
          float v = 1.0f / (1.0f + (float) Math.exp(-Math.abs(s[o + c])));
          s[o + c] = s[o + c] < 0 ? 1.0f - v : v;
        }
      }
      case SOFTMAX -> {
        float max = -Float.MAX_VALUE;
        for (int c = 0; c < k; c++) {
          max = Math.max(max, s[o + c]);
        }
        float sum = 0;
        for (int c = 0; c < k; c++) {
          s[o + c] = (float) Math.exp(s[o + c] - max);
          sum += s[o + c];
        }
        for (int c = 0; c < k; c++) {
          s[o + c] /= sum;
        }
      }
      case SOFTMAX_ZERO -> {
        float max = -Float.MAX_VALUE;
        for (int c = 0; c < k; c++) {
          max = Math.max(max, s[o + c]);
        }
        float expNegMax = (float) Math.exp(-max);
        float sum = 0;
        for (int c = 0; c < k; c++) {
          float v = s[o + c];
          if (v > 0.0000001f || v < -0.0000001f) {
            s[o + c] = (float) Math.exp(v - max);
            sum += s[o + c];
          } else {
            s[o + c] = v * expNegMax;
          }
        }
        for (int c = 0; c < k; c++) {
          s[o + c] /= sum;
        }
      }
    }
  }

  /** Attribute access with UNSUPPORTED errors naming the attribute. */
  private record Attrs(OnnxGraph.Node node) {
    long[] ints(String name, boolean required) {
      OnnxGraph.Attribute a = node.attribute(name);
      if (a == null && required) {
        throw unsupported("no attribute %s", name);
      }
      return a == null ? new long[0] : a.ints();
    }

    float[] floats(String name, boolean required) {
      OnnxGraph.Attribute a = node.attribute(name);
      if (a == null && required) {
        throw unsupported("no attribute %s", name);
      }
      return a == null ? new float[0] : a.floats();
    }

    List<String> strings(String name) {
      OnnxGraph.Attribute a = node.attribute(name);
      if (a == null) {
        throw unsupported("no attribute %s", name);
      }
      return a.strings();
    }

    String string(String name, String otherwise) {
      OnnxGraph.Attribute a = node.attribute(name);
      return a == null || a.s() == null ? otherwise : a.s();
    }
  }
}
