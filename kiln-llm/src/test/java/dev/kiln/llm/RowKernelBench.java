package dev.kiln.llm;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A one-thread harness (not a test) for the one-row product of a single {@link RowMatrix}: the
 * decode kernel alone, with no hand-off. A matrix that fits in L2 times the arithmetic (what the
 * conversion of a format costs), one far past the L3 times the stream from memory. Run like {@link
 * LlmBench}: {@code RowKernelBench <F32|BF16|Q8_0> <rows> <cols> [seconds] [activation rows]};
 * prints GB/s of weights and, for more than one activation row (the batched decode and prefill
 * tiles), GFLOP/s.
 */
final class RowKernelBench {
  private RowKernelBench() {}

  private static volatile float sink;

  public static void main(String[] args) {
    RowMatrix.Format f = RowMatrix.Format.valueOf(args[0]);
    int rows = Integer.parseInt(args[1]);
    int cols = Integer.parseInt(args[2]);
    double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 2;
    int acts = args.length > 4 ? Integer.parseInt(args[4]) : 1;
    SplittableRandom r = new SplittableRandom(3);
    float[] x = new float[acts * cols];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextDouble(-1, 1);
    }
    try (Arena arena = Arena.ofConfined()) {
      RowMatrix m =
          RowMatrix.convert(
              f, rows, cols, (i, j) -> (float) ((i * 31 + j * 17) % 97 - 48) / 97f, arena);
      float[] y = new float[acts * rows];
      float[] scratch = new float[RowKernels.SCRATCH];
      double[] rates = new double[7];
      for (int round = 0; round < rates.length; round++) {
        long n = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long start = System.nanoTime();
        long now;
        do {
          for (int k = 0; k < 16; k++) {
            m.multiply(y, x, acts, null, false, 0, rows, scratch);
          }
          n += 16;
          now = System.nanoTime();
        } while (now < end);
        rates[round] = n * (double) m.bytes() / (now - start);
        sink += y[0];
      }
      Arrays.sort(rates);
      System.out.printf(
          "%s %d x %d (%.2f MB) x %d activation rows: median %.2f GB/s (%.1f GFLOP/s), best %.2f"
              + " GB/s (%s)%n",
          f,
          rows,
          cols,
          m.bytes() / 1e6,
          acts,
          rates[rates.length / 2],
          rates[rates.length / 2] * 2.0 * acts * rows * cols / m.bytes(),
          rates[rates.length - 1],
          Arrays.toString(Arrays.stream(rates).mapToObj(v -> String.format("%.1f", v)).toArray()));
    }
  }
}
