package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final float[] LOGITS = {0.1f, 2.0f, 1.9f, -1f, 0.5f, 1.95f};

  private static int[] draw(Sampler.Settings s, int n) {
    Sampler sampler = new Sampler(s, LOGITS.length);
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = sampler.next(LOGITS);
    }
    return out;
  }

  @Test
  void next_temperatureZero_isArgmax() {
    assertThat(draw(Sampler.Settings.GREEDY, 5)).containsOnly(1);
  }

  @Test
  void next_sameSeed_sameTokens() {
    var s = new Sampler.Settings(1f, 0, 1f, 42);
    assertThat(draw(s, 50)).containsExactly(draw(s, 50));
  }

  @Test
  void next_topK1_isArgmax() {
    assertThat(draw(new Sampler.Settings(1.5f, 1, 1f, 3), 50)).containsOnly(1);
  }

  @Test
  void next_smallTopP_keepsOnlyTheMostLikely() {
    assertThat(draw(new Sampler.Settings(1f, 0, 0.01f, 3), 50)).containsOnly(1);
  }

  @Test
  void next_topK3_drawsOnlyTheThreeMostLikely() {
    Set<Integer> seen = new HashSet<>();
    for (int t : draw(new Sampler.Settings(5f, 3, 1f, 9), 500)) {
      seen.add(t);
    }
    assertThat(seen).containsExactlyInAnyOrder(1, 2, 5);
  }

  @Test
  void next_differentSeeds_differentTokens() {
    assertThat(draw(new Sampler.Settings(1f, 0, 1f, 1), 50))
        .isNotEqualTo(draw(new Sampler.Settings(1f, 0, 1f, 2), 50));
  }

  @Test
  void next_temperature1_drawsInProportionToSoftmax() {
    int n = 20_000;
    int[] counts = new int[LOGITS.length];
    for (int t : draw(new Sampler.Settings(1f, 0, 1f, 5), n)) {
      counts[t]++;
    }
    double z = 0;
    for (float l : LOGITS) {
      z += Math.exp(l);
    }
    for (int j = 0; j < LOGITS.length; j++) {
      // 5 standard deviations of a binomial count; the seed makes this deterministic anyway.
      double p = Math.exp(LOGITS[j]) / z;
      assertThat((double) counts[j])
          .as("token %d", j)
          .isCloseTo(n * p, org.assertj.core.api.Assertions.within(5 * Math.sqrt(n * p)));
    }
  }

  @Test
  void next_lowTemperature_sharpensTowardsArgmax() {
    int ones = 0;
    for (int t : draw(new Sampler.Settings(0.05f, 0, 1f, 5), 1000)) {
      ones += t == 1 ? 1 : 0;
    }
    // softmax(l / 0.05) over 40, 39, 38 (tokens 1, 5, 2): p1 = 1 / (1 + e^-1 + e^-2) = 0.665.
    assertThat(ones).isBetween(600, 800);
  }

  @Test
  void next_topP_keepsTheSmallestSetReachingTheMass() {
    // softmax: p1 0.305, p5 0.290, p2 0.276, p4 0.068, p0 0.046, p3 0.015. p1 + p5 = 0.595 < 0.6,
    // so top_p 0.6 keeps {1, 5, 2}; 0.5 keeps {1, 5}.
    Set<Integer> three = new HashSet<>();
    for (int t : draw(new Sampler.Settings(1f, 0, 0.6f, 9), 500)) {
      three.add(t);
    }
    Set<Integer> two = new HashSet<>();
    for (int t : draw(new Sampler.Settings(1f, 0, 0.5f, 9), 500)) {
      two.add(t);
    }
    assertThat(three).containsExactlyInAnyOrder(1, 5, 2);
    assertThat(two).containsExactlyInAnyOrder(1, 5);
  }

  @Test
  void next_repetitionPenalty_dividesPositiveAndMultipliesNegativeLogitsOfSeenTokens() {
    var s = new Sampler.Settings(0f, 0, 1f, 0, 2f, 0f, 0f);
    // Token 0 was in the prompt with logit 3 -> 1.5, so token 1 (2.0, unseen) wins.
    assertThat(new Sampler(s, 3, new int[] {0}).next(new float[] {3f, 2f, -5f})).isEqualTo(1);
    // Token 0 seen with logit -1 -> -2, so unseen token 2 (-1.5) wins.
    assertThat(new Sampler(s, 3, new int[] {0}).next(new float[] {-1f, -3f, -1.5f})).isEqualTo(2);
    // Unpenalised, token 0 would win both.
    var plain = Sampler.Settings.GREEDY;
    assertThat(new Sampler(plain, 3, new int[] {0}).next(new float[] {3f, 2f, -5f})).isZero();
  }

  @Test
  void next_repetitionPenalty_countsGeneratedTokensAsSeen() {
    Sampler sampler = new Sampler(new Sampler.Settings(0f, 0, 1f, 0, 2f, 0f, 0f), 3, new int[0]);
    assertThat(sampler.next(new float[] {3f, 2f, 0f})).isZero(); // 0 is now seen: 3 -> 1.5
    assertThat(sampler.next(new float[] {3f, 2f, 0f})).isEqualTo(1);
  }

  @Test
  void next_frequencyPenalty_growsWithEachOccurrenceInTheOutput() {
    // frequency 0.6: after k picks of token 0, its logit is 3 - 0.6 k; token 1 stays at 2.
    Sampler sampler = new Sampler(new Sampler.Settings(0f, 0, 1f, 0, 1f, 0f, 0.6f), 2, new int[0]);
    float[] logits = {3f, 2f};
    assertThat(sampler.next(logits)).isZero(); // 3.0 vs 2
    assertThat(sampler.next(logits)).isZero(); // 2.4 vs 2
    assertThat(sampler.next(logits)).isEqualTo(1); // 1.8 vs 2
  }

  @Test
  void next_presencePenalty_isOncePerTokenAndIgnoresThePrompt() {
    // presence 0.8: token 0 in the prompt is not penalised; once generated, 3 - 0.8 = 2.2 > 2,
    // and it stays 2.2 however often it recurs.
    Sampler sampler =
        new Sampler(new Sampler.Settings(0f, 0, 1f, 0, 1f, 0.8f, 0f), 2, new int[] {0, 0});
    float[] logits = {3f, 2f};
    for (int i = 0; i < 5; i++) {
      assertThat(sampler.next(logits)).isZero();
    }
    Sampler strong =
        new Sampler(new Sampler.Settings(0f, 0, 1f, 0, 1f, 1.5f, 0f), 2, new int[] {0});
    assertThat(strong.next(logits)).isZero();
    assertThat(strong.next(logits)).isEqualTo(1);
  }

  @Test
  void next_penalties_leaveTheCallersLogitsRaw() {
    float[] logits = {3f, 2f};
    Sampler sampler = new Sampler(new Sampler.Settings(0f, 0, 1f, 0, 2f, 1f, 1f), 2, new int[] {0});
    sampler.next(logits);
    assertThat(logits).containsExactly(3f, 2f);
  }

  @Test
  void settings_penaltyOutOfRange_isRejected() {
    assertThatThrownBy(() -> new Sampler.Settings(0f, 0, 1f, 0, 0f, 0f, 0f))
        .hasMessageContaining("repetition_penalty");
    assertThatThrownBy(() -> new Sampler.Settings(0f, 0, 1f, 0, 1f, 2.5f, 0f))
        .hasMessageContaining("presence_penalty");
    assertThatThrownBy(() -> new Sampler.Settings(0f, 0, 1f, 0, 1f, 0f, -3f))
        .hasMessageContaining("frequency_penalty");
  }

  @Test
  void settings_negativeTemperature_isRejected() {
    assertThatThrownBy(() -> new Sampler.Settings(-1f, 0, 1f, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
