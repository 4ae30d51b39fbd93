package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine against the torch model that made the fixture (tools/fixtures/llm/make_tiny_gpt2.py):
 * prompt ids, last-position logits after prefill, greedy continuation through the KV cache.
 */
class Gpt2ReferenceTest {
  private static final float TOLERANCE = 1e-4f;

  private static Gpt2Model model;
  private static Gpt2Model singleThreaded;

  @BeforeAll
  static void load() {
    model = Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 2);
    singleThreaded = Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1);
  }

  @AfterAll
  static void close() {
    model.close();
    singleThreaded.close();
  }

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : Fixtures.json("tiny-gpt2/reference.json").path("cases")) {
      out.add(Arguments.of(c.path("prompt").asText(), c));
    }
    return out.stream();
  }

  private static void assertLogits(float[] logits, JsonNode ref) {
    assertLogits(logits, ref, TOLERANCE);
  }

  /**
   * Compares logits with a reference summary: top 20, a strided sample and the sums, each logit
   * within {@code tolerance}.
   */
  static void assertLogits(float[] logits, JsonNode ref, float tolerance) {
    JsonNode topIds = ref.path("top_ids");
    JsonNode topLogits = ref.path("top_logits");
    for (int i = 0; i < topIds.size(); i++) {
      assertThat(logits[topIds.get(i).asInt()])
          .as("logit of top-%d id %d", i, topIds.get(i).asInt())
          .isCloseTo((float) topLogits.get(i).asDouble(), within(tolerance));
    }
    int stride = ref.path("sample_stride").asInt();
    JsonNode sample = ref.path("sample_logits");
    assertThat(sample.size()).isEqualTo((logits.length + stride - 1) / stride);
    for (int i = 0; i < sample.size(); i++) {
      assertThat(logits[i * stride])
          .as("logit of id %d", i * stride)
          .isCloseTo((float) sample.get(i).asDouble(), within(tolerance));
    }
    double sum = 0;
    double sumAbs = 0;
    for (float v : logits) {
      sum += v;
      sumAbs += Math.abs(v);
    }
    // Each logit within the tolerance bounds the sums' error by n * 1e-4; in practice it is far
    // smaller.
    assertThat(sum).isCloseTo(ref.path("sum").asDouble(), within(logits.length * tolerance / 10.0));
    assertThat(sumAbs)
        .isCloseTo(ref.path("sum_abs").asDouble(), within(logits.length * tolerance / 10.0));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void tokenizer_prompt_matchesFixtureIds(String prompt, JsonNode c) {
    assertThat(model.tokenizer().encode(prompt)).containsExactly(Fixtures.ints(c.path("ids")));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void prefill_prompt_lastLogitsMatchTorch(String prompt, JsonNode c) {
    int[] ids = Fixtures.ints(c.path("ids"));
    float[] logits = prefill(model, ids);
    assertLogits(logits, c.path("last_logits"));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void prefill_oneThread_sameLogitsAsTwo(String prompt, JsonNode c) {
    int[] ids = Fixtures.ints(c.path("ids"));
    float[] one = prefill(singleThreaded, ids);
    float[] two = prefill(model, ids);
    assertThat(one).containsExactly(two, within(1e-6f));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void prefillTokenByToken_sameLogitsAsBatchedPrefill(String prompt, JsonNode c) {
    int[] ids = Fixtures.ints(c.path("ids"));
    float[] batched = prefill(model, ids);
    Gpt2Engine engine = engine(model);
    engine.reset();
    float[] logits = null;
    for (int i = 0; i < ids.length; i++) {
      logits = engine.forward(ids, i, 1);
    }
    assertThat(logits).containsExactly(batched, within(TOLERANCE));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void generate_greedy_matchesTorchContinuation(String prompt, JsonNode c) {
    assertGreedyContinuation(model, c, TOLERANCE);
  }

  /**
   * {@code m}'s greedy continuation of the case's prompt through the scheduler equals the
   * reference's, whose top-1/top-2 gaps are all wide enough for logits within {@code tolerance}.
   */
  static void assertGreedyContinuation(Gpt2Model m, JsonNode c, float tolerance) {
    assertThat(c.path("greedy_min_top2_gap").asDouble()).isGreaterThan(10 * tolerance);
    int[] expected = Fixtures.ints(c.path("greedy"));
    int[] out = new int[expected.length];
    int n = m.generate(Fixtures.ints(c.path("ids")), expected.length, Sampler.Settings.GREEDY, out);
    assertThat(Arrays.copyOf(out, n)).containsExactly(expected);
  }

  @ParameterizedTest
  @MethodSource("cases")
  void decode_lastGreedyStep_logitsMatchTorch(String prompt, JsonNode c) {
    assertLogits(lastGreedyStepLogits(model, c), c.path("greedy_last_step_logits"));
  }

  /**
   * Prefills the case's prompt, then feeds all but the last of its greedy tokens one at a time
   * through the engine's cache: the logits are then those torch computed over the whole sequence
   * without a cache.
   */
  static float[] lastGreedyStepLogits(Gpt2Model m, JsonNode c) {
    int[] ids = Fixtures.ints(c.path("ids"));
    int[] greedy = Fixtures.ints(c.path("greedy"));
    Gpt2Engine engine = engine(m);
    engine.reset();
    float[] logits = engine.forward(ids, 0, ids.length);
    for (int i = 0; i < greedy.length - 1; i++) {
      logits = engine.forward(greedy, i, 1);
    }
    return logits;
  }

  @Test
  void forward_beyondContext_isInvalidInput() {
    Gpt2Engine engine = engine(model);
    engine.reset();
    int[] tooMany = new int[engine.config().positions() + 1];
    assertThatThrownBy(() -> engine.forward(tooMany, 0, tooMany.length))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT));
  }

  @Test
  void complete_untilContextEnd_stopsAtContext() {
    int positions = model.config().positions();
    int[] prompt = new int[positions - 3];
    Arrays.fill(prompt, 464);
    int[] out = new int[50];
    int n = model.generate(prompt, 50, Sampler.Settings.GREEDY, out);
    assertThat(n).isLessThanOrEqualTo(4);
  }

  private static float[] prefill(Gpt2Model m, int[] ids) {
    Gpt2Engine engine = engine(m);
    engine.reset();
    return engine.forward(ids, 0, ids.length).clone();
  }

  private static Gpt2Engine engine(Gpt2Model m) {
    return m.engine();
  }
}
