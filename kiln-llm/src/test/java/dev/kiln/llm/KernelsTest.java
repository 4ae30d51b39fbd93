package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KernelsTest {
  private static final Random RANDOM = new Random(11);

  private static float[] random(int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) RANDOM.nextGaussian();
    }
    return a;
  }

  @Test
  void exp_overTheSoftmaxRange_withinTwoUlpsOfMathExpAndTheSameBitsInVectorsAndScalars() {
    float[] x = new float[100_000];
    for (int i = 0; i < x.length; i++) {
      x[i] = -90f * i / (x.length - 1);
    }
    float[] vec = x.clone();
    for (int p = 0; p + Kernels.LANES <= vec.length; p += Kernels.LANES) {
      Kernels.exp(jdk.incubator.vector.FloatVector.fromArray(Kernels.SPECIES, vec, p))
          .intoArray(vec, p);
    }
    for (int i = 0; i < x.length / Kernels.LANES * Kernels.LANES; i++) {
      float scalar = Kernels.exp(x[i]);
      assertThat(vec[i]).as("x = %s", x[i]).isEqualTo(scalar);
      float expected = (float) Math.exp(Math.max(x[i], -87f));
      assertThat(scalar).as("x = %s", x[i]).isCloseTo(expected, within(2 * Math.ulp(expected)));
    }
  }

  @ParameterizedTest
  @CsvSource({"64, 1", "64, 37", "24, 5"})
  void weightedSum_anyHeadSize_bitIdenticalToAxpyPerPosition(int s, int n) {
    int stride = 3 * s + 1;
    Random r = new Random(s * 100 + n);
    float[] w = new float[n];
    float[] v = new float[n * stride + s];
    for (int p = 0; p < n; p++) {
      w[p] = r.nextFloat();
    }
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextFloat() - 0.5f;
    }
    float[] out = new float[s + 2];
    Kernels.weightedSum(out, 2, w, 0.3f, v, null, 1, stride, n, s);
    float[] expected = new float[s + 2];
    for (int p = 0; p < n; p++) {
      Kernels.axpy(expected, 2, w[p] * 0.3f, v, null, 1 + p * stride, s);
    }
    assertThat(out).containsExactly(expected);
  }

  @Test
  void scores_featureMajorKeys_equalScalarDotsInEveryPositionOfVectorsAndTail() {
    int s = 64;
    int stride = 5 * Kernels.LANES + 3;
    Random r = new Random(4);
    float[] q = new float[s];
    float[] k = new float[s * stride];
    for (int i = 0; i < s; i++) {
      q[i] = r.nextFloat() - 0.5f;
    }
    for (int i = 0; i < k.length; i++) {
      k[i] = r.nextFloat() - 0.5f;
    }
    for (int n : new int[] {1, Kernels.LANES, 4 * Kernels.LANES + 1, stride}) {
      float[] sc = new float[stride];
      float max = Kernels.scores(q, 0, k, null, 0, stride, s, n, 0.125f, sc);
      float expectedMax = Float.NEGATIVE_INFINITY;
      for (int p = 0; p < n; p++) {
        float a = 0f;
        for (int i = 0; i < s; i++) {
          a = Math.fma(k[i * stride + p], q[i], a);
        }
        assertThat(sc[p]).as("n %d, position %d", n, p).isEqualTo(a * 0.125f);
        expectedMax = Math.max(expectedMax, a * 0.125f);
      }
      assertThat(max).isEqualTo(expectedMax);
    }
  }

  /** Rounds a to bfloat16 bits and returns them, leaving a holding their exact float value. */
  private static short[] toBf16(float[] a) {
    short[] h = new short[a.length];
    for (int i = 0; i < a.length; i++) {
      h[i] = RowMatrix.toBf16(a[i]);
      a[i] = Float.intBitsToFloat(h[i] << 16);
    }
    return h;
  }

  @ParameterizedTest
  @CsvSource({"64, 1", "64, 37", "24, 5", "16, 70"})
  void weightedSum_bf16Values_bitIdenticalToFloatsOfTheSameValues(int s, int n) {
    int stride = 3 * s + 1;
    Random r = new Random(s * 100 + n);
    float[] w = new float[n];
    for (int p = 0; p < n; p++) {
      w[p] = r.nextFloat();
    }
    float[] v = new float[n * stride + s];
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextFloat() - 0.5f;
    }
    short[] v16 = toBf16(v);
    float[] out = new float[s + 2];
    Kernels.weightedSum(out, 2, w, 0.3f, null, v16, 1, stride, n, s);
    float[] expected = new float[s + 2];
    Kernels.weightedSum(expected, 2, w, 0.3f, v, null, 1, stride, n, s);
    assertThat(out).containsExactly(expected);
  }

  @Test
  void scores_bf16Keys_bitIdenticalToFloatsOfTheSameValues() {
    int stride = 5 * Kernels.LANES + 3;
    Random r = new Random(5);
    for (int s : new int[] {16, 64}) {
      float[] q = new float[s];
      for (int i = 0; i < s; i++) {
        q[i] = r.nextFloat() - 0.5f;
      }
      float[] k = new float[s * stride];
      for (int i = 0; i < k.length; i++) {
        k[i] = r.nextFloat() - 0.5f;
      }
      short[] k16 = toBf16(k);
      for (int n : new int[] {1, Kernels.LANES, 4 * Kernels.LANES + 1, stride}) {
        float[] sc = new float[stride];
        float[] expected = new float[stride];
        float max = Kernels.scores(q, 0, null, k16, 0, stride, s, n, 0.125f, sc);
        float expectedMax = Kernels.scores(q, 0, k, null, 0, stride, s, n, 0.125f, expected);
        assertThat(sc).as("s %d, n %d", s, n).containsExactly(expected);
        assertThat(max).isEqualTo(expectedMax);
      }
    }
  }

  @Test
  void kvCache_bf16_storesRoundedBitsAndHalvesTheBytes() {
    Gpt2Config c = new Gpt2Config(2, 4, 64, 128, 50257, 1e-5f);
    KvCache kv = new KvCache(c, 4, KvCache.Format.BF16);
    float[] row = random(c.embedding());
    kv.putValues(1, 3, row, 0, c.embedding());
    kv.putKey(1, 5, 2, 1.00390625f); // 1 + 2^-8: a tie between bf16 neighbours, rounds to even
    assertThat(kv.values16[1][3 * c.embedding() + 7]).isEqualTo(RowMatrix.toBf16(row[7]));
    assertThat(kv.keys16[1][5 * kv.keyStride + 2]).isEqualTo((short) 0x3f80);
    assertThat(KvCache.bytesPerToken(c, KvCache.Format.BF16) * 2)
        .isEqualTo(KvCache.bytesPerToken(c, KvCache.Format.F32));
  }

  @Test
  void gelu_vectorOddLength_equalsDoubleFormula() {
    int n = 5 * Kernels.LANES + 7;
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (i - n / 2) * 0.17f; // -6.9 .. 6.9, both tails of the curve
    }
    float[] y = a.clone();
    Kernels.gelu(y, 2, n);
    assertThat(y[0]).isEqualTo(a[0]);
    assertThat(y[1]).isEqualTo(a[1]);
    for (int i = 2; i < n; i++) {
      double v = a[i];
      double e = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
      assertThat(y[i]).as("gelu(%s)", a[i]).isCloseTo((float) e, within(1e-6f));
    }
  }

  @Test
  void axpy_oddLength_equalsScalar() {
    int n = Kernels.LANES + 3;
    float[] a = random(n + 2);
    float[] b = random(n + 1);
    float[] y = a.clone();
    Kernels.axpy(y, 2, 0.5f, b, null, 1, n);
    for (int i = 0; i < n; i++) {
      assertThat(y[2 + i]).isCloseTo(a[2 + i] + 0.5f * b[1 + i], within(1e-6f));
    }
  }

  @Test
  void gelu_knownValues() {
    assertThat(Kernels.gelu(0f)).isZero();
    assertThat(Kernels.gelu(1f)).isCloseTo(0.8411920f, within(1e-6f)); // torch gelu tanh
    assertThat(Kernels.gelu(-3f)).isCloseTo(-0.0036374f, within(1e-6f));
  }

  @Test
  void layerNorm_zeroMeanUnitVariance_thenAffine() {
    float[] x = {1f, 2f, 3f, 4f};
    float[] out = new float[4];
    Kernels.layerNorm(
        out, 0, x, 0, new float[] {1, 1, 1, 2}, new float[] {0, 0, 0, 1}, 4, 0f + 1e-5f);
    // mean 2.5, variance 1.25
    float inv = (float) (1 / Math.sqrt(1.25 + 1e-5));
    assertThat(out)
        .containsExactly(
            new float[] {-1.5f * inv, -0.5f * inv, 0.5f * inv, 3 * inv + 1}, within(1e-6f));
  }
}
