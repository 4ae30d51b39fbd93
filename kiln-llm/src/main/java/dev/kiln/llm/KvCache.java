package dev.kiln.llm;

/**
 * One sequence's keys and values, per layer, for every position of the context: {@code layers x
 * positions x d} floats each, {@code 8 * layers * positions * d} bytes in all (75 MB for GPT-2 124M
 * with its 1024 positions, 128 KB for the tiny test model). The scheduler keeps a pool of them, one
 * per running sequence.
 */
final class KvCache {
  final float[][] keys; // [layer][positions * d]
  final float[][] values; // [layer][positions * d]
  int length; // positions filled

  KvCache(Gpt2Config c) {
    keys = new float[c.layers()][c.positions() * c.embedding()];
    values = new float[c.layers()][c.positions() * c.embedding()];
  }

  /** Bytes one cache holds for {@code c}. */
  static long bytes(Gpt2Config c) {
    return 8L * c.layers() * c.positions() * c.embedding();
  }
}
