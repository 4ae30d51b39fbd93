package dev.kiln.llm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A row-major matrix {@code [rows, cols]} of weights in one of three {@link Format}s, usually a
 * view of a mapped GGUF file: as a linear layer its rows are the output features ({@code out[j] =
 * W_j . x + bias_j}, torch's {@code [out, in]}), and as the token embedding its rows are the
 * vocabulary (looked up by {@link #row}, and the tied head's dot products). Arithmetic is in {@link
 * RowKernels}, always with fp32 accumulation.
 */
record RowMatrix(Format format, int rows, int cols, MemorySegment data) implements Matrix {
  /** How the weights are stored. */
  enum Format {
    /**
     * Little-endian fp32, in {@link #BF16}'s layout (rows interleaved by groups of 4 in chunks of L
     * columns), repacked at load: GGUF F32 and every conversion to fp32. Offsets: {@link
     * #tiledIndex}.
     */
    F32,
    /**
     * Little-endian fp32 rows in column order, as a file stores them: the mapped token and position
     * embeddings of a safetensors checkpoint, which are not copied.
     */
    F32_ROWS,
    /**
     * The top 16 bits of an fp32 (bfloat16), little-endian, rows interleaved by groups of 4 (the
     * kernels' tile) in chunks of one float vector's lanes L: for rows {@code 4g..4g+3}, columns
     * {@code [iL, (i+1)L)} of each row follow each other, then chunk i + 1; the columns past the
     * last whole chunk follow, row by row; the last group may hold fewer rows. A one-row product
     * then reads the matrix as one sequential stream (a 768-column row alone is 24 cache lines, too
     * short a stream for the hardware prefetcher). Offsets: {@link #bf16Offset}; GGUF's BF16 rows
     * are repacked by {@link #fromRows}.
     */
    BF16,
    /**
     * GGUF's Q8_0 (per 32 weights one scale d and 32 int8 q, weight = d * q) repacked for the
     * kernels: first the quants of all rows, then the scales (fp32, the fp16 values widened once at
     * load), both interleaved by groups of 4 rows (the kernels' tile): for rows {@code 4g..4g+3}
     * the quants of block k of each row follow each other ({@code 4 x 32} bytes), then block k + 1,
     * and so for the scales; the last group may hold fewer rows. A one-row product then reads the
     * matrix as one sequential stream (with 768 columns a row is only 12 cache lines, too short a
     * stream for the hardware prefetcher), and a 32-block never straddles a cache line. GGUF's own
     * interleaved 34-byte blocks are read by {@link #fromQ8Blocks}. Offsets: {@link #q8Quant},
     * {@link #q8Scale}.
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

    /**
     * Distance between two rows' first weights; for Q8_0 {@code cols}, so that {@code j * cols} is
     * where the quants of the group of 4 rows from j start (j a multiple of 4).
     */
    long rowStride(int cols) {
      return this == Q8_0 ? cols : rowBytes(cols);
    }
  }

  /** GGUF's Q8_0 block: an fp16 scale then 32 int8 quants. */
  static final int Q8_BLOCK_BYTES = 34;

  RowMatrix {
    if (rows < 1 || cols < 1 || (format == Format.Q8_0 && cols % 32 != 0)) {
      throw new IllegalArgumentException(format + " matrix of " + rows + " x " + cols);
    }
    if (data.byteSize() != rows * format.rowBytes(cols)) {
      throw new IllegalArgumentException(
          format
              + " ["
              + rows
              + ", "
              + cols
              + "] needs "
              + rows * format.rowBytes(cols)
              + " bytes");
    }
  }

  /** Bytes from one row's first weight to the next one's: see {@link Format#rowStride}. */
  long rowStride() {
    return format.rowStride(cols);
  }

  /**
   * Index of weight {@code (r, c)} of a {@code [rows, cols]} matrix in the 4-row interleaved layout
   * of {@link Format#F32} and {@link Format#BF16}, in elements.
   */
  static long tiledIndex(int rows, int cols, int r, int c) {
    int l = RowKernels.L;
    int g = r & ~(RowKernels.TILE - 1);
    int n = Math.min(RowKernels.TILE, rows - g);
    int whole = cols / l * l;
    long e =
        c < whole
            ? (long) (c / l) * l * n + (long) (r - g) * l + c % l
            : (long) whole * n + (long) (r - g) * (cols - whole) + (c - whole);
    return (long) g * cols + e;
  }

  /** Byte offset of BF16 weight {@code (r, c)} in a {@code [rows, cols]} matrix. */
  static long bf16Offset(int rows, int cols, int r, int c) {
    return 2L * tiledIndex(rows, cols, r, c);
  }

  /** Byte offset of Q8_0 quant {@code (r, c)} in a {@code [rows, cols]} matrix. */
  static long q8Quant(int rows, int cols, int r, int c) {
    int g = r & ~(RowKernels.TILE - 1);
    int n = Math.min(RowKernels.TILE, rows - g);
    return (long) g * cols + (long) (c / 32) * 32 * n + (r - g) * 32L + c % 32;
  }

  /** Byte offset of the Q8_0 scale of block {@code k} of row {@code r}. */
  static long q8Scale(int rows, int cols, int r, int k) {
    int g = r & ~(RowKernels.TILE - 1);
    int n = Math.min(RowKernels.TILE, rows - g);
    return (long) rows * cols + 4L * ((long) g * (cols / 32) + (long) k * n + (r - g));
  }

  /** Byte offset of the Q8_0 scales of the group of rows from {@code r}, a multiple of 4. */
  long scaleOffset(int r) {
    return q8Scale(rows, cols, r, 0);
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
    return RowKernels.TILE;
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
      case F32 -> data.get(SafeTensors.F32, 4L * tiledIndex(rows, cols, r, c));
      case F32_ROWS -> data.get(SafeTensors.F32, r * rowStride() + 4L * c);
      case BF16 ->
          Float.intBitsToFloat(
              (data.get(SafeTensors.U16, bf16Offset(rows, cols, r, c)) & 0xffff) << 16);
      case Q8_0 ->
          data.get(SafeTensors.F32, q8Scale(rows, cols, r, c / 32))
              * data.get(ValueLayout.JAVA_BYTE, q8Quant(rows, cols, r, c));
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
    MemorySegment out = arena.allocate(rows * format.rowBytes(cols), 64);
    long rb = format.rowStride(cols);
    float[] block = new float[32];
    // Columns in groups of 32 outermost, so that a transposed source (Conv1D [in, out] read as
    // [out, in]) is read 32 of its rows at a time, which stay in cache across the whole pass.
    for (int c0 = 0; c0 < cols; c0 += 32) {
      int n = Math.min(32, cols - c0);
      for (int r = 0; r < rows; r++) {
        for (int k = 0; k < n; k++) {
          block[k] = src.get(r, c0 + k);
        }
        switch (format) {
          case F32 -> {
            for (int k = 0; k < n; k++) {
              out.set(SafeTensors.F32, 4L * tiledIndex(rows, cols, r, c0 + k), block[k]);
            }
          }
          case F32_ROWS -> {
            for (int k = 0; k < n; k++) {
              out.set(SafeTensors.F32, r * rb + 4L * (c0 + k), block[k]);
            }
          }
          case BF16 -> {
            for (int k = 0; k < n; k++) {
              out.set(SafeTensors.U16, bf16Offset(rows, cols, r, c0 + k), toBf16(block[k]));
            }
          }
          case Q8_0 -> {
            float amax = 0;
            for (int k = 0; k < 32; k++) {
              amax = Math.max(amax, Math.abs(block[k]));
            }
            float d = amax / 127f;
            float id = d == 0 ? 0 : 1 / d;
            long b = q8Quant(rows, cols, r, c0);
            // the scale as GGUF stores it (fp16), widened back
            out.set(
                SafeTensors.F32,
                q8Scale(rows, cols, r, c0 / 32),
                Float.float16ToFloat(Float.floatToFloat16(d)));
            for (int k = 0; k < 32; k++) {
              float v = block[k] * id;
              // round half away from zero, as C's roundf
              int q = (int) (v >= 0 ? Math.floor(v + 0.5f) : -Math.floor(-v + 0.5f));
              out.set(ValueLayout.JAVA_BYTE, b + k, (byte) q);
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
    MemorySegment out = arena.allocate(rows * Format.Q8_0.rowBytes(cols), 64);
    int perRow = cols / 32;
    for (long b = 0; b < n / 32; b++) {
      long src = b * Q8_BLOCK_BYTES;
      int r = (int) (b / perRow);
      int k = (int) (b % perRow);
      out.set(
          SafeTensors.F32,
          q8Scale(rows, cols, r, k),
          Float.float16ToFloat(blocks.get(SafeTensors.U16, src)));
      MemorySegment.copy(blocks, src + 2, out, q8Quant(rows, cols, r, 32 * k), 32);
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
    MemorySegment out = arena.allocate(rows * rb, 64);
    // in runs that stay contiguous in both: a chunk of L columns, then the columns past the last
    int l = RowKernels.L;
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c += l) {
        int n = c + l <= cols ? l : cols - c;
        MemorySegment.copy(
            values, r * rb + size * c, out, size * tiledIndex(rows, cols, r, c), size * n);
      }
    }
    return new RowMatrix(format, rows, cols, out);
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
