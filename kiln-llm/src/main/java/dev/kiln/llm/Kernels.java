package dev.kiln.llm;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The arithmetic of the engine, vectorised with the Vector API: the register tiles of the matrix
 * products (over weights {@link RowKernels} has unpacked into a float panel), attention, softmax,
 * layer norm and GELU. Activations are float arrays on the heap. Each kernel works on a slice of
 * its output so that {@link Workers} can split it; none allocates.
 */
final class Kernels {
  /** Static final, or the JIT cannot constant-fold the lane count (about 100x slower). */
  static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  static final int LANES = SPECIES.length();

  private Kernels() {}

  /**
   * Starts the chains of {@code out[o, o + 4 * LANES)}: bias (zero when null), plus the old value
   * (residual).
   */
  static void start(float[] out, int o, float[] bias, int j, boolean accumulate) {
    for (int k = 0; k < 4 * LANES; k += LANES) {
      FloatVector b =
          bias == null ? FloatVector.zero(SPECIES) : FloatVector.fromArray(SPECIES, bias, j + k);
      if (accumulate) {
        b = FloatVector.fromArray(SPECIES, out, o + k).add(b);
      }
      b.intoArray(out, o + k);
    }
  }

  /**
   * Four rows (activations at {@code x0 + u xs}, chains at {@code out[o0 + u os, + 4 LANES)}) by 4
   * column vectors: adds input features {@code [k0, k1)} (feature k0's 4 vectors at {@code
   * panel[p0..]}, each next one 4 LANES on) to the chains in out, in a register tile of 16
   * accumulators (4 activation rows times 4 column vectors), the weights packed in {@code panel}.
   * Per input feature it loads 4 weight vectors once and broadcasts 4 activation values: 16 FMAs
   * per 8 loads, all from L1. One kind of store only: a method holding both a storing and an
   * accumulating epilogue (or 24 accumulators) is more than C2 keeps unboxed, and that ran 6-8x
   * slower.
   */
  static void panelTile(
      float[] out,
      int o0,
      int os,
      float[] x,
      int x0,
      int xs,
      float[] panel,
      int p0,
      int k0,
      int k1) {
    int o1 = o0 + os;
    int o2 = o1 + os;
    int o3 = o2 + os;
    FloatVector a00 = FloatVector.fromArray(SPECIES, out, o0);
    FloatVector a01 = FloatVector.fromArray(SPECIES, out, o0 + LANES);
    FloatVector a02 = FloatVector.fromArray(SPECIES, out, o0 + 2 * LANES);
    FloatVector a03 = FloatVector.fromArray(SPECIES, out, o0 + 3 * LANES);
    FloatVector a10 = FloatVector.fromArray(SPECIES, out, o1);
    FloatVector a11 = FloatVector.fromArray(SPECIES, out, o1 + LANES);
    FloatVector a12 = FloatVector.fromArray(SPECIES, out, o1 + 2 * LANES);
    FloatVector a13 = FloatVector.fromArray(SPECIES, out, o1 + 3 * LANES);
    FloatVector a20 = FloatVector.fromArray(SPECIES, out, o2);
    FloatVector a21 = FloatVector.fromArray(SPECIES, out, o2 + LANES);
    FloatVector a22 = FloatVector.fromArray(SPECIES, out, o2 + 2 * LANES);
    FloatVector a23 = FloatVector.fromArray(SPECIES, out, o2 + 3 * LANES);
    FloatVector a30 = FloatVector.fromArray(SPECIES, out, o3);
    FloatVector a31 = FloatVector.fromArray(SPECIES, out, o3 + LANES);
    FloatVector a32 = FloatVector.fromArray(SPECIES, out, o3 + 2 * LANES);
    FloatVector a33 = FloatVector.fromArray(SPECIES, out, o3 + 3 * LANES);
    int x1 = x0 + xs;
    int x2 = x1 + xs;
    int x3 = x2 + xs;
    for (int i = k0, p = p0; i < k1; i++, p += 4 * LANES) {
      FloatVector w0 = FloatVector.fromArray(SPECIES, panel, p);
      FloatVector w1 = FloatVector.fromArray(SPECIES, panel, p + LANES);
      FloatVector w2 = FloatVector.fromArray(SPECIES, panel, p + 2 * LANES);
      FloatVector w3 = FloatVector.fromArray(SPECIES, panel, p + 3 * LANES);
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
    a00.intoArray(out, o0);
    a01.intoArray(out, o0 + LANES);
    a02.intoArray(out, o0 + 2 * LANES);
    a03.intoArray(out, o0 + 3 * LANES);
    a10.intoArray(out, o1);
    a11.intoArray(out, o1 + LANES);
    a12.intoArray(out, o1 + 2 * LANES);
    a13.intoArray(out, o1 + 3 * LANES);
    a20.intoArray(out, o2);
    a21.intoArray(out, o2 + LANES);
    a22.intoArray(out, o2 + 2 * LANES);
    a23.intoArray(out, o2 + 3 * LANES);
    a30.intoArray(out, o3);
    a31.intoArray(out, o3 + LANES);
    a32.intoArray(out, o3 + 2 * LANES);
    a33.intoArray(out, o3 + 3 * LANES);
  }

  /**
   * {@link #panelTile} for AVX2's 16 vector registers: five activation rows by two column vectors
   * (the vectors at {@code panel[p0..]}, each next feature 4 LANES on, so a panel's 4 vectors take
   * two calls): ten accumulators, two weight vectors and a broadcast, all in registers. Per input
   * feature 2 loads and 5 broadcasts feed 10 FMAs. {@link #panelTile}'s 16 accumulators spill on
   * AVX2, and so does one of a six-row tile's twelve (BLIS' 6 x 16 shape: C2 keeps a third
   * broadcast live and reloads an accumulator from the stack every feature). Same chains as every
   * other kernel.
   */
  static void panelTile5(
      float[] out,
      int o0,
      int os,
      float[] x,
      int x0,
      int xs,
      float[] panel,
      int p0,
      int k0,
      int k1) {
    int o1 = o0 + os;
    int o2 = o1 + os;
    int o3 = o2 + os;
    int o4 = o3 + os;
    FloatVector a00 = FloatVector.fromArray(SPECIES, out, o0);
    FloatVector a01 = FloatVector.fromArray(SPECIES, out, o0 + LANES);
    FloatVector a10 = FloatVector.fromArray(SPECIES, out, o1);
    FloatVector a11 = FloatVector.fromArray(SPECIES, out, o1 + LANES);
    FloatVector a20 = FloatVector.fromArray(SPECIES, out, o2);
    FloatVector a21 = FloatVector.fromArray(SPECIES, out, o2 + LANES);
    FloatVector a30 = FloatVector.fromArray(SPECIES, out, o3);
    FloatVector a31 = FloatVector.fromArray(SPECIES, out, o3 + LANES);
    FloatVector a40 = FloatVector.fromArray(SPECIES, out, o4);
    FloatVector a41 = FloatVector.fromArray(SPECIES, out, o4 + LANES);
    int x1 = x0 + xs;
    int x2 = x1 + xs;
    int x3 = x2 + xs;
    int x4 = x3 + xs;
    for (int i = k0, p = p0; i < k1; i++, p += 4 * LANES) {
      FloatVector w0 = FloatVector.fromArray(SPECIES, panel, p);
      FloatVector w1 = FloatVector.fromArray(SPECIES, panel, p + LANES);
      FloatVector v = FloatVector.broadcast(SPECIES, x[x0 + i]);
      a00 = w0.fma(v, a00);
      a01 = w1.fma(v, a01);
      v = FloatVector.broadcast(SPECIES, x[x1 + i]);
      a10 = w0.fma(v, a10);
      a11 = w1.fma(v, a11);
      v = FloatVector.broadcast(SPECIES, x[x2 + i]);
      a20 = w0.fma(v, a20);
      a21 = w1.fma(v, a21);
      v = FloatVector.broadcast(SPECIES, x[x3 + i]);
      a30 = w0.fma(v, a30);
      a31 = w1.fma(v, a31);
      v = FloatVector.broadcast(SPECIES, x[x4 + i]);
      a40 = w0.fma(v, a40);
      a41 = w1.fma(v, a41);
    }
    a00.intoArray(out, o0);
    a01.intoArray(out, o0 + LANES);
    a10.intoArray(out, o1);
    a11.intoArray(out, o1 + LANES);
    a20.intoArray(out, o2);
    a21.intoArray(out, o2 + LANES);
    a30.intoArray(out, o3);
    a31.intoArray(out, o3 + LANES);
    a40.intoArray(out, o4);
    a41.intoArray(out, o4 + LANES);
  }

  /**
   * {@link #panelTile} for 2 activation rows by 4 column vectors (8 accumulators: what is left
   * after {@link #panelTile5} on AVX2).
   */
  static void panelTile2(
      float[] out,
      int o0,
      int os,
      float[] x,
      int x0,
      int xs,
      float[] panel,
      int p0,
      int k0,
      int k1) {
    int o1 = o0 + os;
    FloatVector a00 = FloatVector.fromArray(SPECIES, out, o0);
    FloatVector a01 = FloatVector.fromArray(SPECIES, out, o0 + LANES);
    FloatVector a02 = FloatVector.fromArray(SPECIES, out, o0 + 2 * LANES);
    FloatVector a03 = FloatVector.fromArray(SPECIES, out, o0 + 3 * LANES);
    FloatVector a10 = FloatVector.fromArray(SPECIES, out, o1);
    FloatVector a11 = FloatVector.fromArray(SPECIES, out, o1 + LANES);
    FloatVector a12 = FloatVector.fromArray(SPECIES, out, o1 + 2 * LANES);
    FloatVector a13 = FloatVector.fromArray(SPECIES, out, o1 + 3 * LANES);
    for (int i = k0, p = p0; i < k1; i++, p += 4 * LANES) {
      FloatVector w0 = FloatVector.fromArray(SPECIES, panel, p);
      FloatVector w1 = FloatVector.fromArray(SPECIES, panel, p + LANES);
      FloatVector w2 = FloatVector.fromArray(SPECIES, panel, p + 2 * LANES);
      FloatVector w3 = FloatVector.fromArray(SPECIES, panel, p + 3 * LANES);
      FloatVector v0 = FloatVector.broadcast(SPECIES, x[x0 + i]);
      a00 = w0.fma(v0, a00);
      a01 = w1.fma(v0, a01);
      a02 = w2.fma(v0, a02);
      a03 = w3.fma(v0, a03);
      FloatVector v1 = FloatVector.broadcast(SPECIES, x[x0 + xs + i]);
      a10 = w0.fma(v1, a10);
      a11 = w1.fma(v1, a11);
      a12 = w2.fma(v1, a12);
      a13 = w3.fma(v1, a13);
    }
    a00.intoArray(out, o0);
    a01.intoArray(out, o0 + LANES);
    a02.intoArray(out, o0 + 2 * LANES);
    a03.intoArray(out, o0 + 3 * LANES);
    a10.intoArray(out, o1);
    a11.intoArray(out, o1 + LANES);
    a12.intoArray(out, o1 + 2 * LANES);
    a13.intoArray(out, o1 + 3 * LANES);
  }

  /**
   * Attention scores {@code sc[p] = scale * (q . k_p)} for positions {@code p < n}, with the keys
   * feature-major ({@code k[k0 + i stride + p]} is feature i of position p) and {@code q} the
   * {@code s} floats at {@code qkv[q0..]}; returns their maximum. Each score is one chain of fused
   * multiply-adds over the features in order, whether its position is in a vector or the tail. The
   * keys are floats in {@code k} or, when {@code k16} is not null, bfloat16 bits in {@code k16},
   * widened as they are read (the same chains over the same values).
   */
  static float scores(
      float[] qkv,
      int q0,
      float[] k,
      short[] k16,
      int k0,
      int stride,
      int s,
      int n,
      float scale,
      float[] sc) {
    FloatVector vmax = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
    int p = 0;
    for (; p + 4 * LANES <= n; p += 4 * LANES) {
      FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
      for (int i = 0, o = k0 + p; i < s; i++, o += stride) {
        FloatVector qi = FloatVector.broadcast(SPECIES, qkv[q0 + i]);
        a0 = kv(k, k16, o).fma(qi, a0);
        a1 = kv(k, k16, o + LANES).fma(qi, a1);
        a2 = kv(k, k16, o + 2 * LANES).fma(qi, a2);
        a3 = kv(k, k16, o + 3 * LANES).fma(qi, a3);
      }
      a0 = a0.mul(scale);
      a1 = a1.mul(scale);
      a2 = a2.mul(scale);
      a3 = a3.mul(scale);
      a0.intoArray(sc, p);
      a1.intoArray(sc, p + LANES);
      a2.intoArray(sc, p + 2 * LANES);
      a3.intoArray(sc, p + 3 * LANES);
      vmax = vmax.max(a0.max(a1).max(a2.max(a3)));
    }
    for (; p + LANES <= n; p += LANES) {
      FloatVector a = FloatVector.zero(SPECIES);
      for (int i = 0, o = k0 + p; i < s; i++, o += stride) {
        a = kv(k, k16, o).fma(FloatVector.broadcast(SPECIES, qkv[q0 + i]), a);
      }
      a = a.mul(scale);
      a.intoArray(sc, p);
      vmax = vmax.max(a);
    }
    float max = vmax.reduceLanes(VectorOperators.MAX);
    for (; p < n; p++) {
      float a = 0f;
      for (int i = 0, o = k0 + p; i < s; i++, o += stride) {
        a = Math.fma(kv1(k, k16, o), qkv[q0 + i], a);
      }
      sc[p] = a * scale;
      max = Math.max(max, sc[p]);
    }
    return max;
  }

  /**
   * {@code sc[p] = exp(sc[p] - max)} for {@code p < n} (all {@code sc[p] <= max}); returns their
   * sum, added in order. The exponential is {@link #exp}'s, in vectors and in the tail alike: the
   * Vector API's own EXP differs between C2 (SVML) and the interpreter, and so would a batched step
   * from a lone one.
   */
  static float expShift(float[] sc, int n, float max) {
    int p = 0;
    for (; p + LANES <= n; p += LANES) {
      exp(FloatVector.fromArray(SPECIES, sc, p).sub(max)).intoArray(sc, p);
    }
    for (; p < n; p++) {
      sc[p] = exp(sc[p] - max);
    }
    float total = 0f;
    for (p = 0; p < n; p++) {
      total += sc[p];
    }
    return total;
  }

  // exp(x) for x <= 0 as Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, exp(r) by a degree-6
  // polynomial, times 2^n built in the exponent bits; below EXP_MIN, exp(EXP_MIN) (~2^-125.6).
  // Only IEEE operations (fma, add, multiply, bit moves), so the same bits in every compiler.
  private static final float EXP_MIN = -87f;
  private static final float LOG2E = 1.44269504f;
  private static final float ROUND = 12582912f; // 1.5 x 2^23: adding it rounds to an integer
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;
  private static final float[] EXP_POLY = {
    1.9875691500e-4f,
    1.3981999507e-3f,
    8.3334519073e-3f,
    4.1665795894e-2f,
    1.6666665459e-1f,
    5.0000001201e-1f
  };

  static FloatVector exp(FloatVector x) {
    x = x.max(EXP_MIN);
    FloatVector t = x.fma(LOG2E, ROUND);
    FloatVector n = t.sub(ROUND);
    FloatVector r = n.fma(FloatVector.broadcast(SPECIES, -LN2_HI), x);
    r = n.fma(FloatVector.broadcast(SPECIES, -LN2_LO), r);
    FloatVector p = FloatVector.broadcast(SPECIES, EXP_POLY[0]);
    for (int k = 1; k < EXP_POLY.length; k++) {
      p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_POLY[k]));
    }
    FloatVector y = p.fma(r.mul(r), r).add(1f);
    FloatVector scale =
        ((IntVector) t.reinterpretAsInts())
            .sub(Float.floatToRawIntBits(ROUND) - 127)
            .lanewise(VectorOperators.LSHL, 23)
            .reinterpretAsFloats();
    return y.mul(scale);
  }

  static float exp(float x) {
    x = Math.max(x, EXP_MIN);
    float t = Math.fma(x, LOG2E, ROUND);
    float n = t - ROUND;
    float r = Math.fma(n, -LN2_HI, x);
    r = Math.fma(n, -LN2_LO, r);
    float p = EXP_POLY[0];
    for (int k = 1; k < EXP_POLY.length; k++) {
      p = Math.fma(p, r, EXP_POLY[k]);
    }
    float y = Math.fma(p, r * r, r) + 1f;
    return y
        * Float.intBitsToFloat(
            (Float.floatToRawIntBits(t) - Float.floatToRawIntBits(ROUND) + 127) << 23);
  }

  /**
   * {@code out[o + i] = sum_p (w[p] * inv) v[v0 + p stride + i]} for {@code i < s}, positions
   * {@code p < n} added in order from zero: the same chains as {@link #axpy} per position onto a
   * zeroed {@code out}, but with 4 vectors of {@code out} held in registers across the positions
   * instead of loaded and stored for each. The values are floats in {@code v} or, when {@code v16}
   * is not null, bfloat16 bits in {@code v16}, widened as they are read.
   */
  static void weightedSum(
      float[] out,
      int o,
      float[] w,
      float inv,
      float[] v,
      short[] v16,
      int v0,
      int stride,
      int n,
      int s) {
    if (s % (4 * LANES) != 0) {
      java.util.Arrays.fill(out, o, o + s, 0f);
      for (int p = 0; p < n; p++) {
        axpy(out, o, w[p] * inv, v, v16, v0 + p * stride, s);
      }
      return;
    }
    for (int c = 0; c < s; c += 4 * LANES) {
      FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
      for (int p = 0, at = v0 + c; p < n; p++, at += stride) {
        FloatVector wp = FloatVector.broadcast(SPECIES, w[p] * inv);
        a0 = kv(v, v16, at).fma(wp, a0);
        a1 = kv(v, v16, at + LANES).fma(wp, a1);
        a2 = kv(v, v16, at + 2 * LANES).fma(wp, a2);
        a3 = kv(v, v16, at + 3 * LANES).fma(wp, a3);
      }
      a0.intoArray(out, o + c);
      a1.intoArray(out, o + c + LANES);
      a2.intoArray(out, o + c + 2 * LANES);
      a3.intoArray(out, o + c + 3 * LANES);
    }
  }

  /**
   * {@code LANES} cached keys or values at {@code o}: from {@code f}, or when {@code h} is not null
   * bfloat16 bits from {@code h} widened exactly (a shift). Callers pass the same one of the two
   * for a whole loop, so the JIT unswitches the loop on it.
   */
  private static FloatVector kv(float[] f, short[] h, int o) {
    if (h == null) {
      return FloatVector.fromArray(SPECIES, f, o);
    }
    return ((IntVector)
            ShortVector.fromArray(RowKernels.S, h, o)
                .convertShape(VectorOperators.S2I, RowKernels.I, 0))
        .lanewise(VectorOperators.LSHL, 16)
        .reinterpretAsFloats();
  }

  /** One element of {@link #kv}. */
  private static float kv1(float[] f, short[] h, int o) {
    return h == null ? f[o] : Float.intBitsToFloat(h[o] << 16);
  }

  /**
   * {@code y[yo..yo+n) += alpha * x[xo..xo+n)}, x as floats in {@code x} or, when {@code x16} is
   * not null, bfloat16 bits.
   */
  static void axpy(float[] y, int yo, float alpha, float[] x, short[] x16, int xo, int n) {
    int i = 0;
    if (n >= LANES) {
      FloatVector va = FloatVector.broadcast(SPECIES, alpha);
      for (int bound = SPECIES.loopBound(n); i < bound; i += LANES) {
        kv(x, x16, xo + i).fma(va, FloatVector.fromArray(SPECIES, y, yo + i)).intoArray(y, yo + i);
      }
    }
    for (; i < n; i++) {
      y[yo + i] += alpha * kv1(x, x16, xo + i);
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

  private static final float GELU_CUBE = 0.044715f;

  /** GPT-2's gelu_new: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
  static float gelu(float x) {
    return (float) (0.5 * x * (1.0 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x))));
  }

  /**
   * {@link #gelu} in place over {@code a[from, to)}, in fp32 as torch computes it, with the Vector
   * API's tanh (an intrinsic; the scalar {@code Math.tanh} per element cost as much as a fifth of a
   * prefill). The tail past the last whole vector takes the scalar formula.
   */
  static void gelu(float[] a, int from, int to) {
    FloatVector half = FloatVector.broadcast(SPECIES, 0.5f);
    FloatVector scale = FloatVector.broadcast(SPECIES, (float) GELU_SCALE);
    FloatVector cube = FloatVector.broadcast(SPECIES, GELU_CUBE);
    int i = from;
    for (; i + LANES <= to; i += LANES) {
      FloatVector v = FloatVector.fromArray(SPECIES, a, i);
      FloatVector u = v.mul(v).mul(v).fma(cube, v).mul(scale);
      FloatVector t = u.lanewise(VectorOperators.TANH);
      v.mul(half).fma(t, v.mul(half)).intoArray(a, i);
    }
    for (; i < to; i++) {
      a[i] = gelu(a[i]);
    }
  }
}
