package dev.kiln.llm;

/**
 * One sequence's keys and values, per layer, for up to {@code capacity} positions: {@code layers x
 * capacity x d} floats each, {@code 8 * layers * capacity * d} bytes in all (75 MB for GPT-2 124M
 * at its full 1024 positions, 128 KB for the tiny test model). The scheduler sizes a sequence's
 * cache to what it reserved (prompt plus max_tokens) within its KV budget, and pools them. The keys
 * are stored feature-major with 16 spare positions per feature (0.6 MB a sequence for GPT-2 124M,
 * outside the token budget).
 */
final class KvCache {
  final float[][]
      keys; // [layer][d * keyStride]: feature-major, feature j's positions at j * keyStride
  final int keyStride; // capacity plus one cache line, so that the features are not 4 KB apart
  final float[][] values; // [layer][capacity * d]
  final int capacity; // positions it can hold
  int length; // positions filled

  /** A cache for the whole context. */
  KvCache(Gpt2Config c) {
    this(c, c.positions());
  }

  KvCache(Gpt2Config c, int capacity) {
    this.capacity = capacity;
    this.keyStride = capacity + 16;
    keys = new float[c.layers()][keyStride * c.embedding()];
    values = new float[c.layers()][capacity * c.embedding()];
  }

  /** Bytes one full-context cache holds for {@code c}. */
  static long bytes(Gpt2Config c) {
    return bytesPerToken(c) * c.positions();
  }

  /** Bytes of keys and values one position takes: 4 bytes x (key + value) x layers x d. */
  static long bytesPerToken(Gpt2Config c) {
    return 8L * c.layers() * c.embedding();
  }
}
