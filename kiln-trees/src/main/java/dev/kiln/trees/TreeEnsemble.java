package dev.kiln.trees;

import dev.kiln.core.error.Checks;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A forest of binary decision trees flattened into parallel arrays, evaluated over batches of rows.
 * This is the hot core of the module.
 *
 * <p>Layout: every node of every tree has one slot in each array, trees one after another, each
 * tree's nodes in the order of its file (XGBoost numbers them breadth-first from the root), and
 * child indices are global slots. A node is a leaf when {@code left < 0}; then {@code value} is its
 * leaf value, else its threshold. A split sends a row left when {@code x < threshold} (XGBoost's
 * rule, compared in float32), right otherwise, and to {@code missing} (the default child) when
 * {@code x} is NaN. Because {@code NaN < t} is false, the common path tests one comparison and only
 * a row that does not go left checks for NaN.
 *
 * <p>Categorical splits (XGBoost's {@code split_type} 1) are marked by a negative {@code feature},
 * {@code ~f} for feature {@code f}, and carry a bit set of the categories that go right: a row goes
 * right when its value, truncated to an integer, is in the set; left when it is not, is negative or
 * is at least 2^24 (XGBoost's {@code common::Decision}); to the default child when NaN. Models
 * without categorical splits run a loop that does not test for them.
 *
 * <p>Order of the sums, which decides the last bits: a row's margin for output group {@code g}
 * starts at the base margin and adds the leaf of each tree of group {@code g} in tree order, in
 * float32. That is XGBoost's CPU predictor, which accumulates into a float vector initialised with
 * the base margin; dart trees' weights are folded into their leaves at load as {@code leaf *
 * weight} in float32, the same product XGBoost forms at predict time, so the sums are identical.
 *
 * <p>Blocking: rows go in blocks of {@value #BLOCK_ROWS}; for each block every tree is walked for
 * each row of the block, so a tree's nodes stay in cache across the block's rows while the block's
 * features stay hot across trees. Batches of at least {@value #PARALLEL_ROWS} rows are cut into one
 * chunk per core, run on a shared pool of daemon threads plus the caller. Nothing is allocated per
 * row.
 */
final class TreeEnsemble {
  static final int BLOCK_ROWS = 64;
  static final int PARALLEL_ROWS = 4096;

  private static final int CORES = Math.max(1, Runtime.getRuntime().availableProcessors());

  private final int numFeatures;
  private final int numGroups;
  private final int[] treeRoot;
  private final int[] treeGroup;
  private final int[] feature;
  private final float[] value;
  private final int[] left;
  private final int[] right;
  private final int[] missing;
  private final Categories categories;

  /**
   * Categorical splits' sets: node {@code n}'s set is bits {@code [0, 32 * words[n])} of {@code
   * bits} from word {@code offset[n]}, bit {@code c & 31} of word {@code c >> 5} for category c.
   */
  record Categories(int[] offset, int[] words, int[] bits) {}

  /**
   * Takes the arrays as they are (no copies); {@link Builder} is the usual way to make them. {@code
   * feature} is unused for leaves.
   */
  TreeEnsemble(
      int numFeatures,
      int numGroups,
      int[] treeRoot,
      int[] treeGroup,
      int[] feature,
      float[] value,
      int[] left,
      int[] right,
      int[] missing,
      Categories categories) {
    Checks.require(numFeatures >= 1, "a model needs at least one feature");
    Checks.require(numGroups >= 1, "a model needs at least one output group");
    Checks.require(treeRoot.length == treeGroup.length, "one group per tree");
    int n = feature.length;
    Checks.require(
        value.length == n && left.length == n && right.length == n && missing.length == n,
        "node arrays differ in length");
    for (int i = 0; i < n; i++) {
      if (left[i] >= 0) {
        int f = feature[i] >= 0 ? feature[i] : ~feature[i];
        Checks.require(f < numFeatures, "node %d: bad feature", i);
        if (feature[i] < 0) {
          Checks.require(
              categories != null
                  && categories.offset()[i] >= 0
                  && categories.words()[i] >= 0
                  && categories.offset()[i] + categories.words()[i] <= categories.bits().length,
              "node %d: categorical split without a category set",
              i);
        }
        Checks.require(
            left[i] >= 0 && left[i] < n && right[i] >= 0 && right[i] < n,
            "node %d: child out of range",
            i);
        Checks.require(missing[i] == left[i] || missing[i] == right[i], "node %d: default", i);
      }
    }
    // Every node reachable from a root at most once: no cycles (which would never end a walk)
    // and no node shared between paths.
    boolean[] seen = new boolean[n];
    int[] stack = new int[n + 1];
    for (int t = 0; t < treeRoot.length; t++) {
      Checks.require(treeRoot[t] >= 0 && treeRoot[t] < n, "tree %d: bad root", t);
      Checks.require(treeGroup[t] >= 0 && treeGroup[t] < numGroups, "tree %d: bad group", t);
      int top = 0;
      stack[top++] = treeRoot[t];
      while (top > 0) {
        int i = stack[--top];
        Checks.require(!seen[i], "tree %d: node %d is reached twice", t, i);
        seen[i] = true;
        if (left[i] >= 0) {
          Checks.require(top + 2 <= stack.length, "tree %d: not a tree", t);
          stack[top++] = left[i];
          stack[top++] = right[i];
        }
      }
    }
    this.numFeatures = numFeatures;
    this.numGroups = numGroups;
    this.treeRoot = treeRoot;
    this.treeGroup = treeGroup;
    this.feature = feature;
    this.value = value;
    this.left = left;
    this.right = right;
    this.missing = missing;
    this.categories = categories;
  }

  int numFeatures() {
    return numFeatures;
  }

  int numGroups() {
    return numGroups;
  }

  int numTrees() {
    return treeRoot.length;
  }

  int numNodes() {
    return feature.length;
  }

  /**
   * Margins of {@code rows} rows of {@code x} (row-major, {@link #numFeatures} per row) over trees
   * {@code [treeBegin, treeEnd)}: {@code out[row * numGroups + g]}, each starting at {@code
   * baseMargin}.
   */
  float[] margins(float[] x, int rows, int treeBegin, int treeEnd, float baseMargin) {
    Checks.require(x.length == (long) rows * numFeatures, "expected %d rows", rows);
    Checks.require(0 <= treeBegin && treeBegin <= treeEnd && treeEnd <= numTrees(), "tree range");
    float[] out = new float[rows * numGroups];
    java.util.Arrays.fill(out, baseMargin);
    int chunks = rows >= PARALLEL_ROWS ? Math.min(CORES, rows / (PARALLEL_ROWS / 2)) : 1;
    if (chunks <= 1) {
      accumulate(x, 0, rows, treeBegin, treeEnd, out);
      return out;
    }
    // Chunk bounds on block boundaries, so each chunk walks whole blocks.
    int blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    List<Future<?>> pending = new ArrayList<>(chunks - 1);
    for (int c = 1; c < chunks; c++) {
      int from = Math.min(rows, (int) ((long) blocks * c / chunks) * BLOCK_ROWS);
      int to = Math.min(rows, (int) ((long) blocks * (c + 1) / chunks) * BLOCK_ROWS);
      pending.add(Pool.EXECUTOR.submit(() -> accumulate(x, from, to, treeBegin, treeEnd, out)));
    }
    accumulate(x, 0, Math.min(rows, blocks / chunks * BLOCK_ROWS), treeBegin, treeEnd, out);
    for (Future<?> f : pending) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        pending.forEach(p -> p.cancel(true));
        throw new IllegalStateException("interrupted while evaluating trees", e);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException("tree evaluation failed", e.getCause());
      }
    }
    return out;
  }

  /** Adds the leaves of trees {@code [treeBegin, treeEnd)} for rows {@code [from, to)}. */
  private void accumulate(float[] x, int from, int to, int treeBegin, int treeEnd, float[] out) {
    final int[] feature = this.feature;
    final float[] value = this.value;
    final int[] left = this.left;
    final int[] right = this.right;
    if (categories != null) {
      accumulateWithCategories(x, from, to, treeBegin, treeEnd, out);
      return;
    }
    final int[] missing = this.missing;
    final int nf = numFeatures;
    final int ng = numGroups;
    for (int block = from; block < to; block += BLOCK_ROWS) {
      int blockEnd = Math.min(to, block + BLOCK_ROWS);
      for (int t = treeBegin; t < treeEnd; t++) {
        int root = treeRoot[t];
        int group = treeGroup[t];
        for (int r = block; r < blockEnd; r++) {
          int base = r * nf;
          int n = root;
          int l;
          while ((l = left[n]) >= 0) {
            float v = x[base + feature[n]];
            // NaN < threshold is false, so a missing value falls through to the NaN check.
            n = v < value[n] ? l : (v != v ? missing[n] : right[n]);
          }
          out[r * ng + group] += value[n];
        }
      }
    }
  }

  /** {@link #accumulate} for models with categorical splits. */
  private void accumulateWithCategories(
      float[] x, int from, int to, int treeBegin, int treeEnd, float[] out) {
    final int[] catOffset = categories.offset();
    final int[] catWords = categories.words();
    final int[] catBits = categories.bits();
    for (int block = from; block < to; block += BLOCK_ROWS) {
      int blockEnd = Math.min(to, block + BLOCK_ROWS);
      for (int t = treeBegin; t < treeEnd; t++) {
        int root = treeRoot[t];
        int group = treeGroup[t];
        for (int r = block; r < blockEnd; r++) {
          int base = r * numFeatures;
          int n = root;
          int l;
          while ((l = left[n]) >= 0) {
            int f = feature[n];
            if (f >= 0) {
              float v = x[base + f];
              n = v < value[n] ? l : (v != v ? missing[n] : right[n]);
            } else {
              float v = x[base + ~f];
              if (v != v) {
                n = missing[n];
              } else if (v < 0 || v >= 16777216f) {
                n = l;
              } else {
                int c = (int) v;
                int w = c >>> 5;
                boolean in = w < catWords[n] && ((catBits[catOffset[n] + w] >>> (c & 31)) & 1) != 0;
                n = in ? right[n] : l;
              }
            }
          }
          out[r * numGroups + group] += value[n];
        }
      }
    }
  }

  /** The shared worker threads for big batches: one fewer than the cores, the caller is one. */
  private static final class Pool {
    static final ExecutorService EXECUTOR =
        Executors.newFixedThreadPool(Math.max(1, CORES - 1), new Daemons());
  }

  private static final class Daemons implements ThreadFactory {
    private final AtomicInteger count = new AtomicInteger();

    @Override
    public Thread newThread(Runnable r) {
      Thread t = new Thread(r, "kiln-trees-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    }
  }

  /** Collects trees node by node, local child indices, and lays them out flat. */
  static final class Builder {
    private final int numFeatures;
    private final int numGroups;
    private final List<int[]> roots = new ArrayList<>();
    private int[] feature = new int[256];
    private float[] value = new float[256];
    private int[] left = new int[256];
    private int[] right = new int[256];
    private int[] missing = new int[256];
    private int[] catOffset;
    private int[] catWords;
    private int[] catBits = new int[0];
    private int catBitsSize;
    private int size;

    Builder(int numFeatures, int numGroups) {
      this.numFeatures = numFeatures;
      this.numGroups = numGroups;
    }

    /**
     * Adds one tree in XGBoost's arrays: children as local node ids ({@code -1} for a leaf), {@code
     * values} the split conditions (thresholds for splits, leaf values for leaves), each leaf
     * multiplied by {@code weight} in float32 (dart; 1 otherwise).
     */
    void addTree(
        int group,
        int[] splitFeature,
        float[] values,
        int[] leftChild,
        int[] rightChild,
        boolean[] defaultLeft,
        float weight) {
      addTree(group, splitFeature, values, leftChild, rightChild, defaultLeft, weight, null);
    }

    /**
     * {@link #addTree(int, int[], float[], int[], int[], boolean[], float)} with categorical
     * splits: {@code categories[i]}, when not null, lists the categories that go right at node i.
     */
    void addTree(
        int group,
        int[] splitFeature,
        float[] values,
        int[] leftChild,
        int[] rightChild,
        boolean[] defaultLeft,
        float weight,
        int[][] categories) {
      int n = values.length;
      ensure(size + n);
      int offset = size;
      for (int i = 0; i < n; i++) {
        int at = offset + i;
        if (leftChild[i] < 0) {
          left[at] = -1;
          right[at] = -1;
          missing[at] = -1;
          feature[at] = 0;
          value[at] = weight == 1.0f ? values[i] : values[i] * weight;
        } else {
          left[at] = offset + leftChild[i];
          right[at] = offset + rightChild[i];
          missing[at] = defaultLeft[i] ? left[at] : right[at];
          feature[at] = splitFeature[i];
          value[at] = values[i];
          if (categories != null && categories[i] != null) {
            feature[at] = ~splitFeature[i];
            addCategories(at, categories[i]);
          }
        }
      }
      size += n;
      roots.add(new int[] {offset, group});
    }

    private void addCategories(int node, int[] set) {
      if (catOffset == null) {
        catOffset = new int[feature.length];
        catWords = new int[feature.length];
      }
      int max = -1;
      for (int c : set) {
        Checks.require(c >= 0 && c < 16777216, "node %d: category %d out of range", node, c);
        max = Math.max(max, c);
      }
      int words = (max + 32) / 32;
      if (catBitsSize + words > catBits.length) {
        catBits =
            java.util.Arrays.copyOf(catBits, Math.max(catBitsSize + words, 2 * catBits.length));
      }
      for (int c : set) {
        catBits[catBitsSize + (c >>> 5)] |= 1 << (c & 31);
      }
      catOffset[node] = catBitsSize;
      catWords[node] = words;
      catBitsSize += words;
    }

    private void ensure(int capacity) {
      if (capacity > feature.length) {
        int n = Math.max(capacity, feature.length * 2);
        feature = java.util.Arrays.copyOf(feature, n);
        value = java.util.Arrays.copyOf(value, n);
        left = java.util.Arrays.copyOf(left, n);
        right = java.util.Arrays.copyOf(right, n);
        missing = java.util.Arrays.copyOf(missing, n);
        if (catOffset != null) {
          catOffset = java.util.Arrays.copyOf(catOffset, n);
          catWords = java.util.Arrays.copyOf(catWords, n);
        }
      }
    }

    TreeEnsemble build() {
      int[] treeRoot = new int[roots.size()];
      int[] treeGroup = new int[roots.size()];
      for (int t = 0; t < treeRoot.length; t++) {
        treeRoot[t] = roots.get(t)[0];
        treeGroup[t] = roots.get(t)[1];
      }
      return new TreeEnsemble(
          numFeatures,
          numGroups,
          treeRoot,
          treeGroup,
          java.util.Arrays.copyOf(feature, size),
          java.util.Arrays.copyOf(value, size),
          java.util.Arrays.copyOf(left, size),
          java.util.Arrays.copyOf(right, size),
          java.util.Arrays.copyOf(missing, size),
          catOffset == null
              ? null
              : new Categories(
                  java.util.Arrays.copyOf(catOffset, size),
                  java.util.Arrays.copyOf(catWords, size),
                  java.util.Arrays.copyOf(catBits, catBitsSize)));
    }
  }
}
