package dev.kiln.llm;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A decode-kernel harness (not a test): the one-row products of every block matrix and the head of
 * a GGUF model, timed alone, on 1 thread and then on 2 (through {@link Workers}, one hand-off per
 * matrix as in a decode step), with no attention, layer norm or sampling in between. Reports the
 * weight bytes streamed per second and the decode rate this part alone would allow. Run like {@link
 * LlmBench}: {@code KernelBench <model.gguf> [precision] [seconds]}.
 */
final class KernelBench {
  private KernelBench() {}

  public static void main(String[] args) {
    Path file = Path.of(args[0]);
    var precision = Gpt2Weights.Precision.parse(args.length > 1 ? args[1] : "auto");
    double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 3;
    try (Arena arena = Arena.ofShared();
        Workers two = new Workers(2, "kernel-bench")) {
      GgufFile g = GgufFile.open(file, arena);
      Gpt2Config c = Gpt2Config.fromGguf(g);
      Gpt2Weights w = Gpt2Weights.fromGguf(g, c, precision, arena);
      List<Matrix> ms = new ArrayList<>();
      for (Gpt2Weights.Block b : w.blocks) {
        ms.addAll(List.of(b.attnWeight(), b.attnProjWeight(), b.fcWeight(), b.fcProjWeight()));
      }
      ms.add(w.tokenEmbedding);
      int maxIn = 0;
      int maxOut = 0;
      long bytes = 0;
      for (Matrix m : ms) {
        maxIn = Math.max(maxIn, m.inputs());
        maxOut = Math.max(maxOut, m.outputs());
        bytes += m.bytes();
      }
      SplittableRandom r = new SplittableRandom(3);
      float[] x = new float[maxIn];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      float[] out = new float[maxOut];
      float[] bias = new float[maxOut];
      float[][] scratch = new float[2][Math.max(16, maxOut)];
      System.out.printf("%s: %s, %.1f MB per pass%n", file, w.describe(), bytes / 1e6);
      for (int threads : new int[] {1, 2, 1, 2}) {
        double[] passes = new double[5];
        for (int k = 0; k < passes.length; k++) {
          long s = System.nanoTime();
          int n = 0;
          do {
            for (Matrix m : ms) {
              if (threads == 1) {
                m.multiply(out, x, 1, bias, false, 0, m.outputs(), scratch[0]);
              } else {
                two.run((i, count) ->
                    m.multiply(
                        out,
                        x,
                        1,
                        bias,
                        false,
                        Workers.from(m.outputs(), m.grain(), i, count),
                        Workers.to(m.outputs(), m.grain(), i, count),
                        scratch[i]));
              }
            }
            n++;
          } while (System.nanoTime() - s < seconds * 1e9 / passes.length);
          passes[k] = n / ((System.nanoTime() - s) / 1e9);
        }
        Arrays.sort(passes);
        double p = passes[passes.length / 2];
        System.out.printf(
            "%d thread(s): %.1f passes/s (median of 5), %.1f GB/s%n", threads, p, p * bytes / 1e9);
      }
    }
  }
}
