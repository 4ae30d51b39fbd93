package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.Locale;

/**
 * One sequence's keys and values, per layer, for up to {@code capacity} positions: {@code layers x
 * capacity x d} elements each, {@code 2 * layers * capacity * d} elements in all, 4 bytes each in
 * {@link Format#F32} (75 MB for GPT-2 124M at its full 1024 positions, 128 KB for the tiny test
 * model) or 2 in {@link Format#BF16}. The scheduler sizes a sequence's cache to what it reserved
 * (prompt plus max_tokens) within its KV budget, and pools them. The keys are stored feature-major
 * with 16 spare positions per feature (0.6 MB a sequence for GPT-2 124M at fp32, outside the token
 * budget).
 */
final class KvCache {
  /**
   * How keys and values are stored. {@code BF16} rounds each to bfloat16 (to nearest, ties to even)
   * when it is written and widens it back exactly when attention reads it: half the memory and half
   * the bytes attention reads, which with many long sequences in a step rivals the weights'
   * traffic. llama.cpp's {@code --cache-type-k/-v bf16}; its default is f16, which the Vector API
   * cannot widen in lanes.
   */
  enum Format {
    F32(4),
    BF16(2);

    final int bytes;

    Format(int bytes) {
      this.bytes = bytes;
    }

    /**
     * {@code f32}/{@code fp32}/{@code float32}, {@code bf16}/{@code bfloat16}; {@code auto} (and
     * null) is null: {@link #forWeights}.
     */
    static Format parse(String name) {
      if (name == null) {
        return null;
      }
      return switch (name.strip().toLowerCase(Locale.ROOT)) {
        case "auto" -> null;
        case "f32", "fp32", "float32" -> F32;
        case "bf16", "bfloat16" -> BF16;
        default ->
            throw KilnException.of(
                ErrorKind.INTERNAL,
                "parameter %s must be auto, f32 or bf16, was '%s'",
                LlmRuntime.KV_CACHE_DTYPE,
                name);
      };
    }

    /**
     * {@code auto}: the weights' own precision, as vLLM's {@code --kv-cache-dtype auto} follows the
     * model's dtype and llama.cpp keeps a 16-bit cache beside quantised weights: fp32 for fp32
     * matrices, bf16 for bf16 and Q8_0 ones.
     */
    static Format forWeights(Gpt2Weights w) {
      return w.blockFormat() == RowMatrix.Format.F32 ? F32 : BF16;
    }
  }

  final Format format;
  // F32: [layer][d * keyStride] feature-major, feature j's positions at j * keyStride, and
  // [layer][capacity * d]; null in BF16
  final float[][] keys;
  final float[][] values;
  // BF16: the same layouts as bfloat16 bits; null in F32
  final short[][] keys16;
  final short[][] values16;
  final int keyStride; // capacity plus one cache line, so that the features are not 4 KB apart
  final int capacity; // positions it can hold
  int length; // positions filled

  KvCache(Gpt2Config c, int capacity, Format format) {
    this.format = format;
    this.capacity = capacity;
    this.keyStride = capacity + 16;
    int l = c.layers();
    int keyLength = keyStride * c.embedding();
    int valueLength = capacity * c.embedding();
    if (format == Format.F32) {
      keys = new float[l][keyLength];
      values = new float[l][valueLength];
      keys16 = null;
      values16 = null;
    } else {
      keys = null;
      values = null;
      keys16 = new short[l][keyLength];
      values16 = new short[l][valueLength];
    }
  }

  /** Stores the d values of {@code position} from {@code src[from..]} into layer {@code layer}. */
  void putValues(int layer, int position, float[] src, int from, int d) {
    if (format == Format.F32) {
      System.arraycopy(src, from, values[layer], position * d, d);
    } else {
      short[] v = values16[layer];
      for (int i = 0, o = position * d; i < d; i++) {
        v[o + i] = RowMatrix.toBf16(src[from + i]);
      }
    }
  }

  /** Stores feature {@code feature}'s key of {@code position} in layer {@code layer}. */
  void putKey(int layer, int feature, int position, float key) {
    int at = feature * keyStride + position;
    if (format == Format.F32) {
      keys[layer][at] = key;
    } else {
      keys16[layer][at] = RowMatrix.toBf16(key);
    }
  }

  /** Bytes one full-context fp32 cache holds for {@code c}. */
  static long bytes(Gpt2Config c) {
    return bytes(c, Format.F32);
  }

  static long bytes(Gpt2Config c, Format f) {
    return bytesPerToken(c, f) * c.positions();
  }

  /** Bytes of keys and values one position takes at fp32: 4 x (key + value) x layers x d. */
  static long bytesPerToken(Gpt2Config c) {
    return bytesPerToken(c, Format.F32);
  }

  /** Bytes of keys and values one position takes: element size x (key + value) x layers x d. */
  static long bytesPerToken(Gpt2Config c, Format f) {
    return 2L * f.bytes * c.layers() * c.embedding();
  }
}
