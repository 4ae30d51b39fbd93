package dev.kiln.trees;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD evaluator (Vector API): one tree walked by a whole vector of rows at once with gathers,
 * for models without categorical splits whose trees are at most {@value #MAX_DEPTH} deep. Same
 * results as {@link TreeEnsemble}'s scalar loops, bit for bit.
 *
 * <p>Layout: each tree is stored as a complete binary tree of its own depth D, heap-ordered: the
 * children of internal slot i are {@code 2i + 1} (left) and {@code 2i + 2} (right), so a step needs
 * no child pointers, only {@code i = 2i + 2 - goLeft}. Internal slots hold {@code split} (feature
 * index, with the sign bit set when a missing value goes left) and {@code threshold} (float32);
 * slots {@code [0, 2^D - 1)} are internal and the {@code 2^D} leaves sit in {@code leaf}. A leaf
 * shallower than D is padded: it becomes a split on feature 0 whose whole subtree carries its
 * value, so every row takes exactly D steps and any direction lands on the same value.
 *
 * <p>A step for {@link #LANES} rows: gather {@code split} and {@code threshold} at the lanes'
 * slots, gather each lane's key {@code keys[row * nf + feature]}, compare ({@code key(x) < key(t)},
 * the order-preserving int keys of {@link TreeEnsemble.Packed}, so exactly {@code x < t} in float32
 * as XGBoost; NaN has its own key and takes the default bit), and move every lane to its child. No
 * branch depends on the data. Gathers take their indices from an int array (the API's form).
 *
 * <p>Order: rows in blocks of {@value #ROW_BLOCK} (their keys computed once per block), then tree
 * by tree and level by level over all lane groups of the block: the groups' gathers are
 * independent, so the CPU overlaps them; a single group's walk is a chain of dependent gathers.
 * Each row's leaf values are added to its margin in tree order in float32, the scalar order.
 * Everything happens in one method without vector-passing calls: a call C2 does not inline boxes
 * its vectors, which costs more than the gathers.
 */
final class VectorForest implements TreeEnsemble.LaneEvaluator {
  /** Static final, so the JIT constant-folds the lane count. */
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;

  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

  /** Rows walked together: 16 with AVX-512, 8 with AVX2. */
  static final int LANES = INTS.length();

  /** Deeper trees would pad to too many slots (2^13 per tree); they use the scalar path. */
  static final int MAX_DEPTH = 12;

  /** 256 rows of 30 features are 30 KB of input: L1 while every tree of a block walks them. */
  private static final int ROW_BLOCK = 256;

  private static final int FEATURE_MASK = 0x7fffffff;

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  private static final class Scratch {
    final int[] offsets = new int[LANES];
    int[] slots = new int[0];
    int[] at = new int[0];
    int[] keys = new int[0];
  }

  private final int[] split;

  /** Thresholds as sortable int keys ({@link TreeEnsemble.Packed#thresholdKey}). */
  private final int[] threshold;

  private final float[] leaf;
  private final int[] nodeBase;
  private final int[] leafBase;
  private final int[] depth;
  private final int[] group;

  private VectorForest(
      int[] split,
      int[] threshold,
      float[] leaf,
      int[] nodeBase,
      int[] leafBase,
      int[] depth,
      int[] group) {
    this.split = split;
    this.threshold = threshold;
    this.leaf = leaf;
    this.nodeBase = nodeBase;
    this.leafBase = leafBase;
    this.depth = depth;
    this.group = group;
  }

  /**
   * The heap layout of a validated ensemble without categorical splits (the arrays as {@link
   * TreeEnsemble} holds them), or null when the vectors are too short to pay (under 8 lanes), a
   * tree is deeper than {@value #MAX_DEPTH} or the padded layout would be over 2^26 slots.
   */
  static TreeEnsemble.LaneEvaluator of(
      int[] treeRoot,
      int[] treeGroup,
      int[] feature,
      float[] value,
      int[] left,
      int[] right,
      int[] missing) {
    if (LANES < 8 || FLOATS.length() != LANES) {
      return null;
    }
    int trees = treeRoot.length;
    int[] depth = new int[trees];
    // Depth-first with at most one pending sibling per level, so the stacks stay small.
    int[] stackNode = new int[2 * MAX_DEPTH + 4];
    int[] stackDepth = new int[2 * MAX_DEPTH + 4];
    int[] stackSlot = new int[2 * MAX_DEPTH + 4];
    long internal = 0;
    long leaves = 0;
    for (int t = 0; t < trees; t++) {
      int top = 0;
      stackNode[top] = treeRoot[t];
      stackDepth[top++] = 0;
      while (top > 0) {
        top--;
        int i = stackNode[top];
        int d = stackDepth[top];
        if (left[i] < 0) {
          depth[t] = Math.max(depth[t], d);
        } else if (d == MAX_DEPTH) {
          return null;
        } else {
          stackNode[top] = right[i];
          stackDepth[top++] = d + 1;
          stackNode[top] = left[i];
          stackDepth[top++] = d + 1;
        }
      }
      internal += (1L << depth[t]) - 1;
      leaves += 1L << depth[t];
    }
    if (internal + leaves > 1 << 26) {
      return null;
    }
    // Padded by 2 * LANES: the register-held top levels load that many slots of every tree.
    int[] split = new int[(int) internal + 2 * LANES];
    int[] threshold = new int[(int) internal + 2 * LANES];
    float[] leaf = new float[(int) leaves];
    int[] nodeBase = new int[trees];
    int[] leafBase = new int[trees];
    int nb = 0;
    int lb = 0;
    for (int t = 0; t < trees; t++) {
      int d0 = depth[t];
      int firstLeaf = (1 << d0) - 1;
      nodeBase[t] = nb;
      leafBase[t] = lb;
      int top = 0;
      stackNode[top] = treeRoot[t];
      stackSlot[top] = 0;
      stackDepth[top++] = 0;
      while (top > 0) {
        top--;
        int i = stackNode[top];
        int slot = stackSlot[top];
        int d = stackDepth[top];
        if (d == d0) {
          leaf[lb + slot - firstLeaf] = value[i];
          continue;
        }
        boolean isLeaf = left[i] < 0;
        // A shallow leaf: a split on feature 0 (threshold 0) with its value on both sides.
        split[nb + slot] =
            isLeaf ? 0 : feature[i] | (missing[i] == left[i] ? Integer.MIN_VALUE : 0);
        threshold[nb + slot] = isLeaf ? 0 : TreeEnsemble.Packed.thresholdKey(value[i]);
        stackNode[top] = isLeaf ? i : right[i];
        stackSlot[top] = 2 * slot + 2;
        stackDepth[top++] = d + 1;
        stackNode[top] = isLeaf ? i : left[i];
        stackSlot[top] = 2 * slot + 1;
        stackDepth[top++] = d + 1;
      }
      nb += firstLeaf;
      lb += firstLeaf + 1;
    }
    return new VectorForest(split, threshold, leaf, nodeBase, leafBase, depth, treeGroup.clone());
  }

  /** An input's key: {@link TreeEnsemble.Packed#key}, and {@link #NAN_KEY} for NaN. */
  private static int key(float v) {
    return v != v ? NAN_KEY : TreeEnsemble.Packed.key(v);
  }

  private static final IntVector ONE = IntVector.broadcast(INTS, 1);
  private static final IntVector TWO = IntVector.broadcast(INTS, 2);

  /** No float but NaN has this key (it would be the key of bits 0xffffffff, a NaN). */
  private static final int NAN_KEY = Integer.MIN_VALUE;

  @Override
  public void accumulate(
      float[] x, int from, int to, int treeBegin, int treeEnd, float[] out, int nf, int ng) {
    Scratch scratch = SCRATCH.get();
    // ROW_BLOCK rows, fewer (down to one lane group) for wide rows, to bound the key scratch.
    int blockRows = Math.max(LANES, Math.min(ROW_BLOCK, (1 << 15) / nf / LANES * LANES));
    if (scratch.keys.length < blockRows * nf) {
      scratch.keys = new int[blockRows * nf];
    }
    if (scratch.slots.length < blockRows) {
      scratch.slots = new int[blockRows];
      scratch.at = new int[blockRows];
    }
    int[] keys = scratch.keys;
    for (int k = 0; k < LANES; k++) {
      scratch.offsets[k] = k * nf;
    }
    for (int rowBlock = from; rowBlock < to; rowBlock += blockRows) {
      int rowBlockEnd = Math.min(to, rowBlock + blockRows);
      for (int i = rowBlock * nf, end = rowBlockEnd * nf, k = 0; i < end; i++, k++) {
        keys[k] = key(x[i]);
      }
      for (int t = treeBegin; t < treeEnd; t++) {
        walk(keys, rowBlock, rowBlockEnd - rowBlock, t, out, nf, ng, scratch);
      }
    }
  }

  /**
   * The rows {@code [r0, r0 + rows)} of a row block (keys from {@code keys[0]}) through tree t,
   * level by level: each step moves every lane group of the block one level down, so the groups'
   * gathers are independent iterations the CPU overlaps (one group's walk alone is a chain of
   * dependent gathers, latency-bound). The lanes' slots live in {@code scratch.slots}, which is
   * also the gathers' index map. Then the leaves are added to the rows' margins.
   */
  private void walk(
      int[] keys, int r0, int rows, int t, float[] out, int nf, int ng, Scratch scratch) {
    final int[] slots = scratch.slots;
    final int[] at = scratch.at;
    final int[] split = this.split;
    final int[] threshold = this.threshold;
    int base = nodeBase[t];
    int d = depth[t];
    int full = rows / LANES * LANES;
    int tail = rows - full;
    // Lanes past the block's end read its first row (in bounds) and are not written back.
    IntVector rowOffsets = IntVector.fromArray(INTS, scratch.offsets, 0);
    IntVector tailOffsets = rowOffsets.blend(0, INTS.indexInRange(0, tail).not());
    int groupsEnd = tail == 0 ? full : full + LANES;
    java.util.Arrays.fill(slots, 0, groupsEnd, 0);
    for (int s = 0; s < d; s++) {
      for (int j = 0; j < groupsEnd; j += LANES) {
        IntVector offsets = j < full ? rowOffsets : tailOffsets;
        IntVector slot = IntVector.fromArray(INTS, slots, j);
        IntVector sp = IntVector.fromArray(INTS, split, base, slots, j);
        IntVector th = IntVector.fromArray(INTS, threshold, base, slots, j);
        sp.and(FEATURE_MASK).add(offsets).intoArray(at, j);
        IntVector v = IntVector.fromArray(INTS, keys, j * nf, at, j);
        // Left (2i + 1) when key(x) < key(t), or x is missing and the default-left bit is set.
        VectorMask<Integer> missing = v.eq(NAN_KEY);
        VectorMask<Integer> goLeft = v.lt(th).andNot(missing).or(missing.and(sp.lt(0)));
        slot.lanewise(VectorOperators.LSHL, 1).add(TWO.blend(ONE, goLeft)).intoArray(slots, j);
      }
    }
    int firstLeaf = (1 << d) - 1;
    int lb = leafBase[t] - firstLeaf;
    if (ng == 1) {
      for (int j = 0; j < full; j += LANES) {
        FloatVector values = FloatVector.fromArray(FLOATS, leaf, lb, slots, j);
        FloatVector.fromArray(FLOATS, out, r0 + j).add(values).intoArray(out, r0 + j);
      }
      for (int k = full; k < rows; k++) {
        out[r0 + k] += leaf[lb + slots[k]];
      }
    } else {
      int g = group[t];
      for (int k = 0, o = r0 * ng + g; k < rows; k++, o += ng) {
        out[o] += leaf[lb + slots[k]];
      }
    }
  }
}
