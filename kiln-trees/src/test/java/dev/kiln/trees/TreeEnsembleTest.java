package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TreeEnsembleTest {
  private static final int FEATURES = 7;
  private static final int GROUPS = 3;

  /** Random trees in XGBoost's local form, kept so a naive evaluator can walk them too. */
  private record RandomTree(
      int group, int[] feature, float[] value, int[] left, int[] right, boolean[] defaultLeft) {}

  private static RandomTree randomTree(SplittableRandom rnd, int group) {
    int maxNodes = 1 + 2 * rnd.nextInt(20);
    int[] feature = new int[maxNodes];
    float[] value = new float[maxNodes];
    int[] left = new int[maxNodes];
    int[] right = new int[maxNodes];
    boolean[] defaultLeft = new boolean[maxNodes];
    Arrays.fill(left, -1);
    Arrays.fill(right, -1);
    // Grow breadth-first: split a random leaf until the node budget is spent.
    int size = 1;
    value[0] = leafValue(rnd);
    while (size + 2 <= maxNodes) {
      int n = rnd.nextInt(size);
      if (left[n] >= 0) {
        continue;
      }
      left[n] = size;
      right[n] = size + 1;
      feature[n] = rnd.nextInt(FEATURES);
      // Thresholds on a coarse grid, so rows hit them exactly now and then.
      value[n] = (rnd.nextInt(21) - 10) / 4.0f;
      defaultLeft[n] = rnd.nextBoolean();
      value[size] = leafValue(rnd);
      value[size + 1] = leafValue(rnd);
      size += 2;
    }
    return new RandomTree(
        group,
        Arrays.copyOf(feature, size),
        Arrays.copyOf(value, size),
        Arrays.copyOf(left, size),
        Arrays.copyOf(right, size),
        Arrays.copyOf(defaultLeft, size));
  }

  private static float leafValue(SplittableRandom rnd) {
    return (float) (rnd.nextDouble() * 2 - 1);
  }

  private static float[] randomRows(SplittableRandom rnd, int rows) {
    float[] x = new float[rows * FEATURES];
    for (int i = 0; i < x.length; i++) {
      x[i] = rnd.nextInt(10) == 0 ? Float.NaN : (rnd.nextInt(25) - 12) / 4.0f;
    }
    return x;
  }

  /** The textbook walk, recursively: the reference the flat, blocked evaluator must match. */
  private static float walk(RandomTree t, int node, float[] x, int row) {
    if (t.left()[node] < 0) {
      return t.value()[node];
    }
    float v = x[row * FEATURES + t.feature()[node]];
    int next;
    if (Float.isNaN(v)) {
      next = t.defaultLeft()[node] ? t.left()[node] : t.right()[node];
    } else {
      next = v < t.value()[node] ? t.left()[node] : t.right()[node];
    }
    return walk(t, next, x, row);
  }

  private static float[] naive(RandomTree[] trees, float[] x, int rows, float base) {
    float[] out = new float[rows * GROUPS];
    Arrays.fill(out, base);
    for (RandomTree t : trees) {
      for (int r = 0; r < rows; r++) {
        out[r * GROUPS + t.group()] += walk(t, 0, x, r);
      }
    }
    return out;
  }

  private static TreeEnsemble flatten(RandomTree[] trees) {
    var b = new TreeEnsemble.Builder(FEATURES, GROUPS);
    for (RandomTree t : trees) {
      b.addTree(t.group(), t.feature(), t.value(), t.left(), t.right(), t.defaultLeft(), 1.0f);
    }
    return b.build();
  }

  private static RandomTree[] randomForest(SplittableRandom rnd, int n) {
    RandomTree[] trees = new RandomTree[n];
    for (int i = 0; i < n; i++) {
      trees[i] = randomTree(rnd, i % GROUPS);
    }
    return trees;
  }

  @Test
  void margins_randomTreesAndRowsWithNaN_equalNaiveRecursiveWalk() {
    SplittableRandom rnd = new SplittableRandom(42);
    for (int trial = 0; trial < 50; trial++) {
      RandomTree[] trees = randomForest(rnd, 1 + rnd.nextInt(30));
      float[] x = randomRows(rnd, 200);

      TreeEnsemble ensemble = flatten(trees);
      float[] flat = ensemble.margins(x, 200, 0, trees.length, 0.25f);
      float[] scalar = ensemble.scalar().margins(x, 200, 0, trees.length, 0.25f);

      assertThat(flat).as("trial %d", trial).isEqualTo(naive(trees, x, 200, 0.25f));
      assertThat(scalar).as("trial %d, scalar", trial).isEqualTo(flat);
    }
  }

  @ParameterizedTest
  @ValueSource(
      ints = {
        1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 511, 512, 513, 4095, 4096, 5000, 9001
      })
  void margins_batchSizeAroundBlockAndThreadThresholds_equalRowByRow(int rows) {
    SplittableRandom rnd = new SplittableRandom(rows);
    RandomTree[] trees = randomForest(rnd, 24);
    TreeEnsemble ensemble = flatten(trees);
    float[] x = randomRows(rnd, rows);

    float[] batched = ensemble.margins(x, rows, 0, trees.length, 0.5f);

    float[] oneByOne = new float[rows * GROUPS];
    for (int r = 0; r < rows; r++) {
      float[] row = Arrays.copyOfRange(x, r * FEATURES, (r + 1) * FEATURES);
      System.arraycopy(ensemble.margins(row, 1, 0, trees.length, 0.5f), 0, oneByOne, r * GROUPS, 3);
    }
    assertThat(batched).isEqualTo(oneByOne);
    assertThat(batched).isEqualTo(naive(trees, x, rows, 0.5f));
  }

  /** Floats where a sortable-int comparison could go wrong: signed zeros, extremes, infinities. */
  private static final float[] AWKWARD = {
    -0.0f,
    0.0f,
    Float.MIN_VALUE,
    -Float.MIN_VALUE,
    Float.MAX_VALUE,
    -Float.MAX_VALUE,
    Float.POSITIVE_INFINITY,
    Float.NEGATIVE_INFINITY,
    1.0f,
    -1.0f,
    Math.nextUp(1.0f),
    Math.nextDown(-1.0f)
  };

  @Test
  void margins_packedLayoutOnAwkwardThresholdsAndInputs_equalsNaiveFloatComparison() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int trial = 0; trial < 20; trial++) {
      RandomTree[] trees = randomForest(rnd, 1 + rnd.nextInt(40));
      for (RandomTree t : trees) {
        for (int i = 0; i < t.value().length; i++) {
          if (t.left()[i] >= 0) {
            t.value()[i] = AWKWARD[rnd.nextInt(AWKWARD.length)];
          }
        }
      }
      int rows = 1 + rnd.nextInt(300);
      float[] x = new float[rows * FEATURES];
      for (int i = 0; i < x.length; i++) {
        // Most lane groups without NaN (the branch-free loop), some with (the NaN-aware loop).
        x[i] = rnd.nextInt(200) == 0 ? Float.NaN : AWKWARD[rnd.nextInt(AWKWARD.length)];
      }
      TreeEnsemble ensemble = flatten(trees);

      float[] m = ensemble.margins(x, rows, 0, trees.length, -0.5f);

      assertThat(ensemble.isPacked()).isTrue();
      assertThat(m).as("trial %d", trial).isEqualTo(naive(trees, x, rows, -0.5f));
      assertThat(ensemble.scalar().margins(x, rows, 0, trees.length, -0.5f))
          .as("trial %d, scalar", trial)
          .isEqualTo(m);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {5000, 70000})
  void margins_wideRows_smallerRowBlocksOrGeneralLoop_sameSums(int features) {
    // 5000 features: row blocks shrink to one lane group; 70000: too wide to pack at all.
    var b = new TreeEnsemble.Builder(features, 1);
    int last = features - 1;
    b.addTree(
        0,
        new int[] {last, 0, 0, 0, 0},
        new float[] {0.5f, 0.25f, 1f, 2f, 3f},
        new int[] {1, 3, -1, -1, -1},
        new int[] {2, 4, -1, -1, -1},
        new boolean[] {true, false, false, false, false},
        1.0f);
    int rows = 40;
    float[] x = new float[rows * features];
    float[] expected = new float[rows];
    for (int r = 0; r < rows; r++) {
      float a = (r % 4) / 4.0f;
      float c = r % 5 == 0 ? Float.NaN : (r % 3) / 4.0f;
      x[r * features] = a;
      x[r * features + last] = c;
      // root: feature last < 0.5 (NaN left) -> node 1 (feature 0 < 0.25 ? 2 : 3), else 1.
      expected[r] = 10f + (c < 0.5f || c != c ? (a < 0.25f ? 2f : 3f) : 1f);
    }
    TreeEnsemble ensemble = b.build();

    assertThat(ensemble.isPacked()).isEqualTo(features <= 1 << 16);
    assertThat(ensemble.margins(x, rows, 0, 1, 10f)).isEqualTo(expected);
  }

  @Test
  void margins_deepChainTree_walksToTheBottom() {
    // A right-leaning chain 60 splits deep: far deeper than any lane group's usual walk.
    int depth = 60;
    int n = 2 * depth + 1;
    int[] feature = new int[n];
    float[] value = new float[n];
    int[] left = new int[n];
    int[] right = new int[n];
    boolean[] defaultLeft = new boolean[n];
    Arrays.fill(left, -1);
    Arrays.fill(right, -1);
    for (int d = 0; d < depth; d++) {
      int at = 2 * d;
      left[at] = at + 1;
      right[at] = at + 2;
      value[at] = d;
      value[at + 1] = d;
    }
    value[n - 1] = 1000f;
    var b = new TreeEnsemble.Builder(1, 1);
    b.addTree(0, feature, value, left, right, defaultLeft, 1.0f);
    float[] x = new float[100];
    for (int r = 0; r < x.length; r++) {
      x[r] = r - 0.5f;
    }

    float[] m = b.build().margins(x, x.length, 0, 1, 0f);

    for (int r = 0; r < x.length; r++) {
      // x = r - 0.5 goes right at splits d < r - 0.5 and left at the first d >= r: leaf d = r.
      assertThat(m[r]).as("row %d", r).isEqualTo(r == 0 ? 0f : r <= depth - 1 ? r : 1000f);
    }
  }

  @Test
  void margins_shallowTreesWithSimd_equalNaiveWalkAndScalarPath() {
    // Trees of at most 19 nodes, filtered to depth <= 12, so the SIMD evaluator takes them.
    SplittableRandom rnd = new SplittableRandom(11);
    for (int trial = 0; trial < 30; trial++) {
      RandomTree[] trees = randomForest(rnd, 1 + rnd.nextInt(30));
      TreeEnsemble ensemble = flatten(trees);
      if (!ensemble.isVectorized()) {
        continue;
      }
      int rows = 8 + rnd.nextInt(600);
      float[] x = randomRows(rnd, rows);

      float[] m = ensemble.margins(x, rows, 0, trees.length, 0.125f);

      assertThat(m).as("trial %d", trial).isEqualTo(naive(trees, x, rows, 0.125f));
      assertThat(ensemble.scalar().margins(x, rows, 0, trees.length, 0.125f)).isEqualTo(m);
    }
  }

  @Test
  void margins_missingValue_followsDefaultDirection() {
    // Root splits feature 0 at 1.0: left leaf 10, right leaf 20.
    float[] x = {Float.NaN, 0, 0, 0, 0, 0, 0};
    for (boolean defaultLeft : new boolean[] {true, false}) {
      var b = new TreeEnsemble.Builder(FEATURES, 1);
      b.addTree(
          0,
          new int[] {0, 0, 0},
          new float[] {1.0f, 10f, 20f},
          new int[] {1, -1, -1},
          new int[] {2, -1, -1},
          new boolean[] {defaultLeft, false, false},
          1.0f);

      float[] m = b.build().margins(x, 1, 0, 1, 0f);

      assertThat(m[0]).isEqualTo(defaultLeft ? 10f : 20f);
    }
  }

  @Test
  void margins_valueEqualToThreshold_goesRight() {
    var b = new TreeEnsemble.Builder(1, 1);
    b.addTree(
        0,
        new int[] {0, 0, 0},
        new float[] {1.0f, 10f, 20f},
        new int[] {1, -1, -1},
        new int[] {2, -1, -1},
        new boolean[] {true, false, false},
        1.0f);

    assertThat(b.build().margins(new float[] {1.0f}, 1, 0, 1, 0f)).containsExactly(20f);
  }

  @Test
  void margins_treeRange_sumsOnlyThoseTrees() {
    SplittableRandom rnd = new SplittableRandom(7);
    RandomTree[] trees = randomForest(rnd, 12);
    float[] x = randomRows(rnd, 100);

    float[] part = flatten(trees).margins(x, 100, 3, 9, 0f);

    assertThat(part).isEqualTo(naive(Arrays.copyOfRange(trees, 3, 9), x, 100, 0f));
  }

  @Test
  void margins_categoricalSplit_rightOnlyForListedCategories() {
    // Categories {1, 3, 40} go right (leaf 20); the rest, and invalid values, left (10).
    var b = new TreeEnsemble.Builder(1, 1);
    b.addTree(
        0,
        new int[] {0, 0, 0},
        new float[] {0f, 10f, 20f},
        new int[] {1, -1, -1},
        new int[] {2, -1, -1},
        new boolean[] {false, false, false},
        1.0f,
        new int[][] {{1, 3, 40}, null, null});
    float[] x = {1, 3, 40, 3.9f, 0, 2, 39, 41, 1000, -1, -0.5f, 16777216f, Float.NaN};

    float[] m = b.build().margins(x, x.length, 0, 1, 0f);

    assertThat(m).containsExactly(20, 20, 20, 20, 10, 10, 10, 10, 10, 10, 10, 10, 20);
  }

  @Test
  void build_cycleInTree_isRejected() {
    var b = new TreeEnsemble.Builder(1, 1);
    b.addTree(
        0,
        new int[] {0, 0, 0},
        new float[] {1, 1, 1},
        new int[] {1, 0, -1},
        new int[] {2, 2, -1},
        new boolean[3],
        1.0f);

    assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class);
  }
}
