package dev.kiln.llm;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products over {@link RowMatrix} weights with fp32 activations and fp32 accumulation.
 *
 * <p>F32, BF16 and Q8_0 are stored in {@linkplain RowMatrix#P column panels} of P = 4L rows, so a
 * kernel computes a panel's P output features as 4 vector accumulators and broadcasts one
 * activation per column, as a GEMM microkernel does. Every output element is one chain: its start
 * (bias, plus the old value when accumulating), then per column in order a fused multiply-add (F32,
 * BF16); for Q8_0, per 32-column block, the chain of the block's products from zero, added times
 * the block's scale. There are no lane sums to reduce, and the chain is the same whether one
 * activation row runs (the {@code x1} kernels, a decode step, streaming the panel from memory; F32
 * and BF16 two panels side by side, {@code x2}, as two memory streams) or a tile of several ({@link
 * Kernels#panelTile}, {@link #q8Tile}: prefill and batched steps; 4 rows by 4 vectors with 32
 * vector registers, 5 rows by half a panel then 2 by 4 with AVX2's 16; each weight vector loaded
 * once for the tile's rows, each activation broadcast once for its vectors), so results do not
 * depend on the batch, bit for bit. With {@link #TOKENS} or more activation rows the panel's
 * columns are taken {@value #KB} at a time and widened to floats once into the worker's scratch (16
 * KB with 16 lanes, in L1), where every tile of the step reads them.
 *
 * <p>{@link RowMatrix.Format#F32_ROWS} (the mapped safetensors embeddings, used as the tied head)
 * keeps the file's row-major layout: tiles of 4 weight rows dotted with 4 activation rows, the
 * lanes reduced at the end.
 */
final class RowKernels {
  static final VectorSpecies<Float> F = Kernels.SPECIES;
  static final int L = Kernels.LANES;
  // Same lane count as F: L shorts (bf16) and L bytes (int8) widen to one float vector.
  static final VectorSpecies<Short> S =
      VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
  static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
  static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));

  /** Weight rows of an F32_ROWS tile. */
  static final int TILE = 4;

  static final int T_BLOCK = 64;
  static final int P = RowMatrix.P;

  /** Columns of a panel widened to floats at a time (a multiple of Q8_0's 32). */
  static final int KB = 64;

  /** Activation rows of the head taken at once: their chains are kept in the scratch. */
  static final int HEAD_ROWS = 16;

  /**
   * Activation rows of a tile: 4 (16 accumulators, 21 live vectors) with AVX-512's 32 vector
   * registers, 2 (8 accumulators) with AVX2's 16, where 4 spill.
   */
  static final int TOKENS = L >= 16 ? 4 : 2;

  private static final int PANEL_AT = HEAD_ROWS * P;

  /** Floats of a worker's scratch: the head's chains, then a widened panel block. */
  static final int SCRATCH = PANEL_AT + KB * P;

  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private RowKernels() {}

  /**
   * Columns {@code [from, to)} of {@code out[t] = W x[t] + bias (+ out[t])}, t < rows; {@code from}
   * a multiple of {@link RowMatrix#grain}, {@code s} the worker's scratch of {@link #SCRATCH}
   * floats (nothing is allocated per call).
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
      float[] s) {
    if (m.format() == RowMatrix.Format.F32_ROWS) {
      rowsMultiply(m, out, x, rows, bias, accumulate, from, to, s);
      return;
    }
    if (from % P != 0) {
      throw new IllegalArgumentException("columns from " + from + ", not a panel's first");
    }
    int n = m.rows();
    int cols = m.cols();
    for (int j = from; j < to; j += P) {
      int valid = Math.min(P, to - j);
      if (rows == 1 && j + 2 * P <= to && m.format() != RowMatrix.Format.Q8_0) {
        // a decode step: two panels, two memory streams (Q8_0 is bound by its int8 conversions
        // instead, and ran 4% slower so on Zen 3)
        Kernels.start(out, j, bias, j, accumulate);
        Kernels.start(out, j + P, bias, j + P, accumulate);
        long base = j / P * m.panelBytes();
        if (m.format() == RowMatrix.Format.F32) {
          f32x2(m.data(), base, m.panelBytes(), x, cols, out, j);
        } else {
          bf16x2(m.data(), base, m.panelBytes(), x, cols, out, j);
        }
        j += P;
      } else if (valid == P) {
        for (int t = 0; t < rows; t++) {
          Kernels.start(out, t * n + j, bias, j, accumulate); // P = 4 LANES
        }
        product(m, j / P, x, 0, rows, out, j, n, s);
      } else {
        // the last panel's padding rows have no room in out: their chains in the scratch
        for (int t = 0; t < rows; t++) {
          int o = t * n + j;
          for (int l = 0; l < P; l++) {
            float v = l < valid && bias != null ? bias[j + l] : 0f;
            s[l] = l < valid && accumulate ? out[o + l] + v : v;
          }
          product(m, j / P, x, t * cols, 1, s, 0, P, s);
          System.arraycopy(s, 0, out, o, valid);
        }
      }
    }
  }

  /**
   * Adds panel g's products to the chains of activation rows t < rows (row t's activations at
   * {@code x0 + t cols}, its P chains at {@code acc[a0 + t as, + P)}).
   */
  private static void product(
      RowMatrix m, int g, float[] x, int x0, int rows, float[] acc, int a0, int as, float[] s) {
    int cols = m.cols();
    MemorySegment w = m.data();
    long base = g * m.panelBytes();
    RowMatrix.Format f = m.format();
    if (rows < TOKENS) {
      for (int t = 0; t < rows; t++) {
        x1(f, w, base, x, x0 + t * cols, 0, cols, acc, a0 + t * as);
      }
      return;
    }
    for (int c0 = 0; c0 < cols; c0 += KB) {
      int c1 = Math.min(cols, c0 + KB);
      widen(f, w, base, c0, c1, s);
      int t = 0;
      if (TOKENS == 2) { // AVX2: five rows by half a panel at a time first
        for (; t + 5 <= rows; t += 5) {
          for (int h = 0; h < P; h += 2 * L) {
            if (f == RowMatrix.Format.Q8_0) {
              q8Tile5(w, base, s, x, x0 + t * cols, cols, c0, c1, acc, a0 + t * as + h, as, h);
            } else {
              Kernels.panelTile5(
                  acc, a0 + t * as + h, as, x, x0 + t * cols, cols, s, PANEL_AT + h, c0, c1);
            }
          }
        }
      }
      for (; t + TOKENS <= rows; t += TOKENS) {
        if (f == RowMatrix.Format.Q8_0 && TOKENS == 4) {
          q8Tile(w, base, s, x, x0 + t * cols, cols, c0, c1, acc, a0 + t * as, as);
        } else if (f == RowMatrix.Format.Q8_0) {
          q8Tile2(w, base, s, x, x0 + t * cols, cols, c0, c1, acc, a0 + t * as, as);
        } else if (TOKENS == 4) {
          Kernels.panelTile(acc, a0 + t * as, as, x, x0 + t * cols, cols, s, PANEL_AT, c0, c1);
        } else {
          Kernels.panelTile2(acc, a0 + t * as, as, x, x0 + t * cols, cols, s, PANEL_AT, c0, c1);
        }
      }
      for (; t < rows; t++) {
        x1(f, w, base, x, x0 + t * cols, c0, c1, acc, a0 + t * as);
      }
    }
  }

  /**
   * Rows {@code [from, to)} of {@code out[b] = W x_b} for {@code batch} vectors {@code x_b = x[b *
   * cols, (b + 1) * cols)}: the tied output head of a step, each weight panel read once for all.
   */
  static void head(RowMatrix m, float[][] out, int batch, float[] x, int from, int to, float[] s) {
    if (m.format() == RowMatrix.Format.F32_ROWS) {
      rowsHead(m, out, batch, x, from, to, s);
      return;
    }
    int d = m.cols();
    for (int j = from; j < to; j += P) {
      int valid = Math.min(P, to - j);
      for (int b0 = 0; b0 < batch; b0 += HEAD_ROWS) {
        int nb = Math.min(HEAD_ROWS, batch - b0);
        Arrays.fill(s, 0, nb * P, 0f);
        product(m, j / P, x, b0 * d, nb, s, 0, P, s);
        for (int u = 0; u < nb; u++) {
          System.arraycopy(s, u * P, out[b0 + u], j, valid);
        }
      }
    }
  }

  /**
   * One activation row (at x0) times columns {@code [c0, c1)} of the panel at base into acc[a..].
   */
  private static void x1(
      RowMatrix.Format f,
      MemorySegment w,
      long base,
      float[] x,
      int x0,
      int c0,
      int c1,
      float[] acc,
      int a) {
    switch (f) {
      case F32 -> f32x1(w, base, x, x0, c0, c1, acc, a);
      case BF16 -> bf16x1(w, base, x, x0, c0, c1, acc, a);
      case Q8_0 -> q8x1(w, base, x, x0, c0, c1, acc, a);
      case F32_ROWS -> throw new AssertionError(f);
    }
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

  private static void f32x1(
      MemorySegment w, long base, float[] x, int x0, int c0, int c1, float[] acc, int a) {
    FloatVector a0 = FloatVector.fromArray(F, acc, a);
    FloatVector a1 = FloatVector.fromArray(F, acc, a + L);
    FloatVector a2 = FloatVector.fromArray(F, acc, a + 2 * L);
    FloatVector a3 = FloatVector.fromArray(F, acc, a + 3 * L);
    for (int c = c0; c < c1; c++) {
      long o = base + 4L * P * c;
      FloatVector v = FloatVector.broadcast(F, x[x0 + c]);
      a0 = f32(w, o).fma(v, a0);
      a1 = f32(w, o + 4L * L).fma(v, a1);
      a2 = f32(w, o + 8L * L).fma(v, a2);
      a3 = f32(w, o + 12L * L).fma(v, a3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + L);
    a2.intoArray(acc, a + 2 * L);
    a3.intoArray(acc, a + 3 * L);
  }

  /**
   * {@link #f32x1} over all columns of two adjacent panels (the second {@code pb} bytes on, its
   * chains at {@code acc[a + P..]}) at once: the same chains, read as two memory streams. One
   * sequential stream per core is limited by how far ahead the hardware prefetcher runs (6-7 GB/s
   * on a Zen 3 core, about twice that with two).
   */
  private static void f32x2(
      MemorySegment w, long base, long pb, float[] x, int cols, float[] acc, int a) {
    FloatVector a0 = FloatVector.fromArray(F, acc, a);
    FloatVector a1 = FloatVector.fromArray(F, acc, a + L);
    FloatVector a2 = FloatVector.fromArray(F, acc, a + 2 * L);
    FloatVector a3 = FloatVector.fromArray(F, acc, a + 3 * L);
    FloatVector b0 = FloatVector.fromArray(F, acc, a + P);
    FloatVector b1 = FloatVector.fromArray(F, acc, a + P + L);
    FloatVector b2 = FloatVector.fromArray(F, acc, a + P + 2 * L);
    FloatVector b3 = FloatVector.fromArray(F, acc, a + P + 3 * L);
    for (int c = 0; c < cols; c++) {
      long o = base + 4L * P * c;
      long q = o + pb;
      FloatVector v = FloatVector.broadcast(F, x[c]);
      a0 = f32(w, o).fma(v, a0);
      b0 = f32(w, q).fma(v, b0);
      a1 = f32(w, o + 4L * L).fma(v, a1);
      b1 = f32(w, q + 4L * L).fma(v, b1);
      a2 = f32(w, o + 8L * L).fma(v, a2);
      b2 = f32(w, q + 8L * L).fma(v, b2);
      a3 = f32(w, o + 12L * L).fma(v, a3);
      b3 = f32(w, q + 12L * L).fma(v, b3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + L);
    a2.intoArray(acc, a + 2 * L);
    a3.intoArray(acc, a + 3 * L);
    b0.intoArray(acc, a + P);
    b1.intoArray(acc, a + P + L);
    b2.intoArray(acc, a + P + 2 * L);
    b3.intoArray(acc, a + P + 3 * L);
  }

  /** {@link #bf16x1} as {@link #f32x2}: two panels, two streams. */
  private static void bf16x2(
      MemorySegment w, long base, long pb, float[] x, int cols, float[] acc, int a) {
    FloatVector a0 = FloatVector.fromArray(F, acc, a);
    FloatVector a1 = FloatVector.fromArray(F, acc, a + L);
    FloatVector a2 = FloatVector.fromArray(F, acc, a + 2 * L);
    FloatVector a3 = FloatVector.fromArray(F, acc, a + 3 * L);
    FloatVector b0 = FloatVector.fromArray(F, acc, a + P);
    FloatVector b1 = FloatVector.fromArray(F, acc, a + P + L);
    FloatVector b2 = FloatVector.fromArray(F, acc, a + P + 2 * L);
    FloatVector b3 = FloatVector.fromArray(F, acc, a + P + 3 * L);
    for (int c = 0; c < cols; c++) {
      long o = base + 2L * P * c;
      long q = o + pb;
      FloatVector v = FloatVector.broadcast(F, x[c]);
      a0 = bf16(w, o).fma(v, a0);
      b0 = bf16(w, q).fma(v, b0);
      a1 = bf16(w, o + 2L * L).fma(v, a1);
      b1 = bf16(w, q + 2L * L).fma(v, b1);
      a2 = bf16(w, o + 4L * L).fma(v, a2);
      b2 = bf16(w, q + 4L * L).fma(v, b2);
      a3 = bf16(w, o + 6L * L).fma(v, a3);
      b3 = bf16(w, q + 6L * L).fma(v, b3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + L);
    a2.intoArray(acc, a + 2 * L);
    a3.intoArray(acc, a + 3 * L);
    b0.intoArray(acc, a + P);
    b1.intoArray(acc, a + P + L);
    b2.intoArray(acc, a + P + 2 * L);
    b3.intoArray(acc, a + P + 3 * L);
  }

  private static void bf16x1(
      MemorySegment w, long base, float[] x, int x0, int c0, int c1, float[] acc, int a) {
    FloatVector a0 = FloatVector.fromArray(F, acc, a);
    FloatVector a1 = FloatVector.fromArray(F, acc, a + L);
    FloatVector a2 = FloatVector.fromArray(F, acc, a + 2 * L);
    FloatVector a3 = FloatVector.fromArray(F, acc, a + 3 * L);
    for (int c = c0; c < c1; c++) {
      long o = base + 2L * P * c;
      FloatVector v = FloatVector.broadcast(F, x[x0 + c]);
      a0 = bf16(w, o).fma(v, a0);
      a1 = bf16(w, o + 2L * L).fma(v, a1);
      a2 = bf16(w, o + 4L * L).fma(v, a2);
      a3 = bf16(w, o + 6L * L).fma(v, a3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + L);
    a2.intoArray(acc, a + 2 * L);
    a3.intoArray(acc, a + 3 * L);
  }

  /**
   * Q8_0: columns c0..c1 are whole 32-blocks (block k's quants at base + k B, column e's at + e P).
   */
  private static void q8x1(
      MemorySegment w, long base, float[] x, int x0, int c0, int c1, float[] acc, int a) {
    FloatVector zero = FloatVector.zero(F);
    FloatVector a0 = FloatVector.fromArray(F, acc, a);
    FloatVector a1 = FloatVector.fromArray(F, acc, a + L);
    FloatVector a2 = FloatVector.fromArray(F, acc, a + 2 * L);
    FloatVector a3 = FloatVector.fromArray(F, acc, a + 3 * L);
    for (int k = c0 / 32; k < c1 / 32; k++) {
      long blk = base + k * RowMatrix.Q8_PANEL_BLOCK;
      int c = x0 + 32 * k;
      FloatVector p0 = zero, p1 = zero, p2 = zero, p3 = zero;
      for (int e = 0; e < 32; e++) {
        long q = blk + (long) P * e;
        FloatVector v = FloatVector.broadcast(F, x[c + e]);
        p0 = i8(w, q).fma(v, p0);
        p1 = i8(w, q + L).fma(v, p1);
        p2 = i8(w, q + 2 * L).fma(v, p2);
        p3 = i8(w, q + 3 * L).fma(v, p3);
      }
      long d = blk + 32L * P;
      a0 = p0.fma(f32(w, d), a0);
      a1 = p1.fma(f32(w, d + 4L * L), a1);
      a2 = p2.fma(f32(w, d + 8L * L), a2);
      a3 = p3.fma(f32(w, d + 12L * L), a3);
    }
    a0.intoArray(acc, a);
    a1.intoArray(acc, a + L);
    a2.intoArray(acc, a + 2 * L);
    a3.intoArray(acc, a + 3 * L);
  }

  /** Columns {@code [c0, c1)} of the panel at base as floats (unscaled quants for Q8_0) in s. */
  private static void widen(
      RowMatrix.Format f, MemorySegment w, long base, int c0, int c1, float[] s) {
    switch (f) {
      case F32 ->
          MemorySegment.copy(w, SafeTensors.F32, base + 4L * P * c0, s, PANEL_AT, (c1 - c0) * P);
      case BF16 -> {
        for (int c = c0; c < c1; c++) {
          long o = base + 2L * P * c;
          int p = PANEL_AT + (c - c0) * P;
          for (int v = 0; v < P; v += L) {
            bf16(w, o + 2L * v).intoArray(s, p + v);
          }
        }
      }
      case Q8_0 -> {
        for (int c = c0; c < c1; c++) {
          long q = base + c / 32 * RowMatrix.Q8_PANEL_BLOCK + (long) (c % 32) * P;
          int p = PANEL_AT + (c - c0) * P;
          for (int v = 0; v < P; v += L) {
            i8(w, q + v).intoArray(s, p + v);
          }
        }
      }
      case F32_ROWS -> throw new AssertionError(f);
    }
  }

  /**
   * {@link Kernels#panelTile} for Q8_0: per 32-block of the widened columns {@code [c0, c1)}, the
   * 16 block sums from zero, then each added times its row's scale (from the panel at base) to its
   * chain in acc, as {@link #q8x1} does.
   */
  private static void q8Tile(
      MemorySegment w,
      long base,
      float[] s,
      float[] x,
      int x0,
      int xs,
      int c0,
      int c1,
      float[] acc,
      int a,
      int as) {
    FloatVector zero = FloatVector.zero(F);
    for (int k = c0 / 32; k < c1 / 32; k++) {
      FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero;
      FloatVector a10 = zero, a11 = zero, a12 = zero, a13 = zero;
      FloatVector a20 = zero, a21 = zero, a22 = zero, a23 = zero;
      FloatVector a30 = zero, a31 = zero, a32 = zero, a33 = zero;
      int p = PANEL_AT + (32 * k - c0) * P;
      for (int i = 32 * k; i < 32 * k + 32; i++, p += P) {
        FloatVector w0 = FloatVector.fromArray(F, s, p);
        FloatVector w1 = FloatVector.fromArray(F, s, p + L);
        FloatVector w2 = FloatVector.fromArray(F, s, p + 2 * L);
        FloatVector w3 = FloatVector.fromArray(F, s, p + 3 * L);
        FloatVector v0 = FloatVector.broadcast(F, x[x0 + i]);
        a00 = w0.fma(v0, a00);
        a01 = w1.fma(v0, a01);
        a02 = w2.fma(v0, a02);
        a03 = w3.fma(v0, a03);
        FloatVector v1 = FloatVector.broadcast(F, x[x0 + xs + i]);
        a10 = w0.fma(v1, a10);
        a11 = w1.fma(v1, a11);
        a12 = w2.fma(v1, a12);
        a13 = w3.fma(v1, a13);
        FloatVector v2 = FloatVector.broadcast(F, x[x0 + 2 * xs + i]);
        a20 = w0.fma(v2, a20);
        a21 = w1.fma(v2, a21);
        a22 = w2.fma(v2, a22);
        a23 = w3.fma(v2, a23);
        FloatVector v3 = FloatVector.broadcast(F, x[x0 + 3 * xs + i]);
        a30 = w0.fma(v3, a30);
        a31 = w1.fma(v3, a31);
        a32 = w2.fma(v3, a32);
        a33 = w3.fma(v3, a33);
      }
      // written out: a helper taking the sums as arguments was not inlined, and boxed them
      long d = base + k * RowMatrix.Q8_PANEL_BLOCK + 32L * P;
      FloatVector d0 = f32(w, d);
      FloatVector d1 = f32(w, d + 4L * L);
      FloatVector d2 = f32(w, d + 8L * L);
      FloatVector d3 = f32(w, d + 12L * L);
      int o = a;
      a00.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a01.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      a02.fma(d2, FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
      a03.fma(d3, FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
      o += as;
      a10.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a11.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      a12.fma(d2, FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
      a13.fma(d3, FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
      o += as;
      a20.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a21.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      a22.fma(d2, FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
      a23.fma(d3, FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
      o += as;
      a30.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a31.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      a32.fma(d2, FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
      a33.fma(d3, FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
    }
  }

  /**
   * {@link #q8Tile} as {@link Kernels#panelTile5}: five activation rows by the two column vectors
   * at {@code h} (0 or 2 L) of the panel, ten block sums.
   */
  private static void q8Tile5(
      MemorySegment w,
      long base,
      float[] s,
      float[] x,
      int x0,
      int xs,
      int c0,
      int c1,
      float[] acc,
      int a,
      int as,
      int h) {
    FloatVector zero = FloatVector.zero(F);
    int x1 = x0 + xs;
    int x2 = x1 + xs;
    int x3 = x2 + xs;
    int x4 = x3 + xs;
    for (int k = c0 / 32; k < c1 / 32; k++) {
      FloatVector a00 = zero, a01 = zero, a10 = zero, a11 = zero, a20 = zero, a21 = zero;
      FloatVector a30 = zero, a31 = zero, a40 = zero, a41 = zero;
      int p = PANEL_AT + (32 * k - c0) * P + h;
      for (int i = 32 * k; i < 32 * k + 32; i++, p += P) {
        FloatVector w0 = FloatVector.fromArray(F, s, p);
        FloatVector w1 = FloatVector.fromArray(F, s, p + L);
        FloatVector v = FloatVector.broadcast(F, x[x0 + i]);
        a00 = w0.fma(v, a00);
        a01 = w1.fma(v, a01);
        v = FloatVector.broadcast(F, x[x1 + i]);
        a10 = w0.fma(v, a10);
        a11 = w1.fma(v, a11);
        v = FloatVector.broadcast(F, x[x2 + i]);
        a20 = w0.fma(v, a20);
        a21 = w1.fma(v, a21);
        v = FloatVector.broadcast(F, x[x3 + i]);
        a30 = w0.fma(v, a30);
        a31 = w1.fma(v, a31);
        v = FloatVector.broadcast(F, x[x4 + i]);
        a40 = w0.fma(v, a40);
        a41 = w1.fma(v, a41);
      }
      long d = base + k * RowMatrix.Q8_PANEL_BLOCK + 32L * P + 4L * h;
      FloatVector d0 = f32(w, d);
      FloatVector d1 = f32(w, d + 4L * L);
      int o = a;
      a00.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a01.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      o += as;
      a10.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a11.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      o += as;
      a20.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a21.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      o += as;
      a30.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a31.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      o += as;
      a40.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a41.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
    }
  }

  /** {@link #q8Tile} for 2 activation rows, as {@link Kernels#panelTile2}. */
  private static void q8Tile2(
      MemorySegment w,
      long base,
      float[] s,
      float[] x,
      int x0,
      int xs,
      int c0,
      int c1,
      float[] acc,
      int a,
      int as) {
    FloatVector zero = FloatVector.zero(F);
    for (int k = c0 / 32; k < c1 / 32; k++) {
      FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero;
      FloatVector a10 = zero, a11 = zero, a12 = zero, a13 = zero;
      int p = PANEL_AT + (32 * k - c0) * P;
      for (int i = 32 * k; i < 32 * k + 32; i++, p += P) {
        FloatVector w0 = FloatVector.fromArray(F, s, p);
        FloatVector w1 = FloatVector.fromArray(F, s, p + L);
        FloatVector w2 = FloatVector.fromArray(F, s, p + 2 * L);
        FloatVector w3 = FloatVector.fromArray(F, s, p + 3 * L);
        FloatVector v0 = FloatVector.broadcast(F, x[x0 + i]);
        a00 = w0.fma(v0, a00);
        a01 = w1.fma(v0, a01);
        a02 = w2.fma(v0, a02);
        a03 = w3.fma(v0, a03);
        FloatVector v1 = FloatVector.broadcast(F, x[x0 + xs + i]);
        a10 = w0.fma(v1, a10);
        a11 = w1.fma(v1, a11);
        a12 = w2.fma(v1, a12);
        a13 = w3.fma(v1, a13);
      }
      long d = base + k * RowMatrix.Q8_PANEL_BLOCK + 32L * P;
      FloatVector d0 = f32(w, d);
      FloatVector d1 = f32(w, d + 4L * L);
      FloatVector d2 = f32(w, d + 8L * L);
      FloatVector d3 = f32(w, d + 12L * L);
      int o = a;
      a00.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a01.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      a02.fma(d2, FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
      a03.fma(d3, FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
      o += as;
      a10.fma(d0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
      a11.fma(d1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
      a12.fma(d2, FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
      a13.fma(d3, FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
    }
  }

  // ---- F32_ROWS: the file's row-major layout, dot products of 4 weight rows by 4 activations

  private static void rowsMultiply(
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

  private static void rowsHead(
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
    // the vector at column i of row k at r0 + 4 i + k rs; past the last whole vector, row k's
    // remaining columns from t0 + k rs
    MemorySegment w = m.data();
    long rs = m.rowStride();
    long r0 = j * rs;
    int cols = m.cols();
    int bound = F.loopBound(cols);
    long cs = 4;
    long t0 = r0 + cs * bound;
    if (us == 4 && L != 16) {
      pairx4(w, r0, cs, rs, cols, x, x0, xs, res, 0);
      pairx4(w, r0 + 2 * rs, cs, rs, cols, x, x0, xs, res, 8);
      if (bound < cols) {
        f32Tail(w, t0, rs, bound, cols, x, x0, xs, 4, res);
      }
    } else if (us == 4) {
      rowsf32x4(w, r0, cs, rs, t0, rs, cols, x, x0, xs, res);
    } else {
      rowsf32x1(w, r0, cs, rs, t0, rs, cols, x, x0, res);
    }
  }

  /** W_j . x[x0..]: the rows past the last whole tile. */
  static float dot(RowMatrix m, int j, float[] x, int x0) {
    float s = 0f;
    for (int c = 0; c < m.cols(); c++) {
      s += m.get(j, c) * x[x0 + c];
    }
    return s;
  }

  private static void rowsf32x4(
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

  private static void rowsf32x1(
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
   * The whole vectors of weight rows k < 2 (the vector at column i of row k at {@code r0 + cs i + k
   * rs}) and activation rows u < 4 into res[off + k * 4 + u], in {@link #rowsf32x4}'s order: its 16
   * accumulators and 5 operands spill from AVX2's 16 vector registers, 8 of them do not.
   */
  private static void pairx4(
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
