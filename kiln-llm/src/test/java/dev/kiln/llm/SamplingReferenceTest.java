package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Penalties and logprobs against torch: tools/fixtures/llm/sampling_reference.py runs the tiny
 * GPT-2 in torch, applies transformers' repetition penalty and OpenAI's presence and frequency
 * penalties before a greedy pick, and records the log-softmax of the raw logits at every step.
 */
class SamplingReferenceTest {
  /** Logits agree within 1e-4, so a log-softmax (logit minus log-sum-exp) within twice that. */
  private static final double TOLERANCE = 2e-4;

  private static Gpt2Model model;

  @BeforeAll
  static void load() {
    model = Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 64, 4);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  static List<JsonNode> cases() {
    List<JsonNode> out = new ArrayList<>();
    Fixtures.json("tiny-gpt2/sampling-reference.json").path("cases").forEach(out::add);
    return out;
  }

  private static TextGenerator.Result generate(JsonNode c) {
    var options =
        new TextGenerator.Options(
            c.path("steps").size(),
            0f,
            0,
            1f,
            0,
            List.of(),
            (float) c.path("repetition_penalty").asDouble(),
            (float) c.path("presence_penalty").asDouble(),
            (float) c.path("frequency_penalty").asDouble(),
            5);
    return model.generate(Fixtures.ints(c.path("ids")), options, TextGenerator.Listener.NONE);
  }

  @ParameterizedTest(name = "{index}: {0}")
  @MethodSource("cases")
  void generate_penalisedGreedy_equalsTorchTokens(JsonNode c) {
    assertThat(c.path("min_top2_gap").asDouble()).isGreaterThan(10 * TOLERANCE);
    var r = generate(c);
    assertThat(r.logprobs())
        .extracting(TextGenerator.TokenLogprob::id)
        .containsExactlyElementsOf(
            () -> c.path("tokens").valueStream().map(JsonNode::asInt).iterator());
  }

  @ParameterizedTest(name = "{index}: {0}")
  @MethodSource("cases")
  void generate_logprobs_equalTorchLogSoftmaxOfRawLogits(JsonNode c) {
    var r = generate(c);
    JsonNode steps = c.path("steps");
    assertThat(r.logprobs()).hasSize(steps.size());
    for (int i = 0; i < steps.size(); i++) {
      JsonNode step = steps.get(i);
      var lp = r.logprobs().get(i);
      assertThat(lp.logprob())
          .as("step %d", i)
          .isCloseTo((float) step.path("logprob").asDouble(), within((float) TOLERANCE));
      assertThat(lp.top()).hasSize(5);
      for (int k = 0; k < 5; k++) {
        assertThat(lp.top().get(k).id())
            .as("step %d top %d", i, k)
            .isEqualTo(step.path("top_ids").get(k).asInt());
        assertThat(lp.top().get(k).logprob())
            .isCloseTo(
                (float) step.path("top_logprobs").get(k).asDouble(), within((float) TOLERANCE));
      }
    }
  }
}
