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
      for (; j + TILE <= to; j += TILE) {
        int t = t0;
        for (; t + 4 <= t1; t += 4) {
          tile(m, j, x, t * in, in, 4, res);
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
    long rb = m.rowBytes();
    long r0 = j * rb;
    int cols = m.cols();
    switch (m.format()) {
      case F32 -> {
        if (us == 4) {
          f32x4(w, r0, rb, cols, x, x0, xs, res);
        } else {
          f32x1(w, r0, rb, cols, x, x0, res);
        }
      }
      case BF16 -> {
        if (us == 4) {
          bf16x4(w, r0, rb, cols, x, x0, xs, res);
        } else {
          bf16x1(w, r0, rb, cols, x, x0, res);
        }
      }
      case Q8_0 -> {
        if (us == 4) {
          q8x4(w, r0, rb, cols, x, x0, xs, res);
        } else {
          q8x1(w, r0, rb, cols, x, x0, res);
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

  private static FloatVector q8(MemorySegment w, long off, FloatVector scale) {
    return ((FloatVector)
            ByteVector.fromMemorySegment(B, w, off, LE).convertShape(VectorOperators.B2F, F, 0))
        .mul(scale);
  }

  private static float scale(MemorySegment w, long off) {
    return Float.float16ToFloat(w.get(SafeTensors.U16, off));
  }

  private static void f32x4(
      MemorySegment w, long r0, long rb, int cols, float[] x, int x0, int xs, float[] res) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + 4L * i;
      FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
      FloatVector v1 = FloatVector.fromArray(F, x, x0 + xs + i);
      FloatVector v2 = FloatVector.fromArray(F, x, x0 + 2 * xs + i);
      FloatVector v3 = FloatVector.fromArray(F, x, x0 + 3 * xs + i);
      FloatVector w0 = f32(w, o);
      a00 = w0.fma(v0, a00);
      a01 = w0.fma(v1, a01);
      a02 = w0.fma(v2, a02);
      a03 = w0.fma(v3, a03);
      FloatVector w1 = f32(w, o + rb);
      a10 = w1.fma(v0, a10);
      a11 = w1.fma(v1, a11);
      a12 = w1.fma(v2, a12);
      a13 = w1.fma(v3, a13);
      FloatVector w2 = f32(w, o + 2 * rb);
      a20 = w2.fma(v0, a20);
      a21 = w2.fma(v1, a21);
      a22 = w2.fma(v2, a22);
      a23 = w2.fma(v3, a23);
      FloatVector w3 = f32(w, o + 3 * rb);
      a30 = w3.fma(v0, a30);
      a31 = w3.fma(v1, a31);
      a32 = w3.fma(v2, a32);
      a33 = w3.fma(v3, a33);
    }
    reduce16(res, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    if (bound < cols) {
      for (int k = 0; k < 4; k++) {
        for (int u = 0; u < 4; u++) {
          float s = res[k * 4 + u];
          for (int i = bound; i < cols; i++) {
            s += w.get(SafeTensors.F32, r0 + k * rb + 4L * i) * x[x0 + u * xs + i];
          }
          res[k * 4 + u] = s;
        }
      }
    }
  }

  private static void f32x1(
      MemorySegment w, long r0, long rb, int cols, float[] x, int x0, float[] res) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + 4L * i;
      FloatVector v = FloatVector.fromArray(F, x, x0 + i);
      a0 = f32(w, o).fma(v, a0);
      a1 = f32(w, o + rb).fma(v, a1);
      a2 = f32(w, o + 2 * rb).fma(v, a2);
      a3 = f32(w, o + 3 * rb).fma(v, a3);
    }
    reduce4(res, a0, a1, a2, a3);
    for (int k = 0; bound < cols && k < 4; k++) {
      float s = res[k * 4];
      for (int i = bound; i < cols; i++) {
        s += w.get(SafeTensors.F32, r0 + k * rb + 4L * i) * x[x0 + i];
      }
      res[k * 4] = s;
    }
  }

  private static void bf16x4(
      MemorySegment w, long r0, long rb, int cols, float[] x, int x0, int xs, float[] res) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + 2L * i;
      FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
      FloatVector v1 = FloatVector.fromArray(F, x, x0 + xs + i);
      FloatVector v2 = FloatVector.fromArray(F, x, x0 + 2 * xs + i);
      FloatVector v3 = FloatVector.fromArray(F, x, x0 + 3 * xs + i);
      FloatVector w0 = bf16(w, o);
      a00 = w0.fma(v0, a00);
      a01 = w0.fma(v1, a01);
      a02 = w0.fma(v2, a02);
      a03 = w0.fma(v3, a03);
      FloatVector w1 = bf16(w, o + rb);
      a10 = w1.fma(v0, a10);
      a11 = w1.fma(v1, a11);
      a12 = w1.fma(v2, a12);
      a13 = w1.fma(v3, a13);
      FloatVector w2 = bf16(w, o + 2 * rb);
      a20 = w2.fma(v0, a20);
      a21 = w2.fma(v1, a21);
      a22 = w2.fma(v2, a22);
      a23 = w2.fma(v3, a23);
      FloatVector w3 = bf16(w, o + 3 * rb);
      a30 = w3.fma(v0, a30);
      a31 = w3.fma(v1, a31);
      a32 = w3.fma(v2, a32);
      a33 = w3.fma(v3, a33);
    }
    reduce16(res, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    if (bound < cols) {
      scalarTail(w, r0, rb, RowMatrix.Format.BF16, bound, cols, x, x0, xs, 4, res);
    }
  }

  private static void bf16x1(
      MemorySegment w, long r0, long rb, int cols, float[] x, int x0, float[] res) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int bound = F.loopBound(cols);
    for (int i = 0; i < bound; i += L) {
      long o = r0 + 2L * i;
      FloatVector v = FloatVector.fromArray(F, x, x0 + i);
      a0 = bf16(w, o).fma(v, a0);
      a1 = bf16(w, o + rb).fma(v, a1);
      a2 = bf16(w, o + 2 * rb).fma(v, a2);
      a3 = bf16(w, o + 3 * rb).fma(v, a3);
    }
    reduce4(res, a0, a1, a2, a3);
    if (bound < cols) {
      scalarTail(w, r0, rb, RowMatrix.Format.BF16, bound, cols, x, x0, 0, 1, res);
    }
  }

  /** Adds the columns {@code [bound, cols)} of a bf16 tile, in the same order in any tile. */
  private static void scalarTail(
      MemorySegment w,
      long r0,
      long rb,
      RowMatrix.Format f,
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
          float wv =
              Float.intBitsToFloat((w.get(SafeTensors.U16, r0 + k * rb + 2L * i) & 0xffff) << 16);
          s += wv * x[x0 + u * xs + i];
        }
        res[k * 4 + u] = s;
      }
    }
  }

  private static void q8x4(
      MemorySegment w, long r0, long rb, int cols, float[] x, int x0, int xs, float[] res) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int c = 0; c < cols; c += 32) {
      long o = r0 + (c / 32) * 34L;
      FloatVector d0 = FloatVector.broadcast(F, scale(w, o));
      FloatVector d1 = FloatVector.broadcast(F, scale(w, o + rb));
      FloatVector d2 = FloatVector.broadcast(F, scale(w, o + 2 * rb));
      FloatVector d3 = FloatVector.broadcast(F, scale(w, o + 3 * rb));
      for (int e = 0; e < 32; e += L) {
        int i = c + e;
        long q = o + 2 + e;
        FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
        FloatVector v1 = FloatVector.fromArray(F, x, x0 + xs + i);
        FloatVector v2 = FloatVector.fromArray(F, x, x0 + 2 * xs + i);
        FloatVector v3 = FloatVector.fromArray(F, x, x0 + 3 * xs + i);
        FloatVector w0 = q8(w, q, d0);
        a00 = w0.fma(v0, a00);
        a01 = w0.fma(v1, a01);
        a02 = w0.fma(v2, a02);
        a03 = w0.fma(v3, a03);
        FloatVector w1 = q8(w, q + rb, d1);
        a10 = w1.fma(v0, a10);
        a11 = w1.fma(v1, a11);
        a12 = w1.fma(v2, a12);
        a13 = w1.fma(v3, a13);
        FloatVector w2 = q8(w, q + 2 * rb, d2);
        a20 = w2.fma(v0, a20);
        a21 = w2.fma(v1, a21);
        a22 = w2.fma(v2, a22);
        a23 = w2.fma(v3, a23);
        FloatVector w3 = q8(w, q + 3 * rb, d3);
        a30 = w3.fma(v0, a30);
        a31 = w3.fma(v1, a31);
        a32 = w3.fma(v2, a32);
        a33 = w3.fma(v3, a33);
      }
    }
    reduce16(res, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
  }

  private static void q8x1(
      MemorySegment w, long r0, long rb, int cols, float[] x, int x0, float[] res) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    for (int c = 0; c < cols; c += 32) {
      long o = r0 + (c / 32) * 34L;
      FloatVector d0 = FloatVector.broadcast(F, scale(w, o));
      FloatVector d1 = FloatVector.broadcast(F, scale(w, o + rb));
      FloatVector d2 = FloatVector.broadcast(F, scale(w, o + 2 * rb));
      FloatVector d3 = FloatVector.broadcast(F, scale(w, o + 3 * rb));
      for (int e = 0; e < 32; e += L) {
        long q = o + 2 + e;
        FloatVector v = FloatVector.fromArray(F, x, x0 + c + e);
        a0 = q8(w, q, d0).fma(v, a0);
        a1 = q8(w, q + rb, d1).fma(v, a1);
        a2 = q8(w, q + 2 * rb, d2).fma(v, a2);
        a3 = q8(w, q + 3 * rb, d3).fma(v, a3);
      }
    }
    reduce4(res, a0, a1, a2, a3);
  }

  private static void reduce4(
      float[] res, FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
    res[0] = a0.reduceLanes(VectorOperators.ADD);
    res[4] = a1.reduceLanes(VectorOperators.ADD);
    res[8] = a2.reduceLanes(VectorOperators.ADD);
    res[12] = a3.reduceLanes(VectorOperators.ADD);
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
    res[0] = a00.reduceLanes(VectorOperators.ADD);
    res[1] = a01.reduceLanes(VectorOperators.ADD);
    res[2] = a02.reduceLanes(VectorOperators.ADD);
    res[3] = a03.reduceLanes(VectorOperators.ADD);
    res[4] = a10.reduceLanes(VectorOperators.ADD);
    res[5] = a11.reduceLanes(VectorOperators.ADD);
    res[6] = a12.reduceLanes(VectorOperators.ADD);
    res[7] = a13.reduceLanes(VectorOperators.ADD);
    res[8] = a20.reduceLanes(VectorOperators.ADD);
    res[9] = a21.reduceLanes(VectorOperators.ADD);
    res[10] = a22.reduceLanes(VectorOperators.ADD);
    res[11] = a23.reduceLanes(VectorOperators.ADD);
    res[12] = a30.reduceLanes(VectorOperators.ADD);
    res[13] = a31.reduceLanes(VectorOperators.ADD);
    res[14] = a32.reduceLanes(VectorOperators.ADD);
    res[15] = a33.reduceLanes(VectorOperators.ADD);
  }
}
