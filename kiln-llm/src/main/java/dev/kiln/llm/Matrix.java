package dev.kiln.llm;

/**
 * A linear layer's weight: {@code out = x @ W + bias} for a block of rows {@code x [rows, in]}. One
 * layout so far, {@link RowMatrix}: {@code [out, in]} in column panels of F32, BF16 or Q8_0, which
 * GGUF weights are read into and Hugging Face's {@code [in, out]} Conv1D weights are transposed
 * into at load. Each output element is computed in the same order whatever the number of rows or
 * the column slice, so results do not depend on the batch.
 */
sealed interface Matrix permits RowMatrix {
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
   * RowKernels#SCRATCH} floats.
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
}
