package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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

  private static MemorySegment segment(Arena arena, float[] values) {
    MemorySegment s = arena.allocate(values.length * 4L);
    for (int i = 0; i < values.length; i++) {
      s.setAtIndex(SafeTensors.F32, i, values[i]);
    }
    return s;
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
    Kernels.weightedSum(out, 2, w, 0.3f, v, 1, stride, n, s);
    float[] expected = new float[s + 2];
    for (int p = 0; p < n; p++) {
      Kernels.axpy(expected, 2, w[p] * 0.3f, v, 1 + p * stride, s);
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
      float max = Kernels.scores(q, 0, k, 0, stride, s, n, 0.125f, sc);
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

  @Test
  void matmul_splitColumnsOddWidth_equalsScalarReference() {
    // outDim is not a multiple of the lane count, so all three loops (4 vectors, 1, scalar) run.
    int rows = 3;
    int in = 37;
    int out = 4 * Kernels.LANES + Kernels.LANES + 5;
    float[] x = random(rows * in);
    float[] w = random(in * out);
    float[] bias = random(out);
    float[] previous = random(rows * out);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ws = segment(arena, w);
      float[] y = previous.clone();
      float[] panel = new float[Kernels.PANEL];
      int split = Workers.to(out, Kernels.LANES, 0, 2);
      Kernels.matmul(y, x, rows, in, ws, bias, out, true, 0, split, panel);
      Kernels.matmul(y, x, rows, in, ws, bias, out, true, split, out, panel);
      for (int t = 0; t < rows; t++) {
        for (int j = 0; j < out; j++) {
          double expected = previous[t * out + j] + bias[j];
          for (int i = 0; i < in; i++) {
            expected += (double) x[t * in + i] * w[i * out + j];
          }
          assertThat(y[t * out + j])
              .as("[%d, %d]", t, j)
              .isCloseTo((float) expected, within(1e-4f));
        }
      }
    }
  }

  /** {@code (previous +) bias + x @ w} in double, for {@code [rows, in] x [in, out]}. */
  private static double expected(
      float[] previous, float[] x, float[] w, float[] bias, int in, int out, int t, int j) {
    double e = (previous == null ? 0 : previous[t * out + j]) + bias[j];
    for (int i = 0; i < in; i++) {
      e += (double) x[t * in + i] * w[i * out + j];
    }
    return e;
  }

  @Test
  void matmul_multiRowTilesOddSizes_equalScalarReference() {
    // 15 rows: three 4-row tiles and 3 single rows; in spans two whole input blocks and a part;
    // out has two 4-vector column blocks, one single vector and a scalar tail.
    int rows = 15;
    int in = 2 * Kernels.K_BLOCK + 37;
    int out = 8 * Kernels.LANES + Kernels.LANES + 5;
    float[] x = random(rows * in);
    float[] w = random(in * out);
    float[] bias = random(out);
    float[] previous = random(rows * out);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ws = segment(arena, w);
      float[] panel = new float[Kernels.PANEL];
      for (boolean accumulate : new boolean[] {false, true}) {
        float[] y = previous.clone();
        int split = Workers.to(out, Kernels.LANES, 0, 2);
        Kernels.matmul(y, x, rows, in, ws, bias, out, accumulate, 0, split, panel);
        Kernels.matmul(y, x, rows, in, ws, bias, out, accumulate, split, out, panel);
        for (int t = 0; t < rows; t++) {
          for (int j = 0; j < out; j++) {
            double e = expected(accumulate ? previous : null, x, w, bias, in, out, t, j);
            assertThat(y[t * out + j])
                .as("accumulate %s [%d, %d]", accumulate, t, j)
                .isCloseTo((float) e, within(2e-4f));
          }
        }
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"1, 16, true", "37, 21, false", "64, 85, true", "130, 48, false", "7, 3, true"})
  void matvec_oneRow_bitIdenticalToMatmulAndCloseToScalarReference(
      int in, int out, boolean accumulate) {
    // odd widths and depths: the 4-feature steps, the last features, the scalar columns
    float[] x = random(in);
    float[] w = random(in * out);
    float[] bias = random(out);
    float[] previous = random(out);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ws = segment(arena, w);
      float[] viaMatmul = previous.clone();
      float[] viaMatvec = previous.clone();
      float[] acc = new float[out];
      float[] panel = new float[Kernels.PANEL];
      int split = Workers.to(out, Kernels.LANES, 0, 2);
      for (int[] range : new int[][] {{0, split}, {split, out}}) {
        Kernels.matmul(viaMatmul, x, 1, in, ws, bias, out, accumulate, range[0], range[1], panel);
        Kernels.matvec(viaMatvec, x, in, ws, bias, out, accumulate, range[0], range[1], acc);
      }
      assertThat(viaMatvec).containsExactly(viaMatmul);
      for (int j = 0; j < out; j++) {
        double expected = (accumulate ? previous[j] : 0) + bias[j];
        for (int i = 0; i < in; i++) {
          expected += (double) x[i] * w[i * out + j];
        }
        assertThat(viaMatvec[j]).as("[%d]", j).isCloseTo((float) expected, within(1e-4f));
      }
    }
  }

  @Test
  void matmul_rowsTogether_bitIdenticalToOneRowAtATime() {
    // A batched prefill (tiles over input blocks) must give each row exactly what a decode step
    // (one row, all inputs in one pass) gives it: batched generation equals single-stream.
    int rows = 9;
    int in = Kernels.K_BLOCK + 13;
    int out = 4 * Kernels.LANES + 3;
    float[] x = random(rows * in);
    float[] bias = random(out);
    float[] previous = random(rows * out);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ws = segment(arena, random(in * out));
      float[] panel = new float[Kernels.PANEL];
      for (boolean accumulate : new boolean[] {false, true}) {
        float[] together = previous.clone();
        Kernels.matmul(together, x, rows, in, ws, bias, out, accumulate, 0, out, panel);
        for (int t = 0; t < rows; t++) {
          float[] row = java.util.Arrays.copyOfRange(previous, t * out, (t + 1) * out);
          float[] xt = java.util.Arrays.copyOfRange(x, t * in, (t + 1) * in);
          Kernels.matmul(row, xt, 1, in, ws, bias, out, accumulate, 0, out, panel);
          assertThat(java.util.Arrays.copyOfRange(together, t * out, (t + 1) * out))
              .as("accumulate %s row %d", accumulate, t)
              .containsExactly(row);
        }
      }
    }
  }

  @Test
  void conv1dMultiply_decodeRowsStreamed_bitIdenticalToPanelTiles() {
    // 20 rows go through matmul's packed 4 x 4 tiles; the first 5 together read the weights in
    // direct tiles (matrows), each alone streams the weight rows (matvec). All three must agree
    // bit for bit, with and without the residual:
    // a batched decode step equals single-stream decoding and the prefill of the same rows.
    int rows = Kernels.MATVEC_ROWS + 4;
    int in = Kernels.K_BLOCK + 48;
    int out = 4 * Kernels.LANES + 5;
    float[] x = random(rows * in);
    float[] w = random(in * out);
    float[] bias = random(out);
    float[] previous = random(rows * out);
    try (Arena arena = Arena.ofConfined()) {
      Matrix.Conv1d m = new Matrix.Conv1d(segment(arena, w), in, out);
      float[] sums = new float[Kernels.MATVEC_ROWS * out];
      for (boolean accumulate : new boolean[] {false, true}) {
        float[] tiles = previous.clone();
        m.multiply(tiles, x, rows, bias, accumulate, 0, out, new float[Kernels.PANEL]);
        float[] five = java.util.Arrays.copyOf(previous, 5 * out);
        m.multiply(five, x, 5, bias, accumulate, 0, out, sums);
        assertThat(five)
            .as("accumulate %s, 5 rows streamed", accumulate)
            .containsExactly(java.util.Arrays.copyOf(tiles, 5 * out));
        for (int t = 0; t < rows; t++) {
          float[] one = java.util.Arrays.copyOfRange(previous, t * out, (t + 1) * out);
          float[] xt = java.util.Arrays.copyOfRange(x, t * in, (t + 1) * in);
          m.multiply(one, xt, 1, bias, accumulate, 0, out, sums);
          assertThat(one)
              .as("accumulate %s row %d alone", accumulate, t)
              .containsExactly(java.util.Arrays.copyOfRange(tiles, t * out, (t + 1) * out));
        }
      }
    }
  }

  @Test
  void conv1dMultiply_2to16RowsInDirectTiles_bitIdenticalToPanelTilesAndToOneRow() {
    // 2..16 rows (odd counts too: 4-row tiles plus 1-3 single rows) read the weights straight
    // from the segment (matrows); 20 rows pack them into panels (matmul), one row streams whole
    // weight rows (matvec). Input features past a multiple of K_BLOCK, two 4-vector column blocks
    // and a tail of one vector plus 5 scalars, and a split of the columns between two workers.
    int all = Kernels.MATVEC_ROWS + 4;
    int in = 2 * Kernels.K_BLOCK + 48;
    int out = 9 * Kernels.LANES + 5;
    float[] x = random(all * in);
    float[] w = random(in * out);
    float[] bias = random(out);
    float[] previous = random(all * out);
    try (Arena arena = Arena.ofConfined()) {
      Matrix.Conv1d m = new Matrix.Conv1d(segment(arena, w), in, out);
      float[] scratch = new float[Math.max(Kernels.PANEL, out)];
      for (boolean accumulate : new boolean[] {false, true}) {
        float[] tiles = previous.clone();
        m.multiply(tiles, x, all, bias, accumulate, 0, out, scratch);
        for (int rows = 2; rows <= Kernels.MATVEC_ROWS; rows++) {
          float[] some = java.util.Arrays.copyOf(previous, rows * out);
          m.multiply(some, x, rows, bias, accumulate, 0, out, scratch);
          assertThat(some)
              .as("accumulate %s, %d rows", accumulate, rows)
              .containsExactly(java.util.Arrays.copyOf(tiles, rows * out));
          float[] split = java.util.Arrays.copyOf(previous, rows * out);
          for (int k = 0; k < 2; k++) {
            int from = Workers.from(out, m.grain(), k, 2);
            int to = Workers.to(out, m.grain(), k, 2);
            m.multiply(split, x, rows, bias, accumulate, from, to, scratch);
          }
          assertThat(split)
              .as("accumulate %s, %d rows, columns split in two", accumulate, rows)
              .containsExactly(some);
        }
        for (int t = 0; t < all; t++) {
          float[] one = java.util.Arrays.copyOfRange(previous, t * out, (t + 1) * out);
          float[] xt = java.util.Arrays.copyOfRange(x, t * in, (t + 1) * in);
          m.multiply(one, xt, 1, bias, accumulate, 0, out, scratch);
          assertThat(one)
              .as("accumulate %s row %d alone", accumulate, t)
              .containsExactly(java.util.Arrays.copyOfRange(tiles, t * out, (t + 1) * out));
        }
      }
    }
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
    Kernels.axpy(y, 2, 0.5f, b, 1, n);
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
