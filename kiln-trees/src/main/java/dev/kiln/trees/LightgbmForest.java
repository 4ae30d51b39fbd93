package dev.kiln.trees;

import dev.kiln.core.error.Checks;

/**
 * LightGBM trees flattened into parallel arrays and evaluated in double, as LightGBM's {@code
 * Tree::Predict} does. Unlike {@link TreeEnsemble} (float32, XGBoost's rule {@code x < t}), a split
 * sends a row left when {@code x <= threshold} with a double threshold, and missing values follow
 * LightGBM's missing types rather than NaN alone.
 *
 * <p>Node {@code n} is a leaf when {@code left[n] < 0}; then {@code value[n]} is its leaf value.
 * {@code decision[n]} holds LightGBM's {@code decision_type} bits: 1 categorical, 2 default left,
 * bits 3-4 the missing type (0 None, 1 Zero, 2 NaN).
 *
 * <p>Order of the sums: a row's raw score for class {@code k} starts at 0.0 and adds, in tree
 * order, the leaf of every tree {@code i * K + k}, in double; that is {@code GBDT::PredictRaw}.
 * With {@code average_output} (random forest mode) the sum is then divided by the number of
 * iterations.
 */
final class LightgbmForest {
  /** LightGBM's {@code kZeroThreshold}: smaller magnitudes count as zero. */
  static final double ZERO_THRESHOLD = 1e-35f;

  static final int CATEGORICAL = 1;
  static final int DEFAULT_LEFT = 2;
  static final int MISSING_ZERO = 1;
  static final int MISSING_NAN = 2;

  private final int numFeatures;
  private final int numClasses;
  private final int[] treeRoot;
  private final int[] feature;
  private final double[] value;
  private final byte[] decision;
  private final int[] left;
  private final int[] right;

  /** Categorical node n: its bitset is {@code catBits[catFrom[n] .. catTo[n])}. */
  private final int[] catFrom;

  private final int[] catTo;
  private final int[] catBits;
  private final boolean averageOutput;

  LightgbmForest(
      int numFeatures,
      int numClasses,
      int[] treeRoot,
      int[] feature,
      double[] value,
      byte[] decision,
      int[] left,
      int[] right,
      int[] catFrom,
      int[] catTo,
      int[] catBits,
      boolean averageOutput) {
    Checks.require(numClasses >= 1, "a model needs at least one class");
    Checks.require(treeRoot.length % numClasses == 0, "trees are not whole iterations");
    int n = feature.length;
    for (int i = 0; i < n; i++) {
      if (left[i] >= 0) {
        Checks.require(feature[i] >= 0 && feature[i] < numFeatures, "node %d: bad feature", i);
        Checks.require(left[i] < n && right[i] >= 0 && right[i] < n, "node %d: child", i);
      }
    }
    this.numFeatures = numFeatures;
    this.numClasses = numClasses;
    this.treeRoot = treeRoot;
    this.feature = feature;
    this.value = value;
    this.decision = decision;
    this.left = left;
    this.right = right;
    this.catFrom = catFrom;
    this.catTo = catTo;
    this.catBits = catBits;
    this.averageOutput = averageOutput;
  }

  int numFeatures() {
    return numFeatures;
  }

  int numClasses() {
    return numClasses;
  }

  int numTrees() {
    return treeRoot.length;
  }

  int numNodes() {
    return feature.length;
  }

  /** Raw scores of {@code rows} rows of {@code x}: {@code out[row * K + k]}. */
  double[] rawScores(float[] x, int rows) {
    Checks.require(x.length == (long) rows * numFeatures, "expected %d rows", rows);
    int k = numClasses;
    double[] out = new double[rows * k];
    double[] row = new double[numFeatures];
    int iterations = treeRoot.length / k;
    for (int r = 0; r < rows; r++) {
      for (int f = 0; f < numFeatures; f++) {
        double v = x[r * numFeatures + f];
        // The predictor drops near-zero values from a row and reads them back as 0.0.
        row[f] = Math.abs(v) <= ZERO_THRESHOLD ? 0.0 : v;
      }
      for (int i = 0; i < iterations; i++) {
        for (int c = 0; c < k; c++) {
          out[r * k + c] += value[leaf(treeRoot[i * k + c], row)];
        }
      }
      if (averageOutput && iterations > 0) {
        for (int c = 0; c < k; c++) {
          out[r * k + c] /= iterations;
        }
      }
    }
    return out;
  }

  private int leaf(int node, double[] row) {
    int n = node;
    while (left[n] >= 0) {
      double v = row[feature[n]];
      int d = decision[n];
      n = (d & CATEGORICAL) != 0 ? categorical(n, d, v) : numerical(n, d, v);
    }
    return n;
  }

  /** {@code Tree::NumericalDecision}. */
  private int numerical(int n, int d, double v) {
    int missing = (d >> 2) & 3;
    if (Double.isNaN(v) && missing != MISSING_NAN) {
      v = 0.0;
    }
    if ((missing == MISSING_ZERO && v >= -ZERO_THRESHOLD && v <= ZERO_THRESHOLD)
        || (missing == MISSING_NAN && Double.isNaN(v))) {
      return (d & DEFAULT_LEFT) != 0 ? left[n] : right[n];
    }
    return v <= value[n] ? left[n] : right[n];
  }

  /**
   * {@code Tree::CategoricalDecision}: NaN goes right when the missing type is NaN and counts as
   * category 0 otherwise; negative codes go right; a code in the node's bitset goes left. The code
   * is the value truncated toward zero ({@code static_cast<int>}); codes past the bitset go right.
   */
  private int categorical(int n, int d, double v) {
    int code;
    if (Double.isNaN(v)) {
      if (((d >> 2) & 3) == MISSING_NAN) {
        return right[n];
      }
      code = 0;
    } else {
      // static_cast<int>: -0.5 is category 0; out-of-range casts come out negative on x86.
      if (v <= -1.0 || v >= 2147483648.0) {
        return right[n];
      }
      code = (int) v;
    }
    int word = catFrom[n] + (code >>> 5);
    boolean in = word < catTo[n] && ((catBits[word] >>> (code & 31)) & 1) != 0;
    return in ? left[n] : right[n];
  }
}
