package dev.kiln.llm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A matrix {@code [rows, cols]} of weights in one of four {@link Format}s: as a linear layer its
 * rows are the output features ({@code out[j] = W_j . x + bias_j}, torch's {@code [out, in]}), and
 * as the token embedding its rows are the vocabulary (looked up by {@link #row}, and the tied
 * head's products). F32, BF16 and Q8_0 are copies made at load in {@linkplain #P column panels};
 * F32_ROWS is a view of a mapped file as it is. Arithmetic is in {@link RowKernels}, always with
 * fp32 accumulation.
 */
record RowMatrix(Format format, int rows, int cols, MemorySegment data) implements Matrix {
  /** How the weights are stored. */
  enum Format {
    /**
     * Little-endian fp32 in {@linkplain #P column panels}, repacked at load: GGUF F32 and every
     * conversion to fp32. Offsets: {@link #panelIndex}.
     */
    F32,
    /**
     * Little-endian fp32 rows in column order, as a file stores them: the mapped token and position
     * embeddings of a safetensors checkpoint, which are not copied.
     */
    F32_ROWS,
    /**
     * The top 16 bits of an fp32 (bfloat16), little-endian, in {@linkplain #P column panels};
     * GGUF's BF16 rows are repacked by {@link #fromRows}. Offsets: {@link #bf16Offset}.
     */
    BF16,
    /**
     * GGUF's Q8_0 (per 32 weights of a row one scale d and 32 int8 q, weight = d * q) repacked in
     * {@linkplain #P column panels}: per panel of P rows and per 32-column block, the block's
     * quants column by column ({@code 32 x P} bytes, column c's P quants one after another), then
     * the P rows' scales (fp32, the fp16 values widened once at load). A panel is then one
     * sequential stream, each column of it one cache line (P = 64 with 16 lanes). GGUF's own
     * 34-byte blocks are read by {@link #fromQ8Blocks}. Offsets: {@link #q8Quant}, {@link
     * #q8Scale}.
     */
    Q8_0;

    /** Bytes per row, scales included. */
    long rowBytes(int cols) {
      return switch (this) {
        case F32, F32_ROWS -> 4L * cols;
        case BF16 -> 2L * cols;
        case Q8_0 -> cols + scaleStride(cols);
      };
    }

    /** Bytes of a {@code [rows, cols]} matrix: the column-panel formats pad the last panel. */
    long bytes(int rows, int cols) {
      return (this == F32_ROWS ? rows : panels(rows) * (long) P) * rowBytes(cols);
    }
  }

  /**
   * Rows per column panel: 4 float vectors. In the F32, BF16 and Q8_0 formats the rows are stored
   * in panels of P (the last one padded with zero rows): within a panel, column c's P weights are
   * adjacent, then column c + 1's. A kernel then computes P output features at once as 4 vector
   * accumulators, broadcasting one activation per column: every output is a single chain over the
   * columns in order (no lane sums to reduce), the same in a one-row product and in a tile of many
   * rows, and a one-row product reads the matrix as one sequential stream.
   */
  static final int P = 4 * Kernels.LANES;

  /** GGUF's Q8_0 block: an fp16 scale then 32 int8 quants. */
  static final int Q8_BLOCK_BYTES = 34;

  RowMatrix {
    if (rows < 1 || cols < 1 || (format == Format.Q8_0 && cols % 32 != 0)) {
      throw new IllegalArgumentException(format + " matrix of " + rows + " x " + cols);
    }
    if (data.byteSize() != format.bytes(rows, cols)) {
      throw new IllegalArgumentException(
          format + " [" + rows + ", " + cols + "] needs " + format.bytes(rows, cols) + " bytes");
    }
  }

  /** Column panels of a matrix of {@code rows} rows. */
  static int panels(int rows) {
    return (rows + P - 1) / P;
  }

  /** Bytes from one row to the next of an {@link Format#F32_ROWS} matrix. */
  long rowStride() {
    return format.rowBytes(cols);
  }

  /** Bytes of one column panel: P rows. */
  long panelBytes() {
    return P * format.rowBytes(cols);
  }

  /** Index of weight {@code (r, c)} of an F32 or BF16 matrix {@code cols} wide, in elements. */
  static long panelIndex(int cols, int r, int c) {
    return (long) (r / P) * P * cols + (long) c * P + r % P;
  }

  /** Byte offset of BF16 weight {@code (r, c)} in a matrix {@code cols} wide. */
  static long bf16Offset(int cols, int r, int c) {
    return 2L * panelIndex(cols, r, c);
  }

  /** Bytes of one 32-column block of a Q8_0 panel: its quants, then its P scales. */
  static final long Q8_PANEL_BLOCK = 36L * P;

  /** Byte offset of Q8_0 quant {@code (r, c)} in a matrix {@code cols} wide. */
  static long q8Quant(int cols, int r, int c) {
    return (long) (r / P) * P * Format.Q8_0.rowBytes(cols)
        + c / 32 * Q8_PANEL_BLOCK
        + (long) (c % 32) * P
        + r % P;
  }

  /** Byte offset of the Q8_0 scale of block {@code k} of row {@code r}. */
  static long q8Scale(int cols, int r, int k) {
    return (long) (r / P) * P * Format.Q8_0.rowBytes(cols)
        + k * Q8_PANEL_BLOCK
        + 32L * P
        + 4L * (r % P);
  }

  /** Bytes of one row's Q8_0 scales: one fp32 per 32 weights. */
  static long scaleStride(int cols) {
    return cols / 32 * 4L;
  }

  @Override
  public int inputs() {
    return cols;
  }

  @Override
  public int outputs() {
    return rows;
  }

  @Override
  public int grain() {
    return format == Format.F32_ROWS ? RowKernels.TILE : P;
  }

  @Override
  public long bytes() {
    return data.byteSize();
  }

  @Override
  public void multiply(
      float[] out,
      float[] x,
      int rowsOfX,
      float[] bias,
      boolean accumulate,
      int from,
      int to,
      float[] scratch) {
    RowKernels.multiply(this, out, x, rowsOfX, bias, accumulate, from, to, scratch);
  }

  /** Weight {@code (r, c)} as a float. */
  float get(int r, int c) {
    return switch (format) {
      case F32 -> data.get(SafeTensors.F32, 4L * panelIndex(cols, r, c));
      case F32_ROWS -> data.get(SafeTensors.F32, r * rowStride() + 4L * c);
      case BF16 ->
          Float.intBitsToFloat((data.get(SafeTensors.U16, bf16Offset(cols, r, c)) & 0xffff) << 16);
      case Q8_0 ->
          data.get(SafeTensors.F32, q8Scale(cols, r, c / 32))
              * data.get(ValueLayout.JAVA_BYTE, q8Quant(cols, r, c));
    };
  }

  /** Row {@code r} as floats into {@code dst[off, off + cols)}: an embedding lookup. */
  void row(int r, float[] dst, int off) {
    if (format == Format.F32_ROWS) {
      MemorySegment.copy(data, SafeTensors.F32, r * rowStride(), dst, off, cols);
      return;
    }
    for (int c = 0; c < cols; c++) {
      dst[off + c] = get(r, c);
    }
  }

  /** Reads element (r, c) of a source matrix while converting it. */
  @FunctionalInterface
  interface Source {
    float get(int r, int c);
  }

  /**
   * {@code [rows, cols]} of {@code src} converted to {@code format}, off the heap in {@code arena}:
   * BF16 rounds to nearest even; Q8_0 takes, per 32 values, d = max|v| / 127 (stored as fp16) and q
   * = round(v / d), as ggml's reference quantiser.
   */
  static RowMatrix convert(Format format, int rows, int cols, Source src, Arena arena) {
    MemorySegment out = arena.allocate(format.bytes(rows, cols), 64);
    long rb = format.rowBytes(cols);
    float[] block = new float[32];
    // A panel's rows at a time, and within them columns in groups of 32, so that the writes of a
    // panel stay in cache, and a transposed source (Conv1D [in, out] read as [out, in]) is read
    // P of its columns at a time.
    for (int r0 = 0; r0 < rows; r0 += P) {
      for (int c0 = 0; c0 < cols; c0 += 32) {
        int n = Math.min(32, cols - c0);
        for (int r = r0; r < Math.min(rows, r0 + P); r++) {
          for (int k = 0; k < n; k++) {
            block[k] = src.get(r, c0 + k);
          }
          switch (format) {
            case F32 -> {
              for (int k = 0; k < n; k++) {
                out.set(SafeTensors.F32, 4L * panelIndex(cols, r, c0 + k), block[k]);
              }
            }
            case F32_ROWS -> {
              for (int k = 0; k < n; k++) {
                out.set(SafeTensors.F32, r * rb + 4L * (c0 + k), block[k]);
              }
            }
            case BF16 -> {
              for (int k = 0; k < n; k++) {
                out.set(SafeTensors.U16, bf16Offset(cols, r, c0 + k), toBf16(block[k]));
              }
            }
            case Q8_0 -> {
              float amax = 0;
              for (int k = 0; k < 32; k++) {
                amax = Math.max(amax, Math.abs(block[k]));
              }
              float d = amax / 127f;
              float id = d == 0 ? 0 : 1 / d;
              long b = q8Quant(cols, r, c0);
              // the scale as GGUF stores it (fp16), widened back
              out.set(
                  SafeTensors.F32,
                  q8Scale(cols, r, c0 / 32),
                  Float.float16ToFloat(Float.floatToFloat16(d)));
              for (int k = 0; k < 32; k++) {
                float v = block[k] * id;
                // round half away from zero, as C's roundf
                int q = (int) (v >= 0 ? Math.floor(v + 0.5f) : -Math.floor(-v + 0.5f));
                out.set(ValueLayout.JAVA_BYTE, b + (long) k * P, (byte) q);
              }
            }
          }
        }
      }
    }
    return new RowMatrix(format, rows, cols, out);
  }

  /**
   * A {@code [rows, cols]} matrix of GGUF Q8_0 blocks (row-major, {@value #Q8_BLOCK_BYTES} bytes
   * per 32 weights), repacked into {@link Format#Q8_0}'s layout off the heap in {@code arena}: the
   * same quants and scales, so the same weights.
   */
  static RowMatrix fromQ8Blocks(int rows, int cols, MemorySegment blocks, Arena arena) {
    long n = (long) rows * cols;
    if (cols % 32 != 0 || blocks.byteSize() != n / 32 * Q8_BLOCK_BYTES) {
      throw new IllegalArgumentException("Q8_0 blocks of " + rows + " x " + cols);
    }
    MemorySegment out = arena.allocate(Format.Q8_0.bytes(rows, cols), 64);
    int perRow = cols / 32;
    // panel by panel, block by block, so that the writes are sequential
    for (int r0 = 0; r0 < rows; r0 += P) {
      int r1 = Math.min(rows, r0 + P);
      for (int k = 0; k < perRow; k++) {
        for (int r = r0; r < r1; r++) {
          long src = ((long) r * perRow + k) * Q8_BLOCK_BYTES;
          out.set(
              SafeTensors.F32,
              q8Scale(cols, r, k),
              Float.float16ToFloat(blocks.get(SafeTensors.U16, src)));
        }
        for (int e = 0; e < 32; e++) {
          long q = q8Quant(cols, r0, 32 * k + e);
          for (int r = r0; r < r1; r++) {
            long src = ((long) r * perRow + k) * Q8_BLOCK_BYTES + 2 + e;
            out.set(ValueLayout.JAVA_BYTE, q + (r - r0), blocks.get(ValueLayout.JAVA_BYTE, src));
          }
        }
      }
    }
    return new RowMatrix(Format.Q8_0, rows, cols, out);
  }

  /**
   * A {@code [rows, cols]} matrix of GGUF F32 or BF16 values (row-major, in column order), repacked
   * into {@code format}'s ({@link Format#F32} or {@link Format#BF16}) interleaved layout off the
   * heap in {@code arena}: the same bits.
   */
  static RowMatrix fromRows(Format format, int rows, int cols, MemorySegment values, Arena arena) {
    long size = format == Format.F32 ? 4 : format == Format.BF16 ? 2 : 0;
    long rb = size * cols;
    if (size == 0 || values.byteSize() != rows * rb) {
      throw new IllegalArgumentException(format + " values of " + rows + " x " + cols);
    }
    MemorySegment out = arena.allocate(format.bytes(rows, cols), 64);
    // panel by panel, column by column, so that the writes are sequential
    for (int r0 = 0; r0 < rows; r0 += P) {
      int r1 = Math.min(rows, r0 + P);
      for (int c = 0; c < cols; c++) {
        long to = size * panelIndex(cols, r0, c);
        for (int r = r0; r < r1; r++, to += size) {
          long from = r * rb + size * c;
          if (size == 4) {
            out.set(SafeTensors.F32, to, values.get(SafeTensors.F32, from));
          } else {
            out.set(SafeTensors.U16, to, values.get(SafeTensors.U16, from));
          }
        }
      }
    }
    return new RowMatrix(format, rows, cols, out);
  }

  /**
   * Hugging Face's Conv1D weight {@code [in, out]} (little-endian F32, as a safetensors file stores
   * it) as an {@link Format#F32} matrix {@code [out, in]} off the heap in {@code arena}: the same
   * bits, transposed. In that layout a panel's column k is P adjacent floats of the source row k,
   * so the repack is one copy per panel and column.
   */
  static RowMatrix fromConv1d(int in, int out, MemorySegment values, Arena arena) {
    if (values.byteSize() != 4L * in * out) {
      throw new IllegalArgumentException("Conv1D values of " + in + " x " + out);
    }
    MemorySegment dst = arena.allocate(Format.F32.bytes(out, in), 64);
    for (int r0 = 0; r0 < out; r0 += P) {
      int valid = Math.min(P, out - r0);
      for (int k = 0; k < in; k++) {
        MemorySegment.copy(
            values, 4L * ((long) k * out + r0), dst, 4L * panelIndex(in, r0, k), 4L * valid);
      }
    }
    return new RowMatrix(Format.F32, out, in, dst);
  }

  /** Element {@code i} of a tensor of GGUF Q8_0 blocks. */
  static float q8Block(MemorySegment blocks, long i) {
    long block = i / 32 * Q8_BLOCK_BYTES;
    return Float.float16ToFloat(blocks.get(SafeTensors.U16, block))
        * blocks.get(ValueLayout.JAVA_BYTE, block + 2 + i % 32);
  }

  /** fp32 to bfloat16 bits, round to nearest even (NaN stays NaN). */
  static short toBf16(float v) {
    int bits = Float.floatToRawIntBits(v);
    if (Float.isNaN(v)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
  }
}
