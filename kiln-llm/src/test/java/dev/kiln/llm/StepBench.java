package dev.kiln.llm;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A multi-row decode-step harness (not a test): times whole engine steps of {@code rows} decode
 * rows (each its own sequence at position {@code position}, all wanting logits), optionally with a
 * prefill chunk of {@code chunk} rows of one more sequence riding along, and then the parts of such
 * a step alone on the engine's two workers: the linear layers of each shape, the tied head, and
 * attention is the rest. Run like {@link LlmBench}: {@code StepBench <modelDir> [position]
 * [rows...]}.
 */
final class StepBench {
  private StepBench() {}

  public static void main(String[] args) {
    Path model = Path.of(args[0]);
    int position = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    int[] rowCounts = {1, 2, 4, 8, 16};
    if (args.length > 2) {
      rowCounts = new int[args.length - 2];
      for (int i = 2; i < args.length; i++) {
        rowCounts[i - 2] = Integer.parseInt(args[i]);
      }
    }
    // -Dllmbench.kv=bf16: the sequences' keys and values stored as bf16
    var kv = KvCache.Format.parse(System.getProperty("llmbench.kv", "f32"));
    try (Gpt2Model m = Gpt2Model.load(model, null, 2, 4, 16, 0, Gpt2Weights.Precision.AUTO, kv)) {
      Gpt2Engine e = m.engine();
      Gpt2Config c = e.config();
      Gpt2Weights w = e.weights();
      int d = c.embedding();
      SplittableRandom r = new SplittableRandom(1);
      KvCache[] caches = new KvCache[17];
      int[][] tokens = new int[17][];
      for (int s = 0; s < 17; s++) {
        caches[s] = e.newCache(position + 256);
        tokens[s] = new int[256];
        for (int i = 0; i < 256; i++) {
          tokens[s][i] = r.nextInt(50000);
        }
        for (int l = 0; l < c.layers(); l++) {
          for (int j = 0; j < d; j++) {
            for (int p = 0; p < caches[s].capacity; p++) {
              caches[s].putKey(l, j, p, (float) r.nextGaussian() * 0.1f);
            }
          }
        }
      }
      int[] from = new int[17];
      int[] counts = new int[17];
      int[] logitRow = new int[17];
      double profile = Double.parseDouble(System.getProperty("stepbench.profile", "0"));
      for (int round = profile > 0 ? 3 : 0; round < 3; round++) {
        for (int chunk : new int[] {0, 64}) {
          for (int rows : rowCounts) {
            if (chunk > 0 && rows != rowCounts[rowCounts.length - 1]) {
              continue;
            }
            int segments = rows + (chunk > 0 ? 1 : 0);
            for (int s = 0; s < segments; s++) {
              counts[s] = s < rows ? 1 : chunk;
              from[s] = 0;
              logitRow[s] = s < rows ? s : -1;
            }
            double[] ms = new double[30];
            for (int k = -10; k < ms.length; k++) {
              for (int s = 0; s < segments; s++) {
                caches[s].length = s < rows ? position : 0;
              }
              long t0 = System.nanoTime();
              e.step(segments, caches, tokens, from, counts, logitRow);
              if (k >= 0) {
                ms[k] = (System.nanoTime() - t0) / 1e6;
              }
            }
            Arrays.sort(ms);
            if (round < 2) {
              continue;
            }
            System.out.printf(
                "step: %2d decode rows%s at position %d: median %.2f ms, best %.2f ms%n",
                rows, chunk > 0 ? " + " + chunk + "-row chunk" : "", position, ms[15], ms[0]);
          }
        }
      }

      if (profile > 0) {
        // steps of the last row count only, for a profiler
        int rows = rowCounts[rowCounts.length - 1];
        for (int s = 0; s < rows; s++) {
          counts[s] = 1;
          logitRow[s] = s;
        }
        for (int k = 0; k < 100; k++) {
          for (int s = 0; s < rows; s++) {
            caches[s].length = position;
          }
          e.step(rows, caches, tokens, from, counts, logitRow);
        }
        long end = System.nanoTime() + (long) (profile * 1e9);
        int n = 0;
        long t0 = System.nanoTime();
        while (System.nanoTime() < end) {
          for (int s = 0; s < rows; s++) {
            caches[s].length = position;
          }
          e.step(rows, caches, tokens, from, counts, logitRow);
          n++;
        }
        System.out.printf(
            "profile: %d steps, %.2f ms each%n", n, (System.nanoTime() - t0) / 1e6 / n);
        return;
      }
      // The parts alone, on two workers as in a step.
      try (Workers two = new Workers(2, "step-bench")) {
        float[][] scratch = new float[2][RowKernels.SCRATCH];
        int maxRows = 80;
        float[] x = new float[maxRows * 4 * d];
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) r.nextGaussian();
        }
        float[] out = new float[maxRows * 4 * d];
        float[][] logits = new float[16][c.vocabularySize()];
        for (int rows : rowCounts) {
          double total = 0;
          StringBuilder sb = new StringBuilder();
          Gpt2Weights.Block b0 = w.blocks[0];
          Matrix[] shapes = {
            b0.attnWeight(), b0.attnProjWeight(), b0.fcWeight(), b0.fcProjWeight()
          };
          float[][] biases = {b0.attnBias(), b0.attnProjBias(), b0.fcBias(), b0.fcProjBias()};
          for (int q = 0; q < shapes.length; q++) {
            Matrix mm = shapes[q];
            float[] bias = biases[q];
            // all 12 layers' matrices of this shape, so the weights come from memory as in a step
            double best = Double.MAX_VALUE;
            double[] ms = new double[15];
            for (int k = -5; k < ms.length; k++) {
              long t0 = System.nanoTime();
              for (Gpt2Weights.Block b : w.blocks) {
                Matrix layer =
                    switch (q) {
                      case 0 -> b.attnWeight();
                      case 1 -> b.attnProjWeight();
                      case 2 -> b.fcWeight();
                      default -> b.fcProjWeight();
                    };
                two.run((i, n) ->
                    layer.multiply(
                        out,
                        x,
                        rows,
                        bias,
                        false,
                        Workers.from(layer.outputs(), layer.grain(), i, n),
                        Workers.to(layer.outputs(), layer.grain(), i, n),
                        scratch[i]));
              }
              if (k >= 0) {
                ms[k] = (System.nanoTime() - t0) / 1e6;
              }
            }
            Arrays.sort(ms);
            double med = ms[ms.length / 2];
            total += med;
            double gflops = 2.0 * rows * mm.inputs() * mm.outputs() * 12 / (med / 1e3) / 1e9;
            sb.append(
                String.format(
                    " %dx%d %.2f ms (%.0f GF/s)", mm.inputs(), mm.outputs(), med, gflops));
          }
          double[] hs = new double[15];
          int hr = Math.min(rows, 16);
          for (int k = -5; k < hs.length; k++) {
            long t0 = System.nanoTime();
            int vocab = c.vocabularySize();
            two.run((i, n) ->
                RowKernels.head(
                    w.tokenEmbedding,
                    logits,
                    hr,
                    x,
                    Workers.from(vocab, w.tokenEmbedding.grain(), i, n),
                    Workers.to(vocab, w.tokenEmbedding.grain(), i, n),
                    scratch[i]));
            if (k >= 0) {
              hs[k] = (System.nanoTime() - t0) / 1e6;
            }
          }
          Arrays.sort(hs);
          double head = hs[hs.length / 2];
          System.out.printf(
              "parts, %2d rows: conv1d %.2f ms [%s ], head %.2f ms (%.0f GF/s)%n",
              rows, total, sb, head, 2.0 * hr * c.vocabularySize() * d / (head / 1e3) / 1e9);
        }
      }
    }
  }
}
