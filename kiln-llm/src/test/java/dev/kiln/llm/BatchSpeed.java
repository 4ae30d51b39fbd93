package dev.kiln.llm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * An informal aggregate-throughput check of continuous batching, not a test: {@code streams}
 * concurrent greedy generations through the scheduler, total generated tokens per wall second. Run
 * after {@code mvn -pl kiln-llm test-compile}, as {@link DecodeSpeed}:
 *
 * <pre>
 * java --add-modules=jdk.incubator.vector -cp ... dev.kiln.llm.BatchSpeed [modelDir tokenizerDir
 *     threads tokens streams...]
 * </pre>
 */
final class BatchSpeed {
  private BatchSpeed() {}

  public static void main(String[] args) throws Exception {
    Path model = Path.of(args.length > 0 ? args[0] : "kiln-llm/src/test/resources/tiny-gpt2");
    Path tok = Path.of(args.length > 1 ? args[1] : "kiln-llm/src/test/resources/gpt2-tokenizer");
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 100;
    List<Integer> streamCounts = new ArrayList<>();
    for (int i = 4; i < args.length; i++) {
      streamCounts.add(Integer.parseInt(args[i]));
    }
    if (streamCounts.isEmpty()) {
      streamCounts = List.of(1, 4, 16);
    }
    String[] texts = {
      "In the beginning God created the heaven and the earth.",
      "The LORD is my shepherd;",
      "And God said,",
      "Blessed are the poor in spirit",
      "For God so loved the world",
      "Jesus wept.",
    };
    int max = streamCounts.stream().mapToInt(Integer::intValue).max().orElse(1);
    try (Gpt2Model m = Gpt2Model.load(model, tok, threads, 64, max)) {
      for (int round = 0; round < 3; round++) {
        for (int streams : streamCounts) {
          List<Callable<Integer>> calls = new ArrayList<>();
          for (int i = 0; i < streams; i++) {
            int[] prompt = m.tokenizer().encode(texts[i % texts.length]);
            calls.add(() -> m.generate(prompt, tokens, Sampler.Settings.GREEDY, new int[tokens]));
          }
          long t0 = System.nanoTime();
          long total = 0;
          try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Future<Integer> f : pool.invokeAll(calls)) {
              total += f.get();
            }
          }
          double seconds = (System.nanoTime() - t0) / 1e9;
          System.out.printf(
              "round %d: %2d streams, %5d tokens in %.2f s: %.0f tok/s aggregate%n",
              round, streams, total, seconds, total / seconds);
        }
      }
    }
  }
}
