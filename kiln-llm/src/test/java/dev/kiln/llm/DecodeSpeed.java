package dev.kiln.llm;

import java.nio.file.Path;

/**
 * An informal single-stream speed check, not a test (timed assertions do not belong in unit tests;
 * JMH benchmarks belong in kiln-jmh). Run after {@code mvn -pl kiln-llm test-compile}:
 *
 * <pre>
 * java --add-modules=jdk.incubator.vector -cp kiln-llm/target/classes:kiln-llm/target/test-classes:$(cat cp.txt) \
 *     dev.kiln.llm.DecodeSpeed [modelDir tokenizerDir threads tokens]
 * </pre>
 */
final class DecodeSpeed {
  private DecodeSpeed() {}

  public static void main(String[] args) {
    Path model = Path.of(args.length > 0 ? args[0] : "kiln-llm/src/test/resources/tiny-gpt2");
    Path tok = Path.of(args.length > 1 ? args[1] : "kiln-llm/src/test/resources/gpt2-tokenizer");
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 100;
    try (Gpt2Model m = Gpt2Model.load(model, tok, threads)) {
      int[] prompt = m.tokenizer().encode("In the beginning God created the heaven and the earth.");
      int[] out = new int[tokens];
      Gpt2Engine engine = m.engine();
      for (int round = 0; round < 8; round++) {
        // Decode straight through the engine (no EOS stop) so every round times `tokens` steps.
        engine.reset();
        long t0 = System.nanoTime();
        float[] logits = engine.forward(prompt, 0, prompt.length);
        long t1 = System.nanoTime();
        int n = 0;
        while (n < tokens && engine.length() < engine.config().positions()) {
          out[n] = Sampler.argmax(logits);
          logits = engine.forward(out, n++, 1);
        }
        long t2 = System.nanoTime();
        System.out.printf(
            "round %d: prefill %d tokens %.2f ms, decode %d tokens %.1f tok/s%n",
            round, prompt.length, (t1 - t0) / 1e6, n, n / ((t2 - t1) / 1e9));
      }
      System.out.println(m.tokenizer().decode(java.util.Arrays.copyOf(out, 20)));
    }
  }
}
