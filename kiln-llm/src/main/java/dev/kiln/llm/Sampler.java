package dev.kiln.llm;

import dev.kiln.core.error.Checks;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. Temperature 0 is greedy (argmax, the lowest id on a tie).
 * Otherwise the logits are divided by the temperature and soft-maxed, the candidates cut to the
 * {@code topK} most likely (0: no cut) and then to the smallest set whose mass reaches {@code
 * topP}, and one is drawn in proportion to its probability with a RNG seeded by {@code seed}, so a
 * request with a seed is reproducible. One instance per sequence: it keeps its RNG and buffers.
 */
final class Sampler {
  /** The sampling settings of one request. */
  record Settings(float temperature, int topK, float topP, long seed) {
    static final Settings GREEDY = new Settings(0f, 0, 1f, 0L);

    Settings {
      Checks.require(
          temperature >= 0 && Float.isFinite(temperature),
          "temperature must be >= 0, was %s",
          temperature);
      Checks.require(topK >= 0, "top_k must be >= 0, was %d", topK);
      Checks.require(topP > 0 && topP <= 1, "top_p must be in (0, 1], was %s", topP);
    }
  }

  private final Settings settings;
  private final SplittableRandom random;
  private final float[] probs;
  private final long[] candidates; // (probability bits << 32) | id, sorted ascending

  Sampler(Settings settings, int vocabularySize) {
    this.settings = settings;
    this.random = new SplittableRandom(settings.seed());
    this.probs = settings.temperature() == 0 ? new float[0] : new float[vocabularySize];
    this.candidates = settings.temperature() == 0 ? new long[0] : new long[vocabularySize];
  }

  int next(float[] logits) {
    if (settings.temperature() == 0) {
      return argmax(logits);
    }
    int n = probs.length;
    // softmax(logits / T), shifted by the maximum so exp cannot overflow.
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, logits[i]);
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
      probs[i] = (float) Math.exp((logits[i] - max) / settings.temperature());
      sum += probs[i];
    }
    // Tokens below (1 - topP) / (n - 1) can never be in the nucleus (llama2.c's trick); with no
    // nucleus cut every token is a candidate. Sorting (probability, id) pairs as longs works
    // because positive floats order like their bit patterns.
    double cutoff = settings.topP() < 1 ? (1 - settings.topP()) / (n - 1) * sum : 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (probs[i] >= cutoff && probs[i] > 0) {
        candidates[m++] = ((long) Float.floatToRawIntBits(probs[i]) << 32) | i;
      }
    }
    Arrays.sort(candidates, 0, m);
    int keep = settings.topK() > 0 ? Math.min(settings.topK(), m) : m;
    double mass = 0;
    int last = m - keep;
    for (int r = m - 1; r >= m - keep; r--) {
      mass += Float.intBitsToFloat((int) (candidates[r] >>> 32));
      last = r;
      if (mass >= settings.topP() * sum) {
        break;
      }
    }
    double u = random.nextDouble() * mass;
    for (int r = m - 1; r > last; r--) {
      u -= Float.intBitsToFloat((int) (candidates[r] >>> 32));
      if (u < 0) {
        return (int) candidates[r];
      }
    }
    return (int) candidates[last];
  }

  static int argmax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best;
  }
}
