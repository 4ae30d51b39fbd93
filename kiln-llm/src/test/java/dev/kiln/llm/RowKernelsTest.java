package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The F32, BF16 and Q8_0 row kernels against a scalar double-precision reference. */
class RowKernelsTest {
  // Two whole column panels and a partial one (and not a multiple of F32_ROWS's 4-row tile),
  // activation rows not a multiple of 4; 96 columns are three Q8_0 blocks (and not a multiple of
  // the 64 columns widened at a time).
  static final int OUT = 2 * RowMatrix.P + 5;
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
      float[] scratch = new float[RowKernels.SCRATCH];
      int split = Workers.to(OUT, m.grain(), 0, 2);
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
      float tolerance =
          format == RowMatrix.Format.F32 || format == RowMatrix.Format.F32_ROWS ? 0 : 1f / 64;
      for (int j = 0; j < OUT; j++) {
        for (int i = 0; i < IN; i++) {
          assertThat(m.get(j, i)).isCloseTo(w[j * IN + i], within(tolerance));
        }
      }
    }
  }

  /** (rows, cols) shapes: tiles and Q8_0 blocks, whole and partial, past the vector width. */
  static Stream<Arguments> shapes() {
    Stream<Arguments> all =
        Stream.of(RowMatrix.Format.values())
            .flatMap(f ->
                Stream.of(
                        new int[] {1, 32},
                        new int[] {4, 64},
                        new int[] {7, 160},
                        new int[] {9, 800},
                        new int[] {RowMatrix.P + 3, 96},
                        new int[] {2 * RowMatrix.P, 224})
                    .map(s -> Arguments.of(f, s[0], s[1])));
    // F32 and BF16 only (not whole Q8_0 blocks): whole vectors then single columns, and fewer
    // columns than one vector
    Stream<Arguments> ragged =
        Stream.of(RowMatrix.Format.F32, RowMatrix.Format.F32_ROWS, RowMatrix.Format.BF16)
            .flatMap(f ->
                Stream.of(
                        new int[] {6, 3 * RowKernels.L + 5},
                        new int[] {5, RowKernels.L - 3},
                        new int[] {RowMatrix.P + 1, RowKernels.KB + 7})
                    .map(s -> Arguments.of(f, s[0], s[1])));
    return Stream.concat(all, ragged);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void multiply_oneRow_equalsScalarDotOfTheStoredWeights(RowMatrix.Format format, int out, int in) {
    SplittableRandom r = new SplittableRandom(out * 1000 + in);
    float[] w = random(r, out * in);
    float[] x = random(r, in);
    float[] bias = random(r, out);
    try (Arena arena = Arena.ofConfined()) {
      RowMatrix m = RowMatrix.convert(format, out, in, (i, j) -> w[i * in + j], arena);
      float[] y = new float[out];
      m.multiply(y, x, 1, bias, false, 0, out, new float[RowKernels.SCRATCH]);
      for (int j = 0; j < out; j++) {
        double s = bias[j];
        for (int i = 0; i < in; i++) {
          s += (double) m.get(j, i) * x[i];
        }
        assertThat(y[j])
            .as("row %d", j)
            .isCloseTo((float) s, within(1e-4f * (float) Math.sqrt(in)));
      }
    }
  }

  @ParameterizedTest
  @CsvSource({
    "Q8_0, 12, 96",
    "Q8_0, 70, 64",
    "Q8_0, 8, 3072",
    "Q8_0, 200, 128",
    "BF16, 70, 200",
    "BF16, 200, 96",
    "F32, 130, 96",
    "F32, 300, 160"
  })
  void multiply_batchOfTen_eachRowEqualsItAloneBitForBit(RowMatrix.Format format, int out, int in) {
    // Over panels widened to floats, two 4-row tiles and two single rows (AVX-512), or two 5-row
    // tiles over panel halves (AVX2), against each row alone (the decode kernel, streaming one
    // panel or two side by side): the same chain per element, so the same bits.
    SplittableRandom r = new SplittableRandom(in * 1000 + out);
    float[] w = random(r, out * in);
    float[] x = random(r, 10 * in);
    float[] bias = random(r, out);
    float[] scratch = new float[RowKernels.SCRATCH];
    try (Arena arena = Arena.ofConfined()) {
      RowMatrix m = RowMatrix.convert(format, out, in, (i, j) -> w[i * in + j], arena);
      float[] all = new float[10 * out];
      m.multiply(all, x, 10, bias, false, 0, out, scratch);
      for (int t = 0; t < 10; t++) {
        float[] one = new float[out];
        float[] xt = Arrays.copyOfRange(x, t * in, (t + 1) * in);
        m.multiply(one, xt, 1, bias, false, 0, out, new float[RowKernels.SCRATCH]);
        assertThat(one)
            .as("row %d", t)
            .containsExactly(Arrays.copyOfRange(all, t * out, (t + 1) * out));
      }
    }
  }

  /** Batched against alone: the panel formats to the bit, F32_ROWS (lane sums) nearly. */
  static float tolerance(RowMatrix.Format format) {
    return format == RowMatrix.Format.F32_ROWS ? 1e-5f : 0f;
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void multiply_batchOfSix_eachRowEqualsItAlone(RowMatrix.Format format, int out, int in) {
    // Six rows: one 4-row tile and two single rows, against a decode step of each row alone. The
    // panel formats run one chain per element, so the bits agree; F32_ROWS sums each pair in the
    // same order too, but to the last bit only once both kernels are compiled: reduceLanes(ADD)
    // adds the lanes in another order in C2 than in the interpreter.
    SplittableRandom r = new SplittableRandom(in * 1000 + out);
    float[] w = random(r, out * in);
    float[] x = random(r, 6 * in);
    float[] bias = random(r, out);
    try (Arena arena = Arena.ofConfined()) {
      RowMatrix m = RowMatrix.convert(format, out, in, (i, j) -> w[i * in + j], arena);
      float[] all = new float[6 * out];
      m.multiply(all, x, 6, bias, false, 0, out, new float[RowKernels.SCRATCH]);
      for (int t = 0; t < 6; t++) {
        float[] one = new float[out];
        m.multiply(
            one,
            Arrays.copyOfRange(x, t * in, (t + 1) * in),
            1,
            bias,
            false,
            0,
            out,
            new float[RowKernels.SCRATCH]);
        assertThat(one)
            .as("row %d", t)
            .containsExactly(
                Arrays.copyOfRange(all, t * out, (t + 1) * out), within(tolerance(format)));
      }
    }
  }

  @Test
  void bf16Layout_raggedRowsAndColumns_eachWeightHasItsOwnSlot() {
    int rows = RowMatrix.P + 3;
    int cols = 3 * RowKernels.L + 5;
    boolean[] taken = new boolean[(int) RowMatrix.Format.BF16.bytes(rows, cols) / 2];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        int e = (int) (RowMatrix.bf16Offset(cols, r, c) / 2);
        assertThat(taken[e]).as("(%d, %d)", r, c).isFalse();
        taken[e] = true;
      }
    }
    // the second panel's column 3: its rows one after another
    assertThat(RowMatrix.bf16Offset(cols, RowMatrix.P + 2, 3))
        .isEqualTo(2L * (RowMatrix.P * cols + 3L * RowMatrix.P + 2));
  }

  @ParameterizedTest
  @EnumSource(
      value = RowMatrix.Format.class,
      names = {"F32", "BF16"})
  void fromRows_ggufRowsInColumnOrder_sameBitsAsConvert(RowMatrix.Format format) {
    int rows = 6;
    int cols = 2 * RowKernels.L + 3;
    SplittableRandom r = new SplittableRandom(5);
    float[] w = random(r, rows * cols);
    if (format == RowMatrix.Format.BF16) {
      for (int i = 0; i < w.length; i++) {
        w[i] = Float.intBitsToFloat((RowMatrix.toBf16(w[i]) & 0xffff) << 16);
      }
    }
    long size = format == RowMatrix.Format.F32 ? 4 : 2;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment values = arena.allocate(size * rows * cols);
      for (int i = 0; i < rows * cols; i++) {
        if (size == 4) {
          values.set(SafeTensors.F32, 4L * i, w[i]);
        } else {
          values.set(SafeTensors.U16, 2L * i, RowMatrix.toBf16(w[i]));
        }
      }
      RowMatrix m = RowMatrix.fromRows(format, rows, cols, values, arena);
      RowMatrix converted = RowMatrix.convert(format, rows, cols, (i, j) -> w[i * cols + j], arena);
      for (int i = 0; i < rows * cols; i++) {
        assertThat(m.get(i / cols, i % cols)).isEqualTo(w[i]);
      }
      assertThat(m.data().asByteBuffer()).isEqualTo(converted.data().asByteBuffer());
    }
  }

  @Test
  void fromConv1d_huggingFaceInOutLayout_sameBitsAsConvertOfItsTranspose() {
    // a partial last panel, and columns (inputs) past a vector: the transpose by panel copies
    int in = 2 * RowKernels.L + 3;
    int out = 2 * RowMatrix.P + 5;
    SplittableRandom r = new SplittableRandom(9);
    float[] conv = random(r, in * out); // [in, out], as safetensors stores GPT-2's Conv1D
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment values = arena.allocate(4L * in * out);
      for (int i = 0; i < conv.length; i++) {
        values.setAtIndex(SafeTensors.F32, i, conv[i]);
      }
      RowMatrix m = RowMatrix.fromConv1d(in, out, values, arena);
      RowMatrix converted =
          RowMatrix.convert(RowMatrix.Format.F32, out, in, (j, k) -> conv[k * out + j], arena);
      assertThat(m.rows()).isEqualTo(out);
      assertThat(m.cols()).isEqualTo(in);
      assertThat(m.get(out - 1, 1)).isEqualTo(conv[out + out - 1]);
      assertThat(m.data().asByteBuffer()).isEqualTo(converted.data().asByteBuffer());
    }
  }

  @Test
  void q8Layout_aPartialPanel_eachQuantAndScaleHasItsOwnSlot() {
    int rows = RowMatrix.P + 2;
    int cols = 96;
    int p = RowMatrix.P;
    boolean[] taken = new boolean[(int) RowMatrix.Format.Q8_0.bytes(rows, cols)];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        int q = (int) RowMatrix.q8Quant(cols, r, c);
        assertThat(taken[q]).as("quant (%d, %d)", r, c).isFalse();
        taken[q] = true;
      }
      for (int k = 0; k < cols / 32; k++) {
        int s = (int) RowMatrix.q8Scale(cols, r, k);
        for (int b = s; b < s + 4; b++) {
          assertThat(taken[b]).as("scale (%d, %d)", r, k).isFalse();
          taken[b] = true;
        }
      }
    }
    // the second panel's block 1: column 40's quants of its rows one after another, then the
    // block's scales
    long panel = (long) p * (cols + cols / 32 * 4);
    assertThat(RowMatrix.q8Quant(cols, p + 5, 40)).isEqualTo(panel + 36L * p + 8L * p + 5);
    assertThat(RowMatrix.q8Scale(cols, p + 5, 1)).isEqualTo(panel + 36L * p + 32L * p + 20);
  }

  @Test
  void fromQ8Blocks_ggufBlocks_sameWeightsAsScaleTimesQuant() {
    // Five rows (a group of 4 and a partial one) of three GGUF blocks written by hand: fp16
    // scale, then 32 int8 quants.
    int rows = 5;
    int cols = 96;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment blocks = arena.allocate(rows * cols / 32 * 34L);
      float[] expected = new float[rows * cols];
      for (int b = 0; b < rows * cols / 32; b++) {
        float d = 0.25f * (b + 1);
        blocks.set(SafeTensors.U16, b * 34L, Float.floatToFloat16(d));
        for (int k = 0; k < 32; k++) {
          byte q = (byte) (k * 9 - 127 + b);
          blocks.set(ValueLayout.JAVA_BYTE, b * 34L + 2 + k, q);
          expected[b * 32 + k] = d * q;
        }
      }
      RowMatrix m = RowMatrix.fromQ8Blocks(rows, cols, blocks, arena);
      for (int i = 0; i < rows * cols; i++) {
        assertThat(m.get(i / cols, i % cols)).isEqualTo(expected[i]);
        assertThat(RowMatrix.q8Block(blocks, i)).isEqualTo(expected[i]);
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
      RowKernels.head(m, all, 5, x, 0, OUT, new float[RowKernels.SCRATCH]);
      for (int b = 0; b < 5; b++) {
        float[][] one = new float[1][OUT];
        float[] xb = new float[IN];
        System.arraycopy(x, b * IN, xb, 0, IN);
        RowKernels.head(m, one, 1, xb, 0, OUT, new float[RowKernels.SCRATCH]);
        assertThat(all[b]).containsExactly(one[0], within(tolerance(format)));
      }
    }
  }
}
