package dev.kiln.llm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The issue-7 benchmark harness (not a test): TTFT (one batched prefill) at 128, 512 and 1024
 * tokens, single-stream greedy decode tok/s after a 128-token prompt, RSS, and bytes of weights per
 * token, for a model directory or .gguf file at a weights precision. {@code bandwidth} instead
 * measures read bandwidth (two threads summing a 1 GiB float array with the Vector API). Run after
 * {@code mvn -pl kiln-llm -am test-compile}; see docs/benchmarks.md for the command line.
 */
final class LlmBench {
  private LlmBench() {}

  public static void main(String[] args) throws Exception {
    if (args[0].equals("bandwidth")) {
      // an optional size in MiB (default 1024): under the L3's size it measures the L3
      bandwidth(args.length > 1 ? Integer.parseInt(args[1]) : 1024);
      return;
    }
    Path model = Path.of(args[0]);
    var precision = Gpt2Weights.Precision.parse(args.length > 1 ? args[1] : "auto");
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    int decode = args.length > 3 ? Integer.parseInt(args[3]) : 64;
    boolean decodeOnly = args.length > 4 && args[4].equals("decode-only");
    long t0 = System.nanoTime();
    // -Dllmbench.kv=bf16: keys and values stored as bf16 (the model parameter kv-cache-dtype)
    var kv = KvCache.Format.parse(System.getProperty("llmbench.kv", "f32"));
    try (Gpt2Model m = Gpt2Model.load(model, null, threads, 4, 1, 0, precision, kv)) {
      System.out.printf(
          "load %.0f ms, %s, %.1f MB of weights per token%n",
          (System.nanoTime() - t0) / 1e6,
          m.engine().weights().describe(),
          m.engine().weights().bytesPerToken() / 1e6);
      Gpt2Engine e = m.engine();
      int[] prompt = DecodeRound.randomPrompt(1024);
      for (int n : decodeOnly ? new int[0] : new int[] {128, 512, 1024}) {
        double[] ms = new double[n == 1024 ? 3 : 5];
        for (int k = 0; k < ms.length; k++) {
          e.reset();
          long s = System.nanoTime();
          e.forward(prompt, 0, n);
          ms[k] = (System.nanoTime() - s) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf("TTFT(%d) median %.1f ms, best %.1f ms%n", n, ms[ms.length / 2], ms[0]);
      }
      DecodeRound d = new DecodeRound(e);
      double[] rounds = new double[decodeOnly ? 7 : 3];
      for (int round = 0; round < rounds.length; round++) {
        double tps = d.round(decode);
        rounds[round] = tps;
        System.out.printf("decode round %d: %.1f tok/s%n", round, tps);
      }
      Arrays.sort(rounds);
      System.out.printf(
          "decode median %.1f tok/s, best %.1f tok/s%n",
          rounds[rounds.length / 2], rounds[rounds.length - 1]);
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS") || line.startsWith("VmHWM")) {
          System.out.println(line);
        }
      }
    }
  }

  private static volatile float sink;

  private static void bandwidth(int mib) throws Exception {
    int n = mib << 18; // floats: 1 GiB by default, past the L3 of the boxes seen so far
    float[][] halves = {new float[n / 2], new float[n / 2]};
    for (float[] h : halves) {
      Arrays.fill(h, 1f);
    }
    double[] rates = new double[12];
    for (int round = 0; round < rates.length; round++) {
      Thread[] ts = new Thread[2];
      long s = System.nanoTime();
      for (int t = 0; t < 2; t++) {
        float[] a = halves[t];
        ts[t] = new Thread(() -> sink += sum(a));
        ts[t].start();
      }
      for (Thread t : ts) {
        t.join();
      }
      double sec = (System.nanoTime() - s) / 1e9;
      rates[round] = 4.0 * n / sec / 1e9;
      System.out.printf("read bandwidth round %d: %.1f GB/s%n", round, rates[round]);
    }
    // The first rounds run interpreted or OSR-compiled code: the figure is the last 8.
    double[] last = Arrays.copyOfRange(rates, 4, rates.length);
    Arrays.sort(last);
    System.out.printf(
        "read bandwidth, rounds 4-11: median %.1f GB/s, best %.1f GB/s%n",
        last[last.length / 2], last[last.length - 1]);
  }

  private static float sum(float[] a) {
    var sp = Kernels.SPECIES;
    FloatVector s0 = FloatVector.zero(sp), s1 = s0, s2 = s0, s3 = s0;
    int l = sp.length();
    for (int i = 0; i + 4 * l <= a.length; i += 4 * l) {
      s0 = s0.add(FloatVector.fromArray(sp, a, i));
      s1 = s1.add(FloatVector.fromArray(sp, a, i + l));
      s2 = s2.add(FloatVector.fromArray(sp, a, i + 2 * l));
      s3 = s3.add(FloatVector.fromArray(sp, a, i + 3 * l));
    }
    return s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.ADD);
  }
}
