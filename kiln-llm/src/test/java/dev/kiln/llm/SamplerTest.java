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
  void settings_negativeTemperature_isRejected() {
    assertThatThrownBy(() -> new Sampler.Settings(-1f, 0, 1f, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
