package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine with {@code kv-cache-dtype: bf16} against torch with its keys and values rounded to
 * bfloat16 the same way (tools/fixtures/llm/kv_bf16_reference.py, on the same fixture weights):
 * prompt logits after prefill, the last logits of a greedy continuation through the cache, and the
 * greedy tokens through the scheduler.
 */
class KvBf16ReferenceTest {
  private static final float TOLERANCE = 1e-4f;
  private static final JsonNode REFERENCE = Fixtures.json("tiny-gpt2/kv-bf16-reference.json");

  private static Gpt2Model model;

  @BeforeAll
  static void load() {
    model =
        Gpt2Model.load(
            Fixtures.tinyModelDir(),
            Fixtures.tokenizerDir(),
            2,
            4,
            4,
            0,
            Gpt2Weights.Precision.AUTO,
            KvCache.Format.BF16);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : REFERENCE.path("cases")) {
      out.add(Arguments.of(c.path("prompt").asText(), c));
    }
    return out.stream();
  }

  @Test
  void reference_bf16Rounding_movesLogitsFarMoreThanTheTolerance() {
    // otherwise an fp32 cache would pass these tests too
    assertThat(REFERENCE.path("max_abs_diff_from_fp32_kv").asDouble())
        .isGreaterThan(10 * TOLERANCE);
  }

  @Test
  void engine_bf16Format_cachesHoldShorts() {
    KvCache c = model.engine().newCache(8);
    assertThat(c.format).isEqualTo(KvCache.Format.BF16);
    assertThat(c.keys16).isNotNull();
    assertThat(c.keys).isNull();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void prefill_bf16Cache_lastLogitsMatchTorchWithBf16KeysAndValues(String prompt, JsonNode c) {
    Gpt2Engine engine = model.engine();
    engine.reset();
    int[] ids = Fixtures.ints(c.path("ids"));
    Gpt2ReferenceTest.assertLogits(
        engine.forward(ids, 0, ids.length), c.path("last_logits"), TOLERANCE);
  }

  @ParameterizedTest
  @MethodSource("cases")
  void decode_bf16Cache_lastGreedyStepLogitsMatchTorch(String prompt, JsonNode c) {
    Gpt2ReferenceTest.assertLogits(
        Gpt2ReferenceTest.lastGreedyStepLogits(model, c),
        c.path("greedy_last_step_logits"),
        TOLERANCE);
  }

  @ParameterizedTest
  @MethodSource("cases")
  void generate_bf16Cache_greedyMatchesTorchContinuation(String prompt, JsonNode c) {
    Gpt2ReferenceTest.assertGreedyContinuation(model, c, TOLERANCE);
  }
}
