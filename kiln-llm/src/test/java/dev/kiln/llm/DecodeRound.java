package dev.kiln.llm;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * One loaded model and its decode rounds (64 greedy steps after a 128-token prompt, as {@link
 * LlmBench}'s decode-only), for {@link DecodeAB}, which loads two builds of kiln-llm side by side.
 */
public final class DecodeRound {
  private final Gpt2Model m;
  private final int[] prompt = new int[128];

  public DecodeRound(String model, String precision, int threads) throws Exception {
    m = Gpt2Model.load(Path.of(model), null, threads, 4, 1, Gpt2Weights.Precision.parse(precision));
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = r.nextInt(50000);
    }
  }

  /** tok/s of {@code n} greedy steps after the 128-token prompt. */
  public double round(int n) {
    Gpt2Engine e = m.engine();
    e.reset();
    float[] logits = e.forward(prompt, 0, 128);
    int[] out = new int[n];
    long s = System.nanoTime();
    for (int k = 0; k < n; k++) {
      out[k] = Sampler.argmax(logits);
      logits = e.forward(out, k, 1);
    }
    return n / ((System.nanoTime() - s) / 1e9);
  }
}
