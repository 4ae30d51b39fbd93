package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The F32, BF16 and Q8_0 row kernels against a scalar double-precision reference. */
class RowKernelsTest {
  // Rows not a multiple of the 4-row tile, activation rows not a multiple of 4; 96 columns are
  // three Q8_0 blocks (and not a multiple of 64 lanes).
  static final int OUT = 4 * 5 + 3;
  static final int IN = 96;
  static final int ROWS = 7;

  static float[] random(SplittableRandom r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return a;
  }

  @ParameterizedTest
  @EnumSource(RowMatrix.Format.class)
  void multiply_anyFormat_equalsScalarReferenceOnTheStoredWeights(RowMatrix.Format format) {
    SplittableRandom r = new SplittableRandom(7);
    float[] w = random(r, OUT * IN);
    float[] x = random(r, ROWS * IN);
    float[] bias = random(r, OUT);
    try (Arena arena = Arena.ofConfined()) {
      RowMatrix m = RowMatrix.convert(format, OUT, IN, (i, j) -> w[i * IN + j], arena);
      float[] out = random(r, ROWS * OUT);
      float[] before = out.clone();
      float[] scratch = new float[16];
      int split = Workers.to(OUT, RowKernels.TILE, 0, 2);
      m.multiply(out, x, ROWS, bias, true, 0, split, scratch);
      m.multiply(out, x, ROWS, bias, true, split, OUT, scratch);
      for (int t = 0; t < ROWS; t++) {
        for (int j = 0; j < OUT; j++) {
          double s = bias[j] + before[t * OUT + j];
          for (int i = 0; i < IN; i++) {
            s += (double) m.get(j, i) * x[t * IN + i];
          }
          assertThat(out[t * OUT + j]).as("(%d, %d)", t, j).isCloseTo((float) s, within(1e-4f));
          // and the stored weight is the original to the format's precision
        }
      }
      float tolerance = format == RowMatrix.Format.F32 ? 0 : 1f / 64;
      for (int j = 0; j < OUT; j++) {
        for (int i = 0; i < IN; i++) {
          assertThat(m.get(j, i)).isCloseTo(w[j * IN + i], within(tolerance));
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(RowMatrix.Format.class)
  void head_batchOfFive_eachRowEqualsItAlone(RowMatrix.Format format) {
    SplittableRandom r = new SplittableRandom(11);
    float[] w = random(r, OUT * IN);
    float[] x = random(r, 5 * IN);
    try (Arena arena = Arena.ofConfined()) {
      RowMatrix m = RowMatrix.convert(format, OUT, IN, (i, j) -> w[i * IN + j], arena);
      float[][] all = new float[5][OUT];
      RowKernels.head(m, all, 5, x, 0, OUT, new float[16]);
      for (int b = 0; b < 5; b++) {
        float[][] one = new float[1][OUT];
        float[] xb = new float[IN];
        System.arraycopy(x, b * IN, xb, 0, IN);
        RowKernels.head(m, one, 1, xb, 0, OUT, new float[16]);
        assertThat(all[b]).containsExactly(one[0], within(1e-6f));
      }
    }
  }
}
