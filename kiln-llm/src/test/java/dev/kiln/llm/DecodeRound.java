package dev.kiln.llm;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * One loaded model and its decode rounds (64 greedy steps after a 128-token prompt, as {@link
 * LlmBench}'s decode-only), for {@link DecodeAB}, which loads two builds of kiln-llm side by side.
 */
public final class DecodeRound {
  private final Gpt2Engine e;
  private final int[] prompt = randomPrompt(128);

  /** The prompt of the speed checks: {@code n} random ids below 50,000, seed 1. */
  static int[] randomPrompt(int n) {
    SplittableRandom r = new SplittableRandom(1);
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = r.nextInt(50000);
    }
    return ids;
  }

  DecodeRound(Gpt2Engine e) {
    this.e = e;
  }

  /** Loads {@code model}: how {@link DecodeAB} makes one in each build's class loader. */
  public DecodeRound(String model, String precision, int threads) throws Exception {
    this(
        Gpt2Model.load(Path.of(model), null, threads, 4, 1, Gpt2Weights.Precision.parse(precision))
            .engine());
  }

  /** tok/s of {@code n} greedy steps after the 128-token prompt. */
  public double round(int n) {
    e.reset();
    float[] logits = e.forward(prompt, 0, prompt.length);
    int[] out = new int[n];
    long s = System.nanoTime();
    for (int k = 0; k < n; k++) {
      out[k] = Sampler.argmax(logits);
      logits = e.forward(out, k, 1);
    }
    return n / ((System.nanoTime() - s) / 1e9);
  }
}
