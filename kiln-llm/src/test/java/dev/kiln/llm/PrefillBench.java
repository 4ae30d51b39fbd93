package dev.kiln.llm;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * A prefill harness (not a test): times {@code reps} prefills of one {@code tokens}-token prompt on
 * {@code threads} workers, each from an empty cache, and prints the median and best of the last two
 * thirds (the first third warms the JIT up). TTFT alone, for A/B runs and profiles that {@link
 * LlmBench}'s fixed 128 / 512 / 1024 sequence would dilute. Run like {@link LlmBench}: {@code
 * PrefillBench <model> <threads> <tokens> <reps>}.
 */
final class PrefillBench {
  private PrefillBench() {}

  public static void main(String[] args) throws Exception {
    Path model = Path.of(args[0]);
    int threads = Integer.parseInt(args[1]);
    int tokens = Integer.parseInt(args[2]);
    int reps = Integer.parseInt(args[3]);
    try (Gpt2Model m = Gpt2Model.load(model, null, threads, 4, 1, Gpt2Weights.Precision.AUTO)) {
      Gpt2Engine e = m.engine();
      int[] prompt = DecodeRound.randomPrompt(tokens);
      double[] ms = new double[reps];
      for (int k = 0; k < reps; k++) {
        e.reset();
        long s = System.nanoTime();
        e.forward(prompt, 0, tokens);
        ms[k] = (System.nanoTime() - s) / 1e6;
      }
      double[] measured = Arrays.copyOfRange(ms, reps / 3, reps);
      Arrays.sort(measured);
      System.out.printf(
          "%d threads, TTFT(%d) median %.1f ms, best %.1f ms (%d prefills)%n",
          threads, tokens, measured[measured.length / 2], measured[0], measured.length);
    }
  }
}
