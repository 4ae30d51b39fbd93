package dev.kiln.llm;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot-product kernels over {@link RowMatrix} weights (F32, BF16, Q8_0) with fp32 activations and
 * fp32 accumulation. The unit of work is a tile of 4 weight rows by 4 activation rows: 16 vector
 * accumulators, each weight vector is loaded (and widened: bf16 by a 16-bit shift, Q8_0 by an
 * int8-to-float conversion times its block's scale) once for 4 activation rows, each activation
 * vector once for 4 weight rows. A decode step (one activation row) uses 4 x 1 tiles, which stream
 * the weights once. Every output element is one accumulator summed in the same order in any tile,
 * so results do not depend on the batch. Activation rows are taken in blocks of {@value #T_BLOCK},
 * which stay in L2 while the weights stream past.
 */
final class RowKernels {
  static final VectorSpecies<Float> F = Kernels.SPECIES;
  static final int L = Kernels.LANES;
  // Same lane count as F: L shorts (bf16) and L bytes (int8) widen to one float vector.
  static final VectorSpecies<Short> S =
      VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
  static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
  static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
  static final int TILE = 4;
  static final int T_BLOCK = 64;
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private RowKernels() {}

  /**
   * Columns {@code [from, to)} of {@code out[t] = W x[t] + bias (+ out[t])}, t < rows; {@code res}
   * is the caller's scratch of 16 floats (one per worker, so nothing is allocated per call).
   */
  static void multiply(
      RowMatrix m,
      float[] out,
      float[] x,
      int rows,
      float[] bias,
      boolean accumulate,
      int from,
      int to,
      float[] res) {
    int in = m.cols();
    int n = m.rows();
    for (int t0 = 0; t0 < rows; t0 += T_BLOCK) {
      int t1 = Math.min(rows, t0 + T_BLOCK);
      int j = from;
      // Q8_0 below 16 lanes, with x4 tiles: each group's quants widened once into a float panel in
      // the scratch (exact), then read by every tile (the same sums in the same order)
      boolean panel = t1 - t0 >= 4 && widens(m, res);
      for (; j + TILE <= to; j += TILE) {
        int t = t0;
        if (panel) {
          widen(m, j, res);
        }
        for (; t + 4 <= t1; t += 4) {
          if (panel) {
            panelTile(m.data(), m.scaleOffset(j), in, x, t * in, res);
          } else {
            tile(m, j, x, t * in, in, 4, res);
          }
          for (int u = 0; u < 4; u++) {
            store(out, (t + u) * n + j, res, u, bias, j, accumulate);
          }
        }
        for (; t < t1; t++) {
          tile(m, j, x, t * in, in, 1, res);
          store(out, t * n + j, res, 0, bias, j, accumulate);
        }
      }
      for (; j < to; j++) {
        for (int t = t0; t < t1; t++) {
          float v = dot(m, j, x, t * in) + (bias == null ? 0f : bias[j]);
          out[t * n + j] = accumulate ? out[t * n + j] + v : v;
        }
      }
    }
  }

  private static void store(
      float[] out, int o, float[] res, int u, float[] bias, int j, boolean accumulate) {
    for (int k = 0; k < 4; k++) {
      float v = res[k * 4 + u] + (bias == null ? 0f : bias[j + k]);
      out[o + k] = accumulate ? out[o + k] + v : v;
    }
  }

  /**
   * Rows {@code [from, to)} of {@code out[b] = W x_b} for {@code batch} vectors {@code x_b = x[b *
   * cols, (b + 1) * cols)}: the tied output head of a step, each weight tile read once for all.
   */
  static void head(
      RowMatrix m, float[][] out, int batch, float[] x, int from, int to, float[] res) {
    int d = m.cols();
    int j = from;
    for (; j + TILE <= to; j += TILE) {
      int b = 0;
      for (; b + 4 <= batch; b += 4) {
        tile(m, j, x, b * d, d, 4, res);
        for (int u = 0; u < 4; u++) {
          for (int k = 0; k < 4; k++) {
            out[b + u][j + k] = res[k * 4 + u];
          }
        }
      }
      for (; b < batch; b++) {
        tile(m, j, x, b * d, d, 1, res);
        for (int k = 0; k < 4; k++) {
          out[b][j + k] = res[k * 4];
        }
      }
    }
    for (; j < to; j++) {
      for (int b = 0; b < batch; b++) {
        out[b][j] = dot(m, j, x, b * d);
      }
    }
  }

  /** res[k * 4 + u] = W_{j+k} . x_u for k < 4 and u < us (1 or 4); x_u at x0 + u * xs. */
  static void tile(RowMatrix m, int j, float[] x, int x0, int xs, int us, float[] res) {
    MemorySegment w = m.data();
    long rb = m.rowStride();
    long r0 = j * rb;
    int cols = m.cols();
    switch (m.format()) {
      case F32, F32_ROWS, BF16 -> {
        // the vector at column i of row k at r0 + cs i + k rs; past the last whole vector, row
        // k's remaining columns in order from t0 + k ts (RowMatrix.tiledIndex for the interleaved
        // layout, a plain row stride for F32_ROWS)
        boolean bf16 = m.format() == RowMatrix.Format.BF16;
        boolean rowMajor = m.format() == RowMatrix.Format.F32_ROWS;
        long e = bf16 ? 2 : 4;
        int bound = F.loopBound(cols);
        long cs = rowMajor ? e : TILE * e;
        long rs = rowMajor ? rb : e * L;
        long t0 = r0 + cs * bound;
        long ts = rowMajor ? rb : e * (cols - bound);
        if (us == 4 && L != 16) {
          pairx4(bf16, w, r0, cs, rs, cols, x, x0, xs, res, 0);
          pairx4(bf16, w, r0 + 2 * rs, cs, rs, cols, x, x0, xs, res, 8);
          if (bound < cols && bf16) {
            scalarTail(w, t0, ts, bound, cols, x, x0, xs, 4, res);
          } else if (bound < cols) {
            f32Tail(w, t0, ts, bound, cols, x, x0, xs, 4, res);
          }
        } else if (bf16 && us == 4) {
          bf16x4(w, r0, cs, rs, t0, ts, cols, x, x0, xs, res);
        } else if (bf16) {
          bf16x1(w, r0, cs, rs, t0, ts, cols, x, x0, res);
        } else if (us == 4) {
          f32x4(w, r0, cs, rs, t0, ts, cols, x, x0, xs, res);
        } else {
          f32x1(w, r0, cs, rs, t0, ts, cols, x, x0, res);
        }
      }
      case Q8_0 -> {
        // j is a multiple of 4: r0 and s0 are where the group of rows j..j+3 starts
        long s0 = m.scaleOffset(j);
        if (us == 4 && widens(m, res)) {
          // two weight rows' 22 live vectors spill from AVX2's 16 registers: one row at a time,
          // from the group widened to floats
          widen(m, j, res);
          panelTile(w, s0, cols, x, x0, res);
        } else if (us == 4) {
          q8x2x4(w, r0, s0, cols, x, x0, xs, res, 0);
          q8x2x4(w, r0 + 2 * Q8_ROW_QUANTS, s0 + 2 * Q8_ROW_SCALE, cols, x, x0, xs, res, 8);
        } else if (L == 16) {
          q8x1(w, r0, s0, cols, x, x0, res);
        } else {
          // two calls of two rows each: one of four rows, written out for 8 lanes, is past C2's
          // inlining budget (the last loads became calls returning boxed vectors)
          q8x2(w, r0, s0, cols, x, x0, res, 0);
          q8x2(w, r0 + 2 * Q8_ROW_QUANTS, s0 + 2 * Q8_ROW_SCALE, cols, x, x0, res, 8);
        }
      }
    }
  }

  /** W_j . x[x0..]: the columns past the last whole tile. */
  static float dot(RowMatrix m, int j, float[] x, int x0) {
    float s = 0f;
    for (int c = 0; c < m.cols(); c++) {
      s += m.get(j, c) * x[x0 + c];
    }
    return s;
  }

  private static FloatVector f32(MemorySegment w, long off) {
    return FloatVector.fromMemorySegment(F, w, off, LE);
  }

  private static FloatVector bf16(MemorySegment w, long off) {
    return ((IntVector)
            ShortVector.fromMemorySegment(S, w, off, LE).convertShape(VectorOperators.S2I, I, 0))
        .lanewise(VectorOperators.LSHL, 16)
        .reinterpretAsFloats();
  }

  /** {@code L} int8 quants at {@code off} as floats. */
  private static FloatVector i8(MemorySegment w, long off) {
    return (FloatVector)
        ByteVector.fromMemorySegment(B, w, off, LE).convertShape(VectorOperators.B2F, F, 0);
  }

  /**
   * F32 tiles in either layout: the vector at column i of row k at {@code r0 + cs i + k rs}, the
   * columns past the last whole vector at {@code t0 + k ts + 4 (i - bound)}.
   */
  private static void f32x4(
      MemorySegment w,
      long r0,
      long cs,
      long rs,
      long t0,
      long ts,
      int cols,
      float[] x,
      int x0,
      int xs,
      float[] res) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + cs * i;
      FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
      FloatVector v1 = FloatVector.fromArray(F, x, x0 + xs + i);
      FloatVector v2 = FloatVector.fromArray(F, x, x0 + 2 * xs + i);
      FloatVector v3 = FloatVector.fromArray(F, x, x0 + 3 * xs + i);
      FloatVector w0 = f32(w, o);
      a00 = w0.fma(v0, a00);
      a01 = w0.fma(v1, a01);
      a02 = w0.fma(v2, a02);
      a03 = w0.fma(v3, a03);
      FloatVector w1 = f32(w, o + rs);
      a10 = w1.fma(v0, a10);
      a11 = w1.fma(v1, a11);
      a12 = w1.fma(v2, a12);
      a13 = w1.fma(v3, a13);
      FloatVector w2 = f32(w, o + 2 * rs);
      a20 = w2.fma(v0, a20);
      a21 = w2.fma(v1, a21);
      a22 = w2.fma(v2, a22);
      a23 = w2.fma(v3, a23);
      FloatVector w3 = f32(w, o + 3 * rs);
      a30 = w3.fma(v0, a30);
      a31 = w3.fma(v1, a31);
      a32 = w3.fma(v2, a32);
      a33 = w3.fma(v3, a33);
    }
    reduce16(res, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    if (bound < cols) {
      f32Tail(w, t0, ts, bound, cols, x, x0, xs, 4, res);
    }
  }

  private static void f32x1(
      MemorySegment w,
      long r0,
      long cs,
      long rs,
      long t0,
      long ts,
      int cols,
      float[] x,
      int x0,
      float[] res) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + cs * i;
      FloatVector v = FloatVector.fromArray(F, x, x0 + i);
      a0 = f32(w, o).fma(v, a0);
      a1 = f32(w, o + rs).fma(v, a1);
      a2 = f32(w, o + 2 * rs).fma(v, a2);
      a3 = f32(w, o + 3 * rs).fma(v, a3);
    }
    reduce4(res, a0, a1, a2, a3);
    if (bound < cols) {
      f32Tail(w, t0, ts, bound, cols, x, x0, 0, 1, res);
    }
  }

  private static void bf16x4(
      MemorySegment w,
      long r0,
      long cs,
      long rs,
      long t0,
      long ts,
      int cols,
      float[] x,
      int x0,
      int xs,
      float[] res) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + cs * i;
      FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
      FloatVector v1 = FloatVector.fromArray(F, x, x0 + xs + i);
      FloatVector v2 = FloatVector.fromArray(F, x, x0 + 2 * xs + i);
      FloatVector v3 = FloatVector.fromArray(F, x, x0 + 3 * xs + i);
      FloatVector w0 = bf16(w, o);
      a00 = w0.fma(v0, a00);
      a01 = w0.fma(v1, a01);
      a02 = w0.fma(v2, a02);
      a03 = w0.fma(v3, a03);
      FloatVector w1 = bf16(w, o + rs);
      a10 = w1.fma(v0, a10);
      a11 = w1.fma(v1, a11);
      a12 = w1.fma(v2, a12);
      a13 = w1.fma(v3, a13);
      FloatVector w2 = bf16(w, o + 2 * rs);
      a20 = w2.fma(v0, a20);
      a21 = w2.fma(v1, a21);
      a22 = w2.fma(v2, a22);
      a23 = w2.fma(v3, a23);
      FloatVector w3 = bf16(w, o + 3 * rs);
      a30 = w3.fma(v0, a30);
      a31 = w3.fma(v1, a31);
      a32 = w3.fma(v2, a32);
      a33 = w3.fma(v3, a33);
    }
    reduce16(res, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    if (bound < cols) {
      scalarTail(w, t0, ts, bound, cols, x, x0, xs, 4, res);
    }
  }

  /**
   * Adds the columns {@code [bound, cols)} of an F32 tile (row k's from {@code t0 + k ts}), in the
   * same order in any tile.
   */
  private static void f32Tail(
      MemorySegment w,
      long t0,
      long ts,
      int bound,
      int cols,
      float[] x,
      int x0,
      int xs,
      int us,
      float[] res) {
    for (int k = 0; k < 4; k++) {
      for (int u = 0; u < us; u++) {
        float s = res[k * 4 + u];
        for (int i = bound; i < cols; i++) {
          s += w.get(SafeTensors.F32, t0 + k * ts + 4L * (i - bound)) * x[x0 + u * xs + i];
        }
        res[k * 4 + u] = s;
      }
    }
  }

  /**
   * The whole vectors of weight rows k < 2 (F32 or BF16, the vector at column i of row k at {@code
   * r0 + cs i + k rs}) and activation rows u < 4 into res[off + k * 4 + u], in {@link #f32x4}'s
   * order: its 16 accumulators and 5 operands spill from AVX2's 16 vector registers, 8 of them do
   * not.
   */
  private static void pairx4(
      boolean bf16,
      MemorySegment w,
      long r0,
      long cs,
      long rs,
      int cols,
      float[] x,
      int x0,
      int xs,
      float[] res,
      int off) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + cs * i;
      FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
      FloatVector v1 = FloatVector.fromArray(F, x, x0 + xs + i);
      FloatVector v2 = FloatVector.fromArray(F, x, x0 + 2 * xs + i);
      FloatVector v3 = FloatVector.fromArray(F, x, x0 + 3 * xs + i);
      FloatVector w0 = bf16 ? bf16(w, o) : f32(w, o);
      a00 = w0.fma(v0, a00);
      a01 = w0.fma(v1, a01);
      a02 = w0.fma(v2, a02);
      a03 = w0.fma(v3, a03);
      FloatVector w1 = bf16 ? bf16(w, o + rs) : f32(w, o + rs);
      a10 = w1.fma(v0, a10);
      a11 = w1.fma(v1, a11);
      a12 = w1.fma(v2, a12);
      a13 = w1.fma(v3, a13);
    }
    res[off] = sum(a00);
    res[off + 1] = sum(a01);
    res[off + 2] = sum(a02);
    res[off + 3] = sum(a03);
    res[off + 4] = sum(a10);
    res[off + 5] = sum(a11);
    res[off + 6] = sum(a12);
    res[off + 7] = sum(a13);
  }

  private static void bf16x1(
      MemorySegment w,
      long r0,
      long cs,
      long rs,
      long t0,
      long ts,
      int cols,
      float[] x,
      int x0,
      float[] res) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + cs * i;
      FloatVector v = FloatVector.fromArray(F, x, x0 + i);
      a0 = bf16(w, o).fma(v, a0);
      a1 = bf16(w, o + rs).fma(v, a1);
      a2 = bf16(w, o + 2 * rs).fma(v, a2);
      a3 = bf16(w, o + 3 * rs).fma(v, a3);
    }
    reduce4(res, a0, a1, a2, a3);
    if (bound < cols) {
      scalarTail(w, t0, ts, bound, cols, x, x0, 0, 1, res);
    }
  }

  /**
   * Adds the columns {@code [bound, cols)} of a bf16 tile (row k's from {@code t0 + k ts}), in the
   * same order in any tile.
   */
  private static void scalarTail(
      MemorySegment w,
      long t0,
      long ts,
      int bound,
      int cols,
      float[] x,
      int x0,
      int xs,
      int us,
      float[] res) {
    for (int k = 0; k < 4; k++) {
      for (int u = 0; u < us; u++) {
        float s = res[k * 4 + u];
        for (int i = bound; i < cols; i++) {
          long at = t0 + k * ts + 2L * (i - bound);
          float wv = Float.intBitsToFloat((w.get(SafeTensors.U16, at) & 0xffff) << 16);
          s += wv * x[x0 + u * xs + i];
        }
        res[k * 4 + u] = s;
      }
    }
  }

  /*
   * Q8_0 ({@link RowMatrix.Format#Q8_0}, rows interleaved by 4: for the group at q0 / s0, block k
   * of row r (r < 4) has its 32 quants at q0 + 128 k + 32 r and its fp32 scale at s0 + 16 k + 4 r):
   * per 32-block, the int8 quants widened to float are dotted with the activations into a block
   * sum p, and p times the block's scale is added to the row's accumulator: one multiply by the
   * scale per block instead of one per vector. Both kernels sum each (row, activation) pair in that
   * same order, so a batched step equals a single-stream one.
   */
  private static final int Q8_ROW_QUANTS = 32; // one row's block, then the next row's
  private static final int Q8_ROW_SCALE = 4;
  private static final int Q8_GROUP_QUANTS = TILE * Q8_ROW_QUANTS;
  private static final int Q8_GROUP_SCALES = TILE * Q8_ROW_SCALE;

  /**
   * res[off + k * 4 + u] for weight rows k < 2 of a group (block 0 quants at q0, q0 + 32, scales at
   * s0, s0 + 4) and activation rows u < 4.
   */
  private static void q8x2x4(
      MemorySegment w,
      long q0,
      long s0,
      int cols,
      float[] x,
      int x0,
      int xs,
      float[] res,
      int off) {
    long q1 = q0 + Q8_ROW_QUANTS;
    long s1 = s0 + Q8_ROW_SCALE;
    FloatVector zero = FloatVector.zero(F);
    FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero;
    FloatVector a10 = zero, a11 = zero, a12 = zero, a13 = zero;
    // over the block index k, to which every offset (quants 128 k, scales 16 k) is linear: C2 then
    // removes the bounds checks of the scale loads too (c / 8 hid them from it)
    for (int k = 0; k < cols / 32; k++) {
      int c = 32 * k;
      long q = (long) Q8_GROUP_QUANTS * k;
      FloatVector p00 = zero, p01 = zero, p02 = zero, p03 = zero;
      FloatVector p10 = zero, p11 = zero, p12 = zero, p13 = zero;
      // as in q8x1: with 16 lanes the block's two vectors are written out (the same order)
      if (L == 16) {
        int i = x0 + c;
        FloatVector v0 = FloatVector.fromArray(F, x, i);
        FloatVector v1 = FloatVector.fromArray(F, x, i + xs);
        FloatVector v2 = FloatVector.fromArray(F, x, i + 2 * xs);
        FloatVector v3 = FloatVector.fromArray(F, x, i + 3 * xs);
        FloatVector w0 = i8(w, q0 + q);
        p00 = w0.fma(v0, p00);
        p01 = w0.fma(v1, p01);
        p02 = w0.fma(v2, p02);
        p03 = w0.fma(v3, p03);
        FloatVector w1 = i8(w, q1 + q);
        p10 = w1.fma(v0, p10);
        p11 = w1.fma(v1, p11);
        p12 = w1.fma(v2, p12);
        p13 = w1.fma(v3, p13);
        i = x0 + c + 16;
        v0 = FloatVector.fromArray(F, x, i);
        v1 = FloatVector.fromArray(F, x, i + xs);
        v2 = FloatVector.fromArray(F, x, i + 2 * xs);
        v3 = FloatVector.fromArray(F, x, i + 3 * xs);
        w0 = i8(w, q0 + q + 16);
        p00 = w0.fma(v0, p00);
        p01 = w0.fma(v1, p01);
        p02 = w0.fma(v2, p02);
        p03 = w0.fma(v3, p03);
        w1 = i8(w, q1 + q + 16);
        p10 = w1.fma(v0, p10);
        p11 = w1.fma(v1, p11);
        p12 = w1.fma(v2, p12);
        p13 = w1.fma(v3, p13);
      } else {
        for (int e = 0; e < 32; e += L) {
          int i = x0 + c + e;
          FloatVector v0 = FloatVector.fromArray(F, x, i);
          FloatVector v1 = FloatVector.fromArray(F, x, i + xs);
          FloatVector v2 = FloatVector.fromArray(F, x, i + 2 * xs);
          FloatVector v3 = FloatVector.fromArray(F, x, i + 3 * xs);
          FloatVector w0 = i8(w, q0 + q + e);
          p00 = w0.fma(v0, p00);
          p01 = w0.fma(v1, p01);
          p02 = w0.fma(v2, p02);
          p03 = w0.fma(v3, p03);
          FloatVector w1 = i8(w, q1 + q + e);
          p10 = w1.fma(v0, p10);
          p11 = w1.fma(v1, p11);
          p12 = w1.fma(v2, p12);
          p13 = w1.fma(v3, p13);
        }
      }
      long b = (long) Q8_GROUP_SCALES * k;
      FloatVector d0 = FloatVector.broadcast(F, w.get(SafeTensors.F32, s0 + b));
      FloatVector d1 = FloatVector.broadcast(F, w.get(SafeTensors.F32, s1 + b));
      a00 = p00.fma(d0, a00);
      a01 = p01.fma(d0, a01);
      a02 = p02.fma(d0, a02);
      a03 = p03.fma(d0, a03);
      a10 = p10.fma(d1, a10);
      a11 = p11.fma(d1, a11);
      a12 = p12.fma(d1, a12);
      a13 = p13.fma(d1, a13);
    }
    res[off] = sum(a00);
    res[off + 1] = sum(a01);
    res[off + 2] = sum(a02);
    res[off + 3] = sum(a03);
    res[off + 4] = sum(a10);
    res[off + 5] = sum(a11);
    res[off + 6] = sum(a12);
    res[off + 7] = sum(a13);
  }

  /** Where a Q8_0 float panel starts in a worker's scratch (after the 16 floats of a tile). */
  private static final int PANEL_AT = 16;

  /**
   * Floats of a worker's scratch in which the x4 tiles of a Q8_0 matrix up to {@code cols} wide
   * widen their group to floats (a smaller one, at least 16, takes the 16-lane kernel).
   */
  static int scratchFloats(int cols) {
    return PANEL_AT + TILE * cols;
  }

  /** Whether m's x4 tiles go through {@link #widen} with this scratch. */
  private static boolean widens(RowMatrix m, float[] res) {
    return L != 16 && m.format() == RowMatrix.Format.Q8_0 && res.length >= scratchFloats(m.cols());
  }

  /** The quants of rows j..j+3 of a Q8_0 matrix as floats: row k's at res[PANEL_AT + k cols]. */
  private static void widen(RowMatrix m, int j, float[] res) {
    MemorySegment w = m.data();
    int cols = m.cols();
    long q0 = j * m.rowStride();
    for (int k = 0; k < cols / 32; k++) {
      for (int r = 0; r < TILE; r++) {
        for (int e = 0; e < 32; e += L) {
          i8(w, q0 + (long) Q8_GROUP_QUANTS * k + r * Q8_ROW_QUANTS + e)
              .intoArray(res, PANEL_AT + r * cols + 32 * k + e);
        }
      }
    }
  }

  /**
   * res[k * 4 + u] for the rows k < 4 of a group widened by {@link #widen} (scales from s0) and
   * activation rows u < 4 at x0 + u cols.
   */
  private static void panelTile(
      MemorySegment w, long s0, int cols, float[] x, int x0, float[] res) {
    for (int k = 0; k < TILE; k++) {
      panelx4(w, res, PANEL_AT + k * cols, s0 + k * Q8_ROW_SCALE, cols, x, x0, res, 4 * k);
    }
  }

  /**
   * One widened row (its floats at pf[p0..], its scales at s0 in the matrix) times activation rows
   * u < 4 into res[off + u]: per 32-block the sums of {@link #q8x2x4}, in its order.
   */
  private static void panelx4(
      MemorySegment w,
      float[] pf,
      int p0,
      long s0,
      int cols,
      float[] x,
      int x0,
      float[] res,
      int off) {
    int xs = cols;
    FloatVector zero = FloatVector.zero(F);
    FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    for (int k = 0; k < cols / 32; k++) {
      int c = 32 * k;
      FloatVector a0p = zero, a1p = zero, a2p = zero, a3p = zero;
      if (L == 8) {
        // written out, as in q8x1 (the loop form runs at 22 GFLOP/s instead of 38 at 16 rows)
        int i;
        FloatVector w0;
        i = x0 + c;
        w0 = FloatVector.fromArray(F, pf, p0 + c);
        a0p = w0.fma(FloatVector.fromArray(F, x, i), a0p);
        a1p = w0.fma(FloatVector.fromArray(F, x, i + xs), a1p);
        a2p = w0.fma(FloatVector.fromArray(F, x, i + 2 * xs), a2p);
        a3p = w0.fma(FloatVector.fromArray(F, x, i + 3 * xs), a3p);
        i = x0 + c + 8;
        w0 = FloatVector.fromArray(F, pf, p0 + c + 8);
        a0p = w0.fma(FloatVector.fromArray(F, x, i), a0p);
        a1p = w0.fma(FloatVector.fromArray(F, x, i + xs), a1p);
        a2p = w0.fma(FloatVector.fromArray(F, x, i + 2 * xs), a2p);
        a3p = w0.fma(FloatVector.fromArray(F, x, i + 3 * xs), a3p);
        i = x0 + c + 16;
        w0 = FloatVector.fromArray(F, pf, p0 + c + 16);
        a0p = w0.fma(FloatVector.fromArray(F, x, i), a0p);
        a1p = w0.fma(FloatVector.fromArray(F, x, i + xs), a1p);
        a2p = w0.fma(FloatVector.fromArray(F, x, i + 2 * xs), a2p);
        a3p = w0.fma(FloatVector.fromArray(F, x, i + 3 * xs), a3p);
        i = x0 + c + 24;
        w0 = FloatVector.fromArray(F, pf, p0 + c + 24);
        a0p = w0.fma(FloatVector.fromArray(F, x, i), a0p);
        a1p = w0.fma(FloatVector.fromArray(F, x, i + xs), a1p);
        a2p = w0.fma(FloatVector.fromArray(F, x, i + 2 * xs), a2p);
        a3p = w0.fma(FloatVector.fromArray(F, x, i + 3 * xs), a3p);
      } else {
        for (int e = 0; e < 32; e += L) {
          int i = x0 + c + e;
          FloatVector w0 = FloatVector.fromArray(F, pf, p0 + c + e);
          a0p = w0.fma(FloatVector.fromArray(F, x, i), a0p);
          a1p = w0.fma(FloatVector.fromArray(F, x, i + xs), a1p);
          a2p = w0.fma(FloatVector.fromArray(F, x, i + 2 * xs), a2p);
          a3p = w0.fma(FloatVector.fromArray(F, x, i + 3 * xs), a3p);
        }
      }
      FloatVector d =
          FloatVector.broadcast(F, w.get(SafeTensors.F32, s0 + (long) Q8_GROUP_SCALES * k));
      a0 = a0p.fma(d, a0);
      a1 = a1p.fma(d, a1);
      a2 = a2p.fma(d, a2);
      a3 = a3p.fma(d, a3);
    }
    res[off] = sum(a0);
    res[off + 1] = sum(a1);
    res[off + 2] = sum(a2);
    res[off + 3] = sum(a3);
  }

  private static void q8x1(
      MemorySegment w, long q0, long s0, int cols, float[] x, int x0, float[] res) {
    long qs = Q8_ROW_QUANTS;
    long ss = Q8_ROW_SCALE;
    FloatVector zero = FloatVector.zero(F);
    FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    // over the block index k, to which every offset (quants 128 k, scales 16 k) is linear: C2 then
    // removes the bounds checks of the scale loads too (c / 8 hid them from it)
    for (int k = 0; k < cols / 32; k++) {
      int c = 32 * k;
      // The block's two 16-lane vectors written out: an inner loop here keeps C2 from removing the
      // bounds checks of the outer one (range checks are eliminated in innermost loops only),
      // which then spilled and re-checked every address per block. Same order as the loop.
      long q = q0 + (long) Q8_GROUP_QUANTS * k;
      FloatVector v = FloatVector.fromArray(F, x, x0 + c);
      FloatVector p0 = i8(w, q).fma(v, zero);
      FloatVector p1 = i8(w, q + qs).fma(v, zero);
      FloatVector p2 = i8(w, q + 2 * qs).fma(v, zero);
      FloatVector p3 = i8(w, q + 3 * qs).fma(v, zero);
      v = FloatVector.fromArray(F, x, x0 + c + 16);
      p0 = i8(w, q + 16).fma(v, p0);
      p1 = i8(w, q + qs + 16).fma(v, p1);
      p2 = i8(w, q + 2 * qs + 16).fma(v, p2);
      p3 = i8(w, q + 3 * qs + 16).fma(v, p3);
      long s = s0 + (long) Q8_GROUP_SCALES * k;
      a0 = p0.fma(FloatVector.broadcast(F, w.get(SafeTensors.F32, s)), a0);
      a1 = p1.fma(FloatVector.broadcast(F, w.get(SafeTensors.F32, s + ss)), a1);
      a2 = p2.fma(FloatVector.broadcast(F, w.get(SafeTensors.F32, s + 2 * ss)), a2);
      a3 = p3.fma(FloatVector.broadcast(F, w.get(SafeTensors.F32, s + 3 * ss)), a3);
    }
    reduce4(res, a0, a1, a2, a3);
  }

  /**
   * res[off] and res[off + 4]: weight rows 0 and 1 of a group (block quants at q0 and q0 + 32,
   * scales at s0 and s0 + 4), summed in q8x1's order.
   */
  private static void q8x2(
      MemorySegment w, long q0, long s0, int cols, float[] x, int x0, float[] res, int off) {
    long qs = Q8_ROW_QUANTS;
    FloatVector zero = FloatVector.zero(F);
    FloatVector a0 = zero, a1 = zero;
    for (int k = 0; k < cols / 32; k++) {
      int c = 32 * k;
      long q = q0 + (long) Q8_GROUP_QUANTS * k;
      FloatVector p0 = zero, p1 = zero;
      if (L == 8) {
        // written out, as in q8x1
        FloatVector v;
        v = FloatVector.fromArray(F, x, x0 + c);
        p0 = i8(w, q).fma(v, p0);
        p1 = i8(w, q + qs).fma(v, p1);
        v = FloatVector.fromArray(F, x, x0 + c + 8);
        p0 = i8(w, q + 8).fma(v, p0);
        p1 = i8(w, q + qs + 8).fma(v, p1);
        v = FloatVector.fromArray(F, x, x0 + c + 16);
        p0 = i8(w, q + 16).fma(v, p0);
        p1 = i8(w, q + qs + 16).fma(v, p1);
        v = FloatVector.fromArray(F, x, x0 + c + 24);
        p0 = i8(w, q + 24).fma(v, p0);
        p1 = i8(w, q + qs + 24).fma(v, p1);
      } else {
        for (int e = 0; e < 32; e += L) {
          FloatVector v = FloatVector.fromArray(F, x, x0 + c + e);
          p0 = i8(w, q + e).fma(v, p0);
          p1 = i8(w, q + qs + e).fma(v, p1);
        }
      }
      long s = s0 + (long) Q8_GROUP_SCALES * k;
      a0 = p0.fma(FloatVector.broadcast(F, w.get(SafeTensors.F32, s)), a0);
      a1 = p1.fma(FloatVector.broadcast(F, w.get(SafeTensors.F32, s + Q8_ROW_SCALE)), a1);
    }
    res[off] = sum(a0);
    res[off + 4] = sum(a1);
  }

  /** The sum of v's lanes. */
  static float sum(FloatVector v) {
    return v.reduceLanes(VectorOperators.ADD);
  }

  private static void reduce4(
      float[] res, FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
    res[0] = sum(a0);
    res[4] = sum(a1);
    res[8] = sum(a2);
    res[12] = sum(a3);
  }

  private static void reduce16(
      float[] res,
      FloatVector a00,
      FloatVector a01,
      FloatVector a02,
      FloatVector a03,
      FloatVector a10,
      FloatVector a11,
      FloatVector a12,
      FloatVector a13,
      FloatVector a20,
      FloatVector a21,
      FloatVector a22,
      FloatVector a23,
      FloatVector a30,
      FloatVector a31,
      FloatVector a32,
      FloatVector a33) {
    res[0] = sum(a00);
    res[1] = sum(a01);
    res[2] = sum(a02);
    res[3] = sum(a03);
    res[4] = sum(a10);
    res[5] = sum(a11);
    res[6] = sum(a12);
    res[7] = sum(a13);
    res[8] = sum(a20);
    res[9] = sum(a21);
    res[10] = sum(a22);
    res[11] = sum(a23);
    res[12] = sum(a30);
    res[13] = sum(a31);
    res[14] = sum(a32);
    res[15] = sum(a33);
  }
}
