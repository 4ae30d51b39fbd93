package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TextGeneratorTest {
  private static Gpt2Model model;
  private static JsonNode lord;

  @BeforeAll
  static void load() {
    // One KV cache and a queue of one, so that the queue-full test can fill both.
    model = Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 1, 1);
    lord = Fixtures.json("tiny-gpt2/reference.json").path("cases").get(1);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static TextGenerator.Options greedy(int maxTokens, List<String> stop) {
    return new TextGenerator.Options(maxTokens, 0f, 0, 1f, 0, stop);
  }

  private static int[] prompt() {
    return model.encode(lord.path("prompt").asText());
  }

  @Test
  void generate_greedy_streamsTheReferenceContinuation() {
    List<String> deltas = new ArrayList<>();
    var r = model.generate(prompt(), greedy(16, List.of()), d -> deltas.add(d));
    String expected = Fixtures.tokenizer().decode(Fixtures.ints(lord.path("greedy")));
    assertThat(r.text()).isEqualTo(expected);
    assertThat(String.join("", deltas)).isEqualTo(expected);
    assertThat(deltas).hasSize(16);
    assertThat(r.finish()).isEqualTo(TextGenerator.Finish.LENGTH);
    assertThat(r.promptTokens()).isEqualTo(lord.path("ids").size());
    assertThat(r.completionTokens()).isEqualTo(16);
  }

  @Test
  void generate_stopString_endsBeforeIt() {
    // The reference continuation is " and the LORD, and the LORD, ..."
    var r = model.generate(prompt(), greedy(16, List.of(",")), d -> true);
    assertThat(r.text()).isEqualTo(" and the LORD");
    assertThat(r.finish()).isEqualTo(TextGenerator.Finish.STOP);
    assertThat(r.completionTokens()).isEqualTo(4);
  }

  @Test
  void generate_listenerRefuses_cancels() {
    var r = model.generate(prompt(), greedy(16, List.of()), d -> false);
    assertThat(r.finish()).isEqualTo(TextGenerator.Finish.CANCELLED);
    assertThat(r.completionTokens()).isEqualTo(1);
  }

  @Test
  void generate_queueFull_isOverloaded() throws Exception {
    // The holder's listener blocks, so its sequence stops a few tokens ahead and keeps the only
    // KV cache (max-sequences 1); one request may wait (max-queue 1), the next is refused.
    var holding = new CompletableFuture<Void>();
    var release = new CompletableFuture<Void>();
    Thread holder =
        Thread.ofVirtual()
            .start(() ->
                model.generate(
                    prompt(),
                    greedy(Scheduler.WINDOW + 8, List.of()),
                    d -> {
                      holding.complete(null);
                      release.join();
                      return true;
                    }));
    holding.get(10, TimeUnit.SECONDS);
    var waiter =
        CompletableFuture.supplyAsync(
            () -> model.generate(prompt(), greedy(1, List.of()), d -> true));
    while (!model.hasWaiters()) {
      Thread.onSpinWait();
    }
    assertThatThrownBy(() -> model.generate(prompt(), greedy(1, List.of()), d -> true))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.OVERLOADED));
    release.complete(null);
    holder.join();
    assertThat(waiter.get(10, TimeUnit.SECONDS).completionTokens()).isEqualTo(1);
  }

  @Test
  void generate_logprobsWithStop_coverExactlyTheShownTokensAndStreamTheSame() {
    var options = new TextGenerator.Options(16, 0f, 0, 1f, 0, List.of(","), 1f, 0f, 0f, 2);
    List<TextGenerator.TokenLogprob> streamed = new ArrayList<>();
    var r =
        model.generate(
            prompt(),
            options,
            new TextGenerator.Listener() {
              @Override
              public boolean onText(String delta) {
                return true;
              }

              @Override
              public boolean onDelta(String delta, List<TextGenerator.TokenLogprob> tokens) {
                streamed.addAll(tokens);
                return true;
              }
            });
    // " and the LORD" then "," (the stop): the stop token is sampled and counted, not reported.
    assertThat(r.text()).isEqualTo(" and the LORD");
    assertThat(r.logprobs())
        .extracting(TextGenerator.TokenLogprob::token)
        .containsExactly(" and", " the", " LORD");
    assertThat(r.logprobs())
        .extracting(TextGenerator.TokenLogprob::textOffset)
        .containsExactly(0, 4, 8);
    assertThat(r.completionTokens()).isEqualTo(4);
    assertThat(streamed).containsExactlyElementsOf(r.logprobs());
    assertThat(r.logprobs().getFirst().top()).hasSize(2);
    assertThat(r.interTokenNanos()).hasSize(3);
  }
}
