package dev.kiln.llm;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The arithmetic of the engine, vectorised with the Vector API. Activations are float arrays on the
 * heap; weights are little-endian F32 segments of the mapped model file. Each kernel works on a
 * slice of its output so that {@link Workers} can split it; none allocates.
 */
final class Kernels {
  /** Static final, or the JIT cannot constant-fold the lane count (about 100x slower). */
  static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  static final int LANES = SPECIES.length();
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private Kernels() {}

  /**
   * Columns {@code [colFrom, colTo)} of {@code out = x @ W + bias} (plus {@code out}'s old value
   * when {@code accumulate}, which is how the residual additions are fused in) for {@code rows}
   * rows of {@code x} at once. {@code W} is Conv1D-shaped {@code [in, outDim]}, so for each input
   * feature i the kernel broadcasts x[t, i] and adds it times the contiguous row W[i, j..] into
   * four vector accumulators: four independent FMA chains per column block.
   */
  static void matmul(
      float[] out,
      float[] x,
      int rows,
      int in,
      MemorySegment w,
      float[] bias,
      int outDim,
      boolean accumulate,
      int colFrom,
      int colTo) {
    int j = colFrom;
    for (; j + 4 * LANES <= colTo; j += 4 * LANES) {
      int t = 0;
      for (; t + 4 <= rows; t += 4) {
        if (accumulate) {
          tile4x4Add(out, x, t, in, w, bias, outDim, j);
        } else {
          tile4x4Set(out, x, t, in, w, bias, outDim, j);
        }
      }
      for (; t < rows; t++) {
        int o = t * outDim + j;
        FloatVector a0 = FloatVector.fromArray(SPECIES, bias, j);
        FloatVector a1 = FloatVector.fromArray(SPECIES, bias, j + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, bias, j + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, bias, j + 3 * LANES);
        int xr = t * in;
        for (int i = 0; i < in; i++) {
          FloatVector xi = FloatVector.broadcast(SPECIES, x[xr + i]);
          long base = ((long) i * outDim + j) * Float.BYTES;
          a0 = FloatVector.fromMemorySegment(SPECIES, w, base, LE).fma(xi, a0);
          a1 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 4L, LE).fma(xi, a1);
          a2 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 8L, LE).fma(xi, a2);
          a3 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 12L, LE).fma(xi, a3);
        }
        if (accumulate) {
          a0 = a0.add(FloatVector.fromArray(SPECIES, out, o));
          a1 = a1.add(FloatVector.fromArray(SPECIES, out, o + LANES));
          a2 = a2.add(FloatVector.fromArray(SPECIES, out, o + 2 * LANES));
          a3 = a3.add(FloatVector.fromArray(SPECIES, out, o + 3 * LANES));
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + LANES);
        a2.intoArray(out, o + 2 * LANES);
        a3.intoArray(out, o + 3 * LANES);
      }
    }
    for (; j + LANES <= colTo; j += LANES) {
      for (int t = 0; t < rows; t++) {
        int o = t * outDim + j;
        FloatVector a = FloatVector.fromArray(SPECIES, bias, j);
        for (int i = 0; i < in; i++) {
          long base = ((long) i * outDim + j) * Float.BYTES;
          FloatVector xi = FloatVector.broadcast(SPECIES, x[t * in + i]);
          a = FloatVector.fromMemorySegment(SPECIES, w, base, LE).fma(xi, a);
        }
        if (accumulate) {
          a = a.add(FloatVector.fromArray(SPECIES, out, o));
        }
        a.intoArray(out, o);
      }
    }
    for (; j < colTo; j++) {
      for (int t = 0; t < rows; t++) {
        float a = bias[j];
        for (int i = 0; i < in; i++) {
          a += x[t * in + i] * w.getAtIndex(SafeTensors.F32, (long) i * outDim + j);
        }
        out[t * outDim + j] = accumulate ? out[t * outDim + j] + a : a;
      }
    }
  }

  /**
   * Rows {@code [t, t + 4)} by columns {@code [j, j + 4 * LANES)} of {@link #matmul}: a register
   * tile of 16 accumulators (4 activation rows times 4 column vectors). Per input feature i it
   * loads 4 weight vectors once and broadcasts 4 activation values, 16 FMAs per 4 loads instead of
   * 4. Each element is the same chain {@code bias + sum_i x[t, i] w[i, j]} in order i as the
   * one-row loop, so the result is bit-identical to it (batched steps equal single-stream ones).
   * Two copies, storing and accumulating, without a branch: one method holding both kinds of store
   * (or 6 rows of accumulators) is more than C2 keeps unboxed, and it ran 6-8x slower.
   */
  private static void tile4x4Set(
      float[] out, float[] x, int t, int in, MemorySegment w, float[] bias, int outDim, int j) {
    FloatVector b0 = FloatVector.fromArray(SPECIES, bias, j);
    FloatVector b1 = FloatVector.fromArray(SPECIES, bias, j + LANES);
    FloatVector b2 = FloatVector.fromArray(SPECIES, bias, j + 2 * LANES);
    FloatVector b3 = FloatVector.fromArray(SPECIES, bias, j + 3 * LANES);
    FloatVector a00 = b0, a01 = b1, a02 = b2, a03 = b3;
    FloatVector a10 = b0, a11 = b1, a12 = b2, a13 = b3;
    FloatVector a20 = b0, a21 = b1, a22 = b2, a23 = b3;
    FloatVector a30 = b0, a31 = b1, a32 = b2, a33 = b3;
    int x0 = (t + 0) * in;
    int x1 = (t + 1) * in;
    int x2 = (t + 2) * in;
    int x3 = (t + 3) * in;
    long stride = (long) outDim * Float.BYTES;
    long base = (long) j * Float.BYTES;
    for (int i = 0; i < in; i++, base += stride) {
      FloatVector w0 = FloatVector.fromMemorySegment(SPECIES, w, base, LE);
      FloatVector w1 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 4L, LE);
      FloatVector w2 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 8L, LE);
      FloatVector w3 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 12L, LE);
      FloatVector v0 = FloatVector.broadcast(SPECIES, x[x0 + i]);
      a00 = w0.fma(v0, a00);
      a01 = w1.fma(v0, a01);
      a02 = w2.fma(v0, a02);
      a03 = w3.fma(v0, a03);
      FloatVector v1 = FloatVector.broadcast(SPECIES, x[x1 + i]);
      a10 = w0.fma(v1, a10);
      a11 = w1.fma(v1, a11);
      a12 = w2.fma(v1, a12);
      a13 = w3.fma(v1, a13);
      FloatVector v2 = FloatVector.broadcast(SPECIES, x[x2 + i]);
      a20 = w0.fma(v2, a20);
      a21 = w1.fma(v2, a21);
      a22 = w2.fma(v2, a22);
      a23 = w3.fma(v2, a23);
      FloatVector v3 = FloatVector.broadcast(SPECIES, x[x3 + i]);
      a30 = w0.fma(v3, a30);
      a31 = w1.fma(v3, a31);
      a32 = w2.fma(v3, a32);
      a33 = w3.fma(v3, a33);
    }
    int o0 = (t + 0) * outDim + j;
    a00.intoArray(out, o0);
    a01.intoArray(out, o0 + LANES);
    a02.intoArray(out, o0 + 2 * LANES);
    a03.intoArray(out, o0 + 3 * LANES);
    int o1 = (t + 1) * outDim + j;
    a10.intoArray(out, o1);
    a11.intoArray(out, o1 + LANES);
    a12.intoArray(out, o1 + 2 * LANES);
    a13.intoArray(out, o1 + 3 * LANES);
    int o2 = (t + 2) * outDim + j;
    a20.intoArray(out, o2);
    a21.intoArray(out, o2 + LANES);
    a22.intoArray(out, o2 + 2 * LANES);
    a23.intoArray(out, o2 + 3 * LANES);
    int o3 = (t + 3) * outDim + j;
    a30.intoArray(out, o3);
    a31.intoArray(out, o3 + LANES);
    a32.intoArray(out, o3 + 2 * LANES);
    a33.intoArray(out, o3 + 3 * LANES);
  }

  private static void tile4x4Add(
      float[] out, float[] x, int t, int in, MemorySegment w, float[] bias, int outDim, int j) {
    FloatVector b0 = FloatVector.fromArray(SPECIES, bias, j);
    FloatVector b1 = FloatVector.fromArray(SPECIES, bias, j + LANES);
    FloatVector b2 = FloatVector.fromArray(SPECIES, bias, j + 2 * LANES);
    FloatVector b3 = FloatVector.fromArray(SPECIES, bias, j + 3 * LANES);
    FloatVector a00 = b0, a01 = b1, a02 = b2, a03 = b3;
    FloatVector a10 = b0, a11 = b1, a12 = b2, a13 = b3;
    FloatVector a20 = b0, a21 = b1, a22 = b2, a23 = b3;
    FloatVector a30 = b0, a31 = b1, a32 = b2, a33 = b3;
    int x0 = (t + 0) * in;
    int x1 = (t + 1) * in;
    int x2 = (t + 2) * in;
    int x3 = (t + 3) * in;
    long stride = (long) outDim * Float.BYTES;
    long base = (long) j * Float.BYTES;
    for (int i = 0; i < in; i++, base += stride) {
      FloatVector w0 = FloatVector.fromMemorySegment(SPECIES, w, base, LE);
      FloatVector w1 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 4L, LE);
      FloatVector w2 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 8L, LE);
      FloatVector w3 = FloatVector.fromMemorySegment(SPECIES, w, base + LANES * 12L, LE);
      FloatVector v0 = FloatVector.broadcast(SPECIES, x[x0 + i]);
      a00 = w0.fma(v0, a00);
      a01 = w1.fma(v0, a01);
      a02 = w2.fma(v0, a02);
      a03 = w3.fma(v0, a03);
      FloatVector v1 = FloatVector.broadcast(SPECIES, x[x1 + i]);
      a10 = w0.fma(v1, a10);
      a11 = w1.fma(v1, a11);
      a12 = w2.fma(v1, a12);
      a13 = w3.fma(v1, a13);
      FloatVector v2 = FloatVector.broadcast(SPECIES, x[x2 + i]);
      a20 = w0.fma(v2, a20);
      a21 = w1.fma(v2, a21);
      a22 = w2.fma(v2, a22);
      a23 = w3.fma(v2, a23);
      FloatVector v3 = FloatVector.broadcast(SPECIES, x[x3 + i]);
      a30 = w0.fma(v3, a30);
      a31 = w1.fma(v3, a31);
      a32 = w2.fma(v3, a32);
      a33 = w3.fma(v3, a33);
    }
    int o0 = (t + 0) * outDim + j;
    a00.add(FloatVector.fromArray(SPECIES, out, o0)).intoArray(out, o0);
    a01.add(FloatVector.fromArray(SPECIES, out, o0 + LANES)).intoArray(out, o0 + LANES);
    a02.add(FloatVector.fromArray(SPECIES, out, o0 + 2 * LANES)).intoArray(out, o0 + 2 * LANES);
    a03.add(FloatVector.fromArray(SPECIES, out, o0 + 3 * LANES)).intoArray(out, o0 + 3 * LANES);
    int o1 = (t + 1) * outDim + j;
    a10.add(FloatVector.fromArray(SPECIES, out, o1)).intoArray(out, o1);
    a11.add(FloatVector.fromArray(SPECIES, out, o1 + LANES)).intoArray(out, o1 + LANES);
    a12.add(FloatVector.fromArray(SPECIES, out, o1 + 2 * LANES)).intoArray(out, o1 + 2 * LANES);
    a13.add(FloatVector.fromArray(SPECIES, out, o1 + 3 * LANES)).intoArray(out, o1 + 3 * LANES);
    int o2 = (t + 2) * outDim + j;
    a20.add(FloatVector.fromArray(SPECIES, out, o2)).intoArray(out, o2);
    a21.add(FloatVector.fromArray(SPECIES, out, o2 + LANES)).intoArray(out, o2 + LANES);
    a22.add(FloatVector.fromArray(SPECIES, out, o2 + 2 * LANES)).intoArray(out, o2 + 2 * LANES);
    a23.add(FloatVector.fromArray(SPECIES, out, o2 + 3 * LANES)).intoArray(out, o2 + 3 * LANES);
    int o3 = (t + 3) * outDim + j;
    a30.add(FloatVector.fromArray(SPECIES, out, o3)).intoArray(out, o3);
    a31.add(FloatVector.fromArray(SPECIES, out, o3 + LANES)).intoArray(out, o3 + LANES);
    a32.add(FloatVector.fromArray(SPECIES, out, o3 + 2 * LANES)).intoArray(out, o3 + 2 * LANES);
    a33.add(FloatVector.fromArray(SPECIES, out, o3 + 3 * LANES)).intoArray(out, o3 + 3 * LANES);
  }

  private static void store(
      float[] out,
      int o,
      boolean accumulate,
      FloatVector a0,
      FloatVector a1,
      FloatVector a2,
      FloatVector a3) {
    if (accumulate) {
      a0 = a0.add(FloatVector.fromArray(SPECIES, out, o));
      a1 = a1.add(FloatVector.fromArray(SPECIES, out, o + LANES));
      a2 = a2.add(FloatVector.fromArray(SPECIES, out, o + 2 * LANES));
      a3 = a3.add(FloatVector.fromArray(SPECIES, out, o + 3 * LANES));
    }
    a0.intoArray(out, o);
    a1.intoArray(out, o + LANES);
    a2.intoArray(out, o + 2 * LANES);
    a3.intoArray(out, o + 3 * LANES);
  }

  /**
   * Columns {@code [from, to)} of {@link #matmul} for one row {@code x [1, in]}: the decode step.
   * Instead of {@link #matmul}'s column blocks (256 bytes of each of the {@code in} weight rows,
   * 3-12 KB apart), it streams the weight rows whole, four at a time, into the column sums kept in
   * {@code acc} (at least {@code to - from} floats, in L1). Each element is still {@link #matmul}'s
   * chain: the bias, a fused multiply-add per input feature in order, then the old {@code out} when
   * accumulating (and a plain multiply-add past the last whole vector), so the result is
   * bit-identical to it.
   */
  static void matvec(
      float[] out,
      float[] x,
      int in,
      MemorySegment w,
      float[] bias,
      int outDim,
      boolean accumulate,
      int from,
      int to,
      float[] acc) {
    int n = to - from;
    int vec = n / LANES * LANES;
    System.arraycopy(bias, from, acc, 0, n);
    long stride = (long) outDim * Float.BYTES;
    int i = 0;
    for (; i + 4 <= in; i += 4) {
      FloatVector x0 = FloatVector.broadcast(SPECIES, x[i]);
      FloatVector x1 = FloatVector.broadcast(SPECIES, x[i + 1]);
      FloatVector x2 = FloatVector.broadcast(SPECIES, x[i + 2]);
      FloatVector x3 = FloatVector.broadcast(SPECIES, x[i + 3]);
      long base = ((long) i * outDim + from) * Float.BYTES;
      for (int j = 0; j < vec; j += LANES) {
        long o = base + (long) j * Float.BYTES;
        FloatVector a = FloatVector.fromArray(SPECIES, acc, j);
        a = FloatVector.fromMemorySegment(SPECIES, w, o, LE).fma(x0, a);
        a = FloatVector.fromMemorySegment(SPECIES, w, o + stride, LE).fma(x1, a);
        a = FloatVector.fromMemorySegment(SPECIES, w, o + 2 * stride, LE).fma(x2, a);
        a = FloatVector.fromMemorySegment(SPECIES, w, o + 3 * stride, LE).fma(x3, a);
        a.intoArray(acc, j);
      }
    }
    for (; i < in; i++) {
      FloatVector xi = FloatVector.broadcast(SPECIES, x[i]);
      long base = ((long) i * outDim + from) * Float.BYTES;
      for (int j = 0; j < vec; j += LANES) {
        FloatVector.fromMemorySegment(SPECIES, w, base + (long) j * Float.BYTES, LE)
            .fma(xi, FloatVector.fromArray(SPECIES, acc, j))
            .intoArray(acc, j);
      }
    }
    for (int j = vec; j < n; j++) {
      float a = acc[j];
      for (int k = 0; k < in; k++) {
        a += x[k] * w.getAtIndex(SafeTensors.F32, (long) k * outDim + from + j);
      }
      acc[j] = a;
    }
    for (int j = 0; j < n; j++) {
      out[from + j] = accumulate ? out[from + j] + acc[j] : acc[j];
    }
  }

  /**
   * Rows {@code [rowFrom, rowTo)} of {@code out = W x} for a row-major {@code W [n, d]}: the output
   * head, where W is the token embedding (tied weights), one dot product per vocabulary entry.
   */
  static void matvecRows(
      float[] out, float[] x, int xOffset, MemorySegment w, int d, int rowFrom, int rowTo) {
    int bound = SPECIES.loopBound(d);
    for (int r = rowFrom; r < rowTo; r++) {
      long base = (long) r * d * Float.BYTES;
      FloatVector acc = FloatVector.zero(SPECIES);
      int i = 0;
      for (; i < bound; i += LANES) {
        acc =
            FloatVector.fromMemorySegment(SPECIES, w, base + (long) i * Float.BYTES, LE)
                .fma(FloatVector.fromArray(SPECIES, x, xOffset + i), acc);
      }
      float sum = acc.reduceLanes(VectorOperators.ADD);
      for (; i < d; i++) {
        sum += x[xOffset + i] * w.getAtIndex(SafeTensors.F32, (long) r * d + i);
      }
      out[r] = sum;
    }
  }

  /**
   * Rows {@code [rowFrom, rowTo)} of {@code out[b] = W x_b} for the {@code batch} vectors {@code
   * x_b = x[b*d, (b+1)*d)}: the output head of a batched step. Each row of W is loaded once and
   * dotted with every x_b while it is in cache; each dot product sums in exactly the order of
   * {@link #matvecRows(float[], float[], int, MemorySegment, int, int, int)}, so a sequence's
   * logits do not depend on the batch it ran in.
   */
  static void matvecRows(
      float[][] out, int batch, float[] x, MemorySegment w, int d, int rowFrom, int rowTo) {
    int bound = SPECIES.loopBound(d);
    for (int r = rowFrom; r < rowTo; r++) {
      long base = (long) r * d * Float.BYTES;
      for (int b = 0; b < batch; b++) {
        int xo = b * d;
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (; i < bound; i += LANES) {
          acc =
              FloatVector.fromMemorySegment(SPECIES, w, base + (long) i * Float.BYTES, LE)
                  .fma(FloatVector.fromArray(SPECIES, x, xo + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < d; i++) {
          sum += x[xo + i] * w.getAtIndex(SafeTensors.F32, (long) r * d + i);
        }
        out[b][r] = sum;
      }
    }
  }

  /** {@code a[ao..ao+n) · b[bo..bo+n)}. */
  static float dot(float[] a, int ao, float[] b, int bo, int n) {
    int i = 0;
    float sum = 0f;
    if (n >= LANES) {
      FloatVector acc = FloatVector.zero(SPECIES);
      for (int bound = SPECIES.loopBound(n); i < bound; i += LANES) {
        acc =
            FloatVector.fromArray(SPECIES, a, ao + i)
                .fma(FloatVector.fromArray(SPECIES, b, bo + i), acc);
      }
      sum = acc.reduceLanes(VectorOperators.ADD);
    }
    for (; i < n; i++) {
      sum += a[ao + i] * b[bo + i];
    }
    return sum;
  }

  /** {@code y[yo..yo+n) += alpha * x[xo..xo+n)}. */
  static void axpy(float[] y, int yo, float alpha, float[] x, int xo, int n) {
    int i = 0;
    if (n >= LANES) {
      FloatVector va = FloatVector.broadcast(SPECIES, alpha);
      for (int bound = SPECIES.loopBound(n); i < bound; i += LANES) {
        FloatVector.fromArray(SPECIES, x, xo + i)
            .fma(va, FloatVector.fromArray(SPECIES, y, yo + i))
            .intoArray(y, yo + i);
      }
    }
    for (; i < n; i++) {
      y[yo + i] += alpha * x[xo + i];
    }
  }

  /**
   * Layer normalisation of one row: {@code (x - mean) / sqrt(var + eps) * weight + bias}, with the
   * biased variance, as torch's layer_norm. Sums in double: the row is short, the cost small.
   */
  static void layerNorm(
      float[] out, int oo, float[] x, int xo, float[] weight, float[] bias, int n, float eps) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += x[xo + i];
    }
    double mean = sum / n;
    double sq = 0;
    for (int i = 0; i < n; i++) {
      double c = x[xo + i] - mean;
      sq += c * c;
    }
    float inv = (float) (1.0 / Math.sqrt(sq / n + eps));
    float m = (float) mean;
    for (int i = 0; i < n; i++) {
      out[oo + i] = (x[xo + i] - m) * inv * weight[i] + bias[i];
    }
  }

  private static final double GELU_SCALE = Math.sqrt(2.0 / Math.PI);

  /** GPT-2's gelu_new: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
  static float gelu(float x) {
    return (float) (0.5 * x * (1.0 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x))));
  }
}
