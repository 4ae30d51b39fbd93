package dev.kiln.llm;

import dev.kiln.core.error.Checks;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. First the penalties, on a copy of the logits (the model's
 * logits stay raw, for logprobs):
 *
 * <ul>
 *   <li>repetition penalty r (Hugging Face's {@code RepetitionPenaltyLogitsProcessor}, llama.cpp's
 *       {@code repeat_penalty}): the logit of every token already seen, in the prompt or the
 *       output, is divided by r when positive and multiplied by r when negative;
 *   <li>frequency and presence penalties (OpenAI's definition, counted over the output only, as
 *       vLLM does): {@code logit[j] -= count[j] * frequency + (count[j] > 0 ? presence : 0)}.
 * </ul>
 *
 * Then temperature 0 is greedy (argmax, the lowest id on a tie). Otherwise the logits are divided
 * by the temperature and soft-maxed, the candidates cut to the {@code topK} most likely (0: no cut)
 * and then to the smallest set whose mass reaches {@code topP}, and one is drawn in proportion to
 * its probability with a RNG seeded by {@code seed}, so a request with a seed is reproducible. One
 * instance per sequence: it keeps its RNG, the token counts and its buffers.
 */
final class Sampler {
  /** The sampling settings of one request. */
  record Settings(
      float temperature,
      int topK,
      float topP,
      long seed,
      float repetitionPenalty,
      float presencePenalty,
      float frequencyPenalty) {
    static final Settings GREEDY = new Settings(0f, 0, 1f, 0L);

    Settings {
      Checks.require(
          temperature >= 0 && Float.isFinite(temperature),
          "temperature must be >= 0, was %s",
          temperature);
      Checks.require(topK >= 0, "top_k must be >= 0, was %d", topK);
      Checks.require(topP > 0 && topP <= 1, "top_p must be in (0, 1], was %s", topP);
      Checks.require(
          repetitionPenalty > 0 && Float.isFinite(repetitionPenalty),
          "repetition_penalty must be > 0, was %s",
          repetitionPenalty);
      Checks.require(
          presencePenalty >= -2 && presencePenalty <= 2,
          "presence_penalty must be in [-2, 2], was %s",
          presencePenalty);
      Checks.require(
          frequencyPenalty >= -2 && frequencyPenalty <= 2,
          "frequency_penalty must be in [-2, 2], was %s",
          frequencyPenalty);
    }

    /** No penalties. */
    Settings(float temperature, int topK, float topP, long seed) {
      this(temperature, topK, topP, seed, 1f, 0f, 0f);
    }

    boolean penalised() {
      return repetitionPenalty != 1f || presencePenalty != 0f || frequencyPenalty != 0f;
    }
  }

  private final Settings settings;
  private final SplittableRandom random;
  private final float[] probs;
  private final long[] candidates; // (probability bits << 32) | id, sorted ascending
  // Penalties only: the penalised copy of the logits, and the tokens seen so far.
  private final float[] penalised;
  private final boolean[] seen; // in the prompt or the output
  private final int[] counts; // in the output
  private int[] seenIds = new int[16];
  private int seenCount;

  Sampler(Settings settings, int vocabularySize) {
    this(settings, vocabularySize, new int[0]);
  }

  /** A sampler for a sequence that starts with {@code prompt} (seen, for repetition_penalty). */
  Sampler(Settings settings, int vocabularySize, int[] prompt) {
    this.settings = settings;
    this.random = new SplittableRandom(settings.seed());
    boolean sample = settings.temperature() != 0;
    this.probs = sample ? new float[vocabularySize] : new float[0];
    this.candidates = sample ? new long[vocabularySize] : new long[0];
    boolean p = settings.penalised();
    this.penalised = p ? new float[vocabularySize] : null;
    this.seen = p ? new boolean[vocabularySize] : null;
    this.counts = p ? new int[vocabularySize] : null;
    if (p) {
      for (int token : prompt) {
        see(token);
      }
    }
  }

  private void see(int token) {
    if (!seen[token]) {
      seen[token] = true;
      if (seenCount == seenIds.length) {
        seenIds = Arrays.copyOf(seenIds, seenCount * 2);
      }
      seenIds[seenCount++] = token;
    }
  }

  /** The next token; it counts as seen for the penalties of the tokens after it. */
  int next(float[] logits) {
    if (penalised == null) {
      return pick(logits);
    }
    System.arraycopy(logits, 0, penalised, 0, penalised.length);
    penalise(penalised);
    int token = pick(penalised);
    see(token);
    counts[token]++;
    return token;
  }

  /** Applies the penalties in place, only to the tokens seen so far (the others are unchanged). */
  private void penalise(float[] l) {
    float r = settings.repetitionPenalty();
    for (int k = 0; k < seenCount; k++) {
      int j = seenIds[k];
      float v = l[j];
      if (r != 1f) {
        v = v > 0 ? v / r : v * r;
      }
      int c = counts[j];
      if (c > 0) {
        v -= c * settings.frequencyPenalty() + settings.presencePenalty();
      }
      l[j] = v;
    }
  }

  private int pick(float[] logits) {
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
