package dev.kiln.llm;

import java.lang.foreign.MemorySegment;

/**
 * A linear layer's weight: {@code out = x @ W + bias} for a block of rows {@code x [rows, in]}. Two
 * layouts: {@link Conv1d}, Hugging Face GPT-2's own {@code [in, out]} F32 (safetensors as stored),
 * and {@link RowMatrix}, {@code [out, in]} rows in F32, BF16 or Q8_0 (GGUF's layout, and what
 * safetensors weights are converted to when quantised at load). Whatever the layout, each output
 * element is computed in the same order whatever the number of rows or the column slice, so results
 * do not depend on the batch.
 */
sealed interface Matrix permits Matrix.Conv1d, RowMatrix {
  int inputs();

  int outputs();

  /** Output columns are split between workers in multiples of this. */
  int grain();

  /** Bytes of weight data read by one pass over the matrix. */
  long bytes();

  /**
   * Columns {@code [from, to)} of {@code out[t] = x[t] @ W + bias (+ out[t] when accumulate)} for
   * rows {@code t < rows}; {@code x} is {@code [rows, inputs]}, {@code out} {@code [rows,
   * outputs]}, both dense; {@code scratch} is the calling worker's own, at least {@link
   * Kernels#PANEL} and {@link RowKernels#SCRATCH} floats; with {@code to - from} or more, a one-row
   * Conv1D product may use it for column sums.
   */
  void multiply(
      float[] out,
      float[] x,
      int rows,
      float[] bias,
      boolean accumulate,
      int from,
      int to,
      float[] scratch);

  /** {@code [in, out]} little-endian F32, as Hugging Face's Conv1D stores it. */
  record Conv1d(MemorySegment data, int inputs, int outputs) implements Matrix {
    @Override
    public int grain() {
      return Kernels.LANES;
    }

    @Override
    public long bytes() {
      return 4L * inputs * outputs;
    }

    @Override
    public void multiply(
        float[] out,
        float[] x,
        int rows,
        float[] bias,
        boolean accumulate,
        int from,
        int to,
        float[] scratch) {
      if (rows == 1 && scratch.length >= to - from) {
        Kernels.matvec(out, x, inputs, data, bias, outputs, accumulate, from, to, scratch);
      } else if (rows <= Kernels.MATVEC_ROWS) {
        Kernels.matrows(out, x, rows, inputs, data, bias, outputs, accumulate, from, to);
      } else {
        Kernels.matmul(out, x, rows, inputs, data, bias, outputs, accumulate, from, to, scratch);
      }
    }
  }
}
