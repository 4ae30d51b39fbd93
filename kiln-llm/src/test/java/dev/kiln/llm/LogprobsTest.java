package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LogprobsTest {
  private static final float[] LOGITS = {0.1f, 2.0f, 1.9f, -1f, 0.5f, 1.95f};

  private static double logSoftmax(int j) {
    double z = 0;
    for (float l : LOGITS) {
      z += Math.exp(l);
    }
    return LOGITS[j] - Math.log(z);
  }

  @Test
  void of_tokenLogprob_isLogSoftmaxOfTheLogits() {
    Logprobs lp = Logprobs.of(LOGITS, 4, 0);
    assertThat((double) lp.logprob()).isCloseTo(logSoftmax(4), within(1e-6));
    assertThat(lp.topIds()).isEmpty();
  }

  @Test
  void of_top3_areTheMostLikelyInOrder() {
    Logprobs lp = Logprobs.of(LOGITS, 0, 3);
    assertThat(lp.topIds()).containsExactly(1, 5, 2);
    for (int k = 0; k < 3; k++) {
      assertThat((double) lp.topLogprobs()[k]).isCloseTo(logSoftmax(lp.topIds()[k]), within(1e-6));
    }
  }

  @Test
  void of_ties_keepTheLowerIdFirst() {
    Logprobs lp = Logprobs.of(new float[] {1f, 3f, 3f, 0f, 3f}, 0, 2);
    assertThat(lp.topIds()).containsExactly(1, 2);
  }

  @Test
  void of_hugeLogits_doNotOverflow() {
    Logprobs lp = Logprobs.of(new float[] {1000f, 1000f}, 0, 2);
    assertThat((double) lp.logprob()).isCloseTo(Math.log(0.5), within(1e-6));
  }
}
