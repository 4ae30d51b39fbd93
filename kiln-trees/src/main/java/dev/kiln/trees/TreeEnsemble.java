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
 * <p>Evaluation: models without categorical splits (nearly all) run {@link Packed}, a compact
 * depth-first copy of the nodes walked branch-free by {@value #LANES} rows (or, for batches of
 * fewer than {@value #LANES} / 2 rows, {@value #LANES} trees) at once, in blocks of rows and trees;
 * its javadoc explains why each part is there. The flat arrays above stay as the source of that
 * copy and for the general loops (categorical splits, or models too large to pack), which walk one
 * row at a time in blocks of {@value #BLOCK_ROWS} rows. Batches of at least {@value #PARALLEL_ROWS}
 * rows are cut into one chunk per core, run on a persistent pool of daemon threads plus the caller.
 * Nothing is allocated per row; per call only the output and, when threaded, the worker's task.
 */
final class TreeEnsemble {
  static final int BLOCK_ROWS = 64;

  /**
   * Batches of at least this many rows are split over the cores, one lane group or more each: 32
   * rows cost ~0.2 ms on one core, well above the hand-off to a parked pool thread (~10-50 us).
   * Trees are never split between threads, as that would change the order of the float sums.
   */
  static final int PARALLEL_ROWS = 32;

  /** Rows walked through one tree together by the fast path (see {@link Packed}). */
  static final int LANES = 16;

  /** Trees per tree block of the fast path: ~30-60 KB of nodes, which stays in L1/L2. */
  static final int TREE_BLOCK = 32;

  /**
   * Rows per row block of the fast path: 512 rows of 30 features are 60 KB of input keys. At most
   * 64 lane groups, as a {@code long} marks the groups with a NaN.
   */
  static final int ROW_BLOCK = 512;

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

  /** The fast layout (see {@link Packed}), or null when the model needs the general loop. */
  private final Packed packed;

  /**
   * The SIMD evaluator ({@link VectorForest}) for batches of {@value #LANES} / 2 rows or more, or
   * null: categorical splits, trees deeper than {@link VectorForest#MAX_DEPTH}, or the Vector API
   * module not in the JVM ({@code --add-modules=jdk.incubator.vector}); then {@link Packed} runs.
   */
  private final LaneEvaluator vector;

  /** Whether {@code jdk.incubator.vector} is resolved; if not, {@link VectorForest} never loads. */
  private static final boolean VECTOR_API =
      ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

  /** An evaluator over a range of rows and trees, adding to the rows' margins in tree order. */
  interface LaneEvaluator {
    void accumulate(
        float[] x, int from, int to, int treeBegin, int treeEnd, float[] out, int nf, int ng);
  }

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
    this.packed = categories == null ? Packed.of(this) : null;
    this.vector =
        categories == null && VECTOR_API
            ? VectorForest.of(treeRoot, treeGroup, feature, value, left, right, missing)
            : null;
  }

  /** The same model without the SIMD evaluator (the scalar {@link Packed} path); for tests. */
  private TreeEnsemble(TreeEnsemble e) {
    this.numFeatures = e.numFeatures;
    this.numGroups = e.numGroups;
    this.treeRoot = e.treeRoot;
    this.treeGroup = e.treeGroup;
    this.feature = e.feature;
    this.value = e.value;
    this.left = e.left;
    this.right = e.right;
    this.missing = e.missing;
    this.categories = e.categories;
    this.packed = e.packed;
    this.vector = null;
  }

  /** This model evaluated without {@link VectorForest}; for tests of the scalar paths. */
  TreeEnsemble scalar() {
    return new TreeEnsemble(this);
  }

  /** Whether {@link VectorForest} evaluates batches of this model; for tests. */
  boolean isVectorized() {
    return vector != null;
  }

  /** Whether the fast path ({@link Packed}) evaluates this model; for tests. */
  boolean isPacked() {
    return packed != null;
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
    // Chunk bounds on multiples of LANES, so only the last chunk has a partial lane group. Each
    // chunk writes its own rows of out, and a row's sum is formed by one thread in tree order, so
    // threading cannot change any bit.
    int groups = (rows + LANES - 1) / LANES;
    List<Future<?>> pending = new ArrayList<>(chunks - 1);
    for (int c = 1; c < chunks; c++) {
      int from = Math.min(rows, (int) ((long) groups * c / chunks) * LANES);
      int to = Math.min(rows, (int) ((long) groups * (c + 1) / chunks) * LANES);
      pending.add(Pool.EXECUTOR.submit(() -> accumulate(x, from, to, treeBegin, treeEnd, out)));
    }
    accumulate(x, 0, Math.min(rows, groups / chunks * LANES), treeBegin, treeEnd, out);
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
    if (vector != null && to - from >= LANES / 2) {
      vector.accumulate(x, from, to, treeBegin, treeEnd, out, numFeatures, numGroups);
    } else if (packed != null) {
      packed.accumulate(x, from, to, treeBegin, treeEnd, out, numFeatures, numGroups);
    } else if (categories != null) {
      accumulateWithCategories(x, from, to, treeBegin, treeEnd, out);
    } else {
      accumulateGeneral(x, from, to, treeBegin, treeEnd, out);
    }
  }

  /**
   * The general loop over the flat arrays, one row at a time: for models {@link Packed} cannot hold
   * (very many features or very large trees). The reference the fast path must match.
   */
  private void accumulateGeneral(
      float[] x, int from, int to, int treeBegin, int treeEnd, float[] out) {
    final int[] feature = this.feature;
    final float[] value = this.value;
    final int[] left = this.left;
    final int[] right = this.right;
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

  /**
   * The fast layout and loop for models without categorical splits; same results, bit for bit.
   *
   * <p>Why it is faster: a tree walk is a chain of dependent loads (node, then the row's feature,
   * then the next node), and the general loop's data-dependent branches (left or right, leaf or
   * not) mispredict about every other node, each miss costing more than the node itself. Here:
   *
   * <ul>
   *   <li><b>One 8-byte node.</b> {@code nodes[i]} holds the threshold as a sortable int key (see
   *       {@link #key}) in its high half and, in its low half, the feature index (low {@code
   *       featureBits} bits) and, above it, signed, the offset to the right child minus one. Each
   *       tree is laid out depth-first (pre-order), so the left child is always the next slot and
   *       only the right offset is stored. A visit is one load from a compact array (850 KB for the
   *       106k-node benchmark model) instead of four loads from five arrays.
   *   <li><b>No branches.</b> Inputs are turned into the same int keys once per row block, so
   *       {@code x < threshold} becomes the sign of a subtraction and the next slot is {@code i + 1
   *       + (offsetMinusOne & (lessThan - 1))}: arithmetic, nothing to mispredict.
   *   <li><b>Leaves stand still.</b> A leaf's key is {@code Integer.MIN_VALUE} (nothing is less)
   *       and its offset minus one is -1, so a walk that reached a leaf stays on it. Each tree then
   *       takes exactly its depth in steps for every row, with no leaf test, and the loop branches
   *       are perfectly predictable. Leaf values live in {@code leaf}, read once per tree and row.
   *   <li><b>{@value #LANES} rows at once.</b> Each step advances {@value #LANES} rows through the
   *       same tree; their walks are independent, so the CPU overlaps their loads instead of
   *       waiting for one chain at a time (the walk is latency-bound, not compute-bound).
   *   <li><b>Blocks.</b> Rows go in blocks of {@value #ROW_BLOCK}; for each, trees go in blocks of
   *       {@value #TREE_BLOCK}, each tree block walked by every lane group of the row block, so the
   *       block's nodes stay in L1/L2 while the rows stream through. A row's trees are still added
   *       in tree order, so the float32 sums are those of XGBoost.
   *   <li><b>Missing values</b> need the node's default direction: lane groups whose rows have no
   *       NaN (checked once per row block) run the branch-free loop; the others run a loop that
   *       tests for NaN and reads {@code defaultLeft}.
   * </ul>
   */
  static final class Packed {
    /** Per-thread scratch: lane node indices and the row block's keys; grown, never per call. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
      final int[] lane = new int[LANES];
      int[] keys = new int[0];
    }

    private final long[] nodes;
    private final float[] leaf;
    private final boolean[] defaultLeft;
    private final int[] root;
    private final int[] depth;
    private final int[] group;
    private final int featureBits;
    private final int featureMask;

    private Packed(
        long[] nodes,
        float[] leaf,
        boolean[] defaultLeft,
        int[] root,
        int[] depth,
        int[] group,
        int featureBits) {
      this.nodes = nodes;
      this.leaf = leaf;
      this.defaultLeft = defaultLeft;
      this.root = root;
      this.depth = depth;
      this.group = group;
      this.featureBits = featureBits;
      this.featureMask = (1 << featureBits) - 1;
    }

    /**
     * An int that orders as the float does, for non-NaN floats: the float's bits for positive
     * values, {@code -1 - magnitude bits} for negative ones. Only -0 and +0 differ (-1 and 0) while
     * being equal floats, which {@link #thresholdKey} accounts for.
     */
    static int key(float v) {
      int bits = Float.floatToRawIntBits(v);
      return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    /**
     * The key k with {@code key(v) < k} exactly when {@code v < t}, for every non-NaN v: {@code
     * key(t)}, except -1 for t = ±0 (v < 0 for the negative keys from -2 down, not for -0's -1),
     * and {@code Integer.MIN_VALUE} for a NaN threshold (nothing is less).
     */
    static int thresholdKey(float t) {
      if (t != t) {
        return Integer.MIN_VALUE;
      }
      return t == 0f ? -1 : key(t);
    }

    /**
     * Lays out a validated ensemble's reachable nodes depth-first; null when the model has over
     * 2^16 features or a tree too large for the right-child offset bits left beside the feature
     * index, and the general loop is used instead.
     */
    static Packed of(TreeEnsemble e) {
      // The key scratch holds a row block: cap the features so it stays small (4 MB at most).
      if (e.numFeatures > 1 << 16) {
        return null;
      }
      int featureBits = 32 - Integer.numberOfLeadingZeros(Math.max(1, e.numFeatures - 1));
      int maxOffset = 1 << (31 - featureBits - 1);
      int n = e.feature.length;
      int trees = e.treeRoot.length;
      long[] nodes = new long[n];
      float[] leaf = new float[n];
      boolean[] defaultLeft = new boolean[n];
      int[] root = new int[trees];
      int[] depth = new int[trees];
      // Pre-order walk with an explicit stack of (node, parent slot for a right child, depth).
      int[] stackNode = new int[n + 1];
      int[] stackParent = new int[n + 1];
      int[] stackDepth = new int[n + 1];
      long leafBits = (long) Integer.MIN_VALUE << 32 | ((-1 << featureBits) & 0xffffffffL);
      int size = 0;
      for (int t = 0; t < trees; t++) {
        root[t] = size;
        int top = 0;
        stackNode[top] = e.treeRoot[t];
        stackParent[top] = -1;
        stackDepth[top++] = 0;
        while (top > 0) {
          top--;
          int i = stackNode[top];
          int d = stackDepth[top];
          int slot = size++;
          if (stackParent[top] >= 0) {
            int offset = slot - stackParent[top];
            if (offset > maxOffset) {
              return null;
            }
            nodes[stackParent[top]] |= (long) (offset - 1) << featureBits;
          }
          depth[t] = Math.max(depth[t], d);
          if (e.left[i] < 0) {
            nodes[slot] = leafBits;
            leaf[slot] = e.value[i];
          } else {
            nodes[slot] = (long) thresholdKey(e.value[i]) << 32 | e.feature[i];
            defaultLeft[slot] = e.missing[i] == e.left[i];
            // Right first, so the left child is popped next and takes slot + 1.
            stackNode[top] = e.right[i];
            stackParent[top] = slot;
            stackDepth[top++] = d + 1;
            stackNode[top] = e.left[i];
            stackParent[top] = -1;
            stackDepth[top++] = d + 1;
          }
        }
      }
      return new Packed(
          java.util.Arrays.copyOf(nodes, size),
          java.util.Arrays.copyOf(leaf, size),
          java.util.Arrays.copyOf(defaultLeft, size),
          root,
          depth,
          e.treeGroup.clone(),
          featureBits);
    }

    /** Adds the leaves of trees {@code [treeBegin, treeEnd)} for rows {@code [from, to)}. */
    void accumulate(
        float[] x, int from, int to, int treeBegin, int treeEnd, float[] out, int nf, int ng) {
      Scratch scratch = SCRATCH.get();
      int[] lane = scratch.lane;
      // ROW_BLOCK rows, fewer (down to one lane group) for wide rows, to bound the scratch.
      int blockRows = Math.max(LANES, Math.min(ROW_BLOCK, (1 << 15) / nf / LANES * LANES));
      if (scratch.keys.length < blockRows * nf) {
        scratch.keys = new int[blockRows * nf];
      }
      int[] keys = scratch.keys;
      if (to - from < LANES / 2) {
        // Too few rows to fill the lanes: walk LANES trees of one row at once instead.
        for (int r = from; r < to; r++) {
          boolean missing = false;
          for (int f = 0; f < nf; f++) {
            float v = x[r * nf + f];
            keys[f] = key(v);
            missing |= v != v;
          }
          for (int t0 = treeBegin; t0 < treeEnd; t0 += LANES) {
            walkTrees(x, keys, r, t0, Math.min(treeEnd, t0 + LANES), out, nf, ng, lane, missing);
          }
        }
        return;
      }
      for (int rowBlock = from; rowBlock < to; rowBlock += blockRows) {
        int rowBlockEnd = Math.min(to, rowBlock + blockRows);
        // The block's keys, and bit j set when lane group j of the block has a NaN (the block
        // has ROW_BLOCK / LANES <= 64 groups).
        long missing = 0;
        int first = rowBlock * nf;
        for (int r0 = rowBlock, j = 0; r0 < rowBlockEnd; r0 += LANES, j++) {
          int end = Math.min(rowBlockEnd, r0 + LANES) * nf;
          for (int i = r0 * nf; i < end; i++) {
            float v = x[i];
            keys[i - first] = key(v);
            if (v != v) {
              missing |= 1L << j;
            }
          }
        }
        for (int t0 = treeBegin; t0 < treeEnd; t0 += TREE_BLOCK) {
          int t1 = Math.min(treeEnd, t0 + TREE_BLOCK);
          for (int r0 = rowBlock, j = 0; r0 < rowBlockEnd; r0 += LANES, j++) {
            int lanes = Math.min(LANES, rowBlockEnd - r0);
            if ((missing & (1L << j)) == 0) {
              walkLanes(keys, (r0 - rowBlock) * nf, r0, lanes, t0, t1, out, nf, ng, lane);
            } else {
              walkLanesWithMissing(x, r0, lanes, t0, t1, out, nf, ng, lane);
            }
          }
        }
      }
    }

    /**
     * Rows {@code [r0, r0 + lanes)}, none with a NaN, keys from {@code keys[keyBase]}, through
     * trees {@code [t0, t1)}: each tree {@code depth} steps of all lanes, then each lane's leaf
     * added to its row's group.
     */
    private void walkLanes(
        int[] keys,
        int keyBase,
        int r0,
        int lanes,
        int t0,
        int t1,
        float[] out,
        int nf,
        int ng,
        int[] lane) {
      final long[] nodes = this.nodes;
      final int shift = featureBits;
      final int mask = featureMask;
      for (int t = t0; t < t1; t++) {
        int start = root[t];
        for (int k = 0; k < lanes; k++) {
          lane[k] = start;
        }
        for (int s = depth[t]; s > 0; s--) {
          for (int k = 0, base = keyBase; k < lanes; k++, base += nf) {
            int i = lane[k];
            long node = nodes[i];
            int info = (int) node;
            // less = 1 when key(x) < threshold key, i.e. x < threshold: the sign of the
            // difference, in long as the int difference can overflow.
            int less = (int) ((keys[base + (info & mask)] - (node >> 32)) >>> 63);
            // less: i + 1 (left); else i + 1 + (offset - 1) (right; a leaf's -1 keeps i).
            lane[k] = i + 1 + ((info >> shift) & (less - 1));
          }
        }
        addLeaves(r0, lanes, group[t], out, ng, lane);
      }
    }

    /** {@link #walkLanes} for lane groups with a NaN: a NaN takes the node's default child. */
    private void walkLanesWithMissing(
        float[] x, int r0, int lanes, int t0, int t1, float[] out, int nf, int ng, int[] lane) {
      final long[] nodes = this.nodes;
      final boolean[] defaultLeft = this.defaultLeft;
      final int shift = featureBits;
      final int mask = featureMask;
      for (int t = t0; t < t1; t++) {
        int start = root[t];
        for (int k = 0; k < lanes; k++) {
          lane[k] = start;
        }
        for (int s = depth[t]; s > 0; s--) {
          for (int k = 0, base = r0 * nf; k < lanes; k++, base += nf) {
            int i = lane[k];
            long node = nodes[i];
            int info = (int) node;
            float v = x[base + (info & mask)];
            // A leaf's defaultLeft is false and its key MIN_VALUE, so every walk stays on it.
            int less;
            if (v != v) {
              less = defaultLeft[i] ? 1 : 0;
            } else {
              less = (int) ((key(v) - (node >> 32)) >>> 63);
            }
            lane[k] = i + 1 + ((info >> shift) & (less - 1));
          }
        }
        addLeaves(r0, lanes, group[t], out, ng, lane);
      }
    }

    /**
     * One row (keys in {@code keys[0, nf)}) through trees {@code [t0, t1)}, at most {@value
     * #LANES}, one tree per lane: for batches too small to fill the lanes with rows (a single row
     * would otherwise be one long chain of dependent loads). The leaves are added in tree order, so
     * the sum is the same as tree by tree.
     */
    private void walkTrees(
        float[] x,
        int[] keys,
        int row,
        int t0,
        int t1,
        float[] out,
        int nf,
        int ng,
        int[] lane,
        boolean missing) {
      final long[] nodes = this.nodes;
      final int shift = featureBits;
      final int mask = featureMask;
      int lanes = t1 - t0;
      int steps = 0;
      for (int k = 0; k < lanes; k++) {
        lane[k] = root[t0 + k];
        steps = Math.max(steps, depth[t0 + k]);
      }
      // A lane whose tree is shallower than the deepest one just stays on its leaf.
      if (!missing) {
        for (int s = steps; s > 0; s--) {
          for (int k = 0; k < lanes; k++) {
            int i = lane[k];
            long node = nodes[i];
            int info = (int) node;
            int less = (int) ((keys[info & mask] - (node >> 32)) >>> 63);
            lane[k] = i + 1 + ((info >> shift) & (less - 1));
          }
        }
      } else {
        final boolean[] defaultLeft = this.defaultLeft;
        int base = row * nf;
        for (int s = steps; s > 0; s--) {
          for (int k = 0; k < lanes; k++) {
            int i = lane[k];
            long node = nodes[i];
            int info = (int) node;
            float v = x[base + (info & mask)];
            int less;
            if (v != v) {
              less = defaultLeft[i] ? 1 : 0;
            } else {
              less = (int) ((key(v) - (node >> 32)) >>> 63);
            }
            lane[k] = i + 1 + ((info >> shift) & (less - 1));
          }
        }
      }
      for (int k = 0; k < lanes; k++) {
        out[row * ng + group[t0 + k]] += leaf[lane[k]];
      }
    }

    private void addLeaves(int r0, int lanes, int g, float[] out, int ng, int[] lane) {
      final float[] leaf = this.leaf;
      for (int k = 0, o = r0 * ng + g; k < lanes; k++, o += ng) {
        out[o] += leaf[lane[k]];
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
