package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Continuous batching must not change a single token: every sequence generated among others equals
 * the same prompt generated alone through {@link Gpt2Engine#forward}, token for token.
 */
@Timeout(120)
class SchedulerTest {
  private static final int TOKENS = 40;

  private static Gpt2Model model;
  private static List<int[]> prompts;

  @BeforeAll
  static void load() {
    model = Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 2, 64, 16);
    prompts = new ArrayList<>();
    for (JsonNode c : Fixtures.json("tiny-gpt2/reference.json").path("cases")) {
      prompts.add(Fixtures.ints(c.path("ids")));
    }
    Gpt2Tokenizer t = model.tokenizer();
    prompts.add(t.encode("In the beginning God created the heaven and the earth."));
    prompts.add(t.encode("Jesus wept."));
    prompts.add(t.encode("And"));
    // Longer than a prefill chunk: it is prefilled over two steps while others decode.
    prompts.add(
        t.encode(
            "And the earth was without form, and void; and darkness was upon the face of the"
                + " deep. And the Spirit of God moved upon the face of the waters. And God said,"
                + " Let there be light: and there was light. And God saw the light, that it was"
                + " good: and God divided the light from the darkness."));
    assertThat(prompts.getLast().length).isGreaterThan(Scheduler.PREFILL_CHUNK);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** Greedy tokens of one prompt alone, straight through the engine's own cache. */
  private static int[] alone(int[] prompt, int tokens) {
    Gpt2Engine engine = model.engine();
    engine.reset();
    float[] logits = engine.forward(prompt, 0, prompt.length);
    int[] out = new int[tokens];
    int n = 0;
    while (n < tokens) {
      out[n] = Sampler.argmax(logits);
      if (out[n++] == model.tokenizer().endOfText() || n == tokens) {
        break;
      }
      logits = engine.forward(out, n - 1, 1);
    }
    return Arrays.copyOf(out, n);
  }

  /** Runs {@code streams} greedy generations at once and checks each against its lone run. */
  private static void assertConcurrentEqualsAlone(Gpt2Model m, int streams) throws Exception {
    int[][] expected = new int[streams][];
    for (int i = 0; i < streams; i++) {
      expected[i] = alone(prompts.get(i % prompts.size()), TOKENS);
    }
    List<Callable<int[]>> calls = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      int[] prompt = prompts.get(i % prompts.size());
      calls.add(() -> {
        int[] out = new int[TOKENS];
        int n = m.generate(prompt, TOKENS, Sampler.Settings.GREEDY, out);
        return Arrays.copyOf(out, n);
      });
    }
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<int[]>> futures = pool.invokeAll(calls, 60, TimeUnit.SECONDS);
      for (int i = 0; i < streams; i++) {
        // generate leaves out a final <|endoftext|>; the lone run keeps it.
        int[] e = expected[i];
        int[] want =
            e.length > 0 && e[e.length - 1] == model.tokenizer().endOfText()
                ? Arrays.copyOf(e, e.length - 1)
                : e;
        assertThat(futures.get(i).get()).as("stream %d", i).containsExactly(want);
      }
    }
  }

  @Test
  void generate_sixteenConcurrentStreams_eachEqualsItsLoneGreedyRun() throws Exception {
    assertConcurrentEqualsAlone(model, 16);
  }

  @Test
  void generate_sixteenSeededSamplingStreams_eachEqualsItsLoneRun() throws Exception {
    // At temperature > 0 the step's sequences are sampled on all workers at once; each must still
    // draw the tokens its own seed gives when it runs alone.
    int streams = 16;
    int[][] expected = new int[streams][];
    for (int i = 0; i < streams; i++) {
      int[] out = new int[TOKENS];
      int n = model.generate(prompts.get(i % prompts.size()), TOKENS, sampling(i), out);
      expected[i] = Arrays.copyOf(out, n);
    }
    List<Callable<int[]>> calls = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      int[] prompt = prompts.get(i % prompts.size());
      Sampler.Settings settings = sampling(i);
      calls.add(() -> {
        int[] out = new int[TOKENS];
        int n = model.generate(prompt, TOKENS, settings, out);
        return Arrays.copyOf(out, n);
      });
    }
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<int[]>> futures = pool.invokeAll(calls, 60, TimeUnit.SECONDS);
      for (int i = 0; i < streams; i++) {
        assertThat(futures.get(i).get()).as("stream %d", i).containsExactly(expected[i]);
      }
    }
  }

  private static Sampler.Settings sampling(int seed) {
    return new Sampler.Settings(1f, 0, 1f, 1000L + seed);
  }

  @Test
  void generate_concurrentStreams_shareDecodeSteps() throws Exception {
    try (Gpt2Model four =
        Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 64, 4)) {
      List<Callable<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        int[] prompt = prompts.get(i % prompts.size());
        calls.add(() -> four.generate(prompt, TOKENS, Sampler.Settings.GREEDY, new int[TOKENS]));
      }
      int total = 0;
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        for (Future<Integer> f : pool.invokeAll(calls, 60, TimeUnit.SECONDS)) {
          total += f.get();
        }
      }
      // Eight sequences of up to 40 tokens, at most four at a time: were they one at a time,
      // the steps would be at least the tokens.
      assertThat(four.scheduler().widestStep()).isBetween(2, 4);
      assertThat(four.scheduler().steps()).isLessThan(total);
    }
  }

  @Test
  void generate_moreStreamsThanSequences_waitersJoinBetweenStepsAndStillMatch() throws Exception {
    try (Gpt2Model three =
        Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 64, 3)) {
      int streams = 11;
      int[][] expected = new int[streams][];
      List<Callable<int[]>> calls = new ArrayList<>();
      for (int i = 0; i < streams; i++) {
        int[] prompt = prompts.get(i % prompts.size());
        expected[i] = alone(prompt, TOKENS);
        calls.add(() -> {
          int[] out = new int[TOKENS];
          return Arrays.copyOf(out, three.generate(prompt, TOKENS, Sampler.Settings.GREEDY, out));
        });
      }
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<int[]>> futures = pool.invokeAll(calls, 60, TimeUnit.SECONDS);
        for (int i = 0; i < streams; i++) {
          int[] e = expected[i];
          if (e.length > 0 && e[e.length - 1] == model.tokenizer().endOfText()) {
            e = Arrays.copyOf(e, e.length - 1);
          }
          assertThat(futures.get(i).get()).as("stream %d", i).containsExactly(e);
        }
      }
    }
  }

  @Test
  void step_threeSequencesTogether_logitsBitIdenticalToEachAlone() {
    assertThreeTogetherEqualAlone(model);
  }

  @Test
  void step_threeBf16CachedSequencesTogether_logitsBitIdenticalToEachAlone() {
    try (Gpt2Model bf16 =
        Gpt2Model.load(
            Fixtures.tinyModelDir(),
            Fixtures.tokenizerDir(),
            2,
            4,
            4,
            0,
            Gpt2Weights.Precision.AUTO,
            KvCache.Format.BF16)) {
      assertThreeTogetherEqualAlone(bf16);
    }
  }

  @Test
  void step_afterItReturns_engineHoldsNoReferenceToTheCaches() throws InterruptedException {
    // The scheduler drops a pooled cache to make room for a larger one; if the engine still held
    // it, the new allocation could run a small heap out of memory (every request then failed).
    Gpt2Engine engine = model.engine();
    int[][] p = {prompts.get(0)};
    KvCache cache = engine.newCache(model.config().positions());
    engine.step(1, new KvCache[] {cache}, p, new int[1], new int[] {p[0].length}, new int[] {0});
    var ref = new java.lang.ref.WeakReference<>(cache);
    cache = null;
    for (int i = 0; i < 50 && ref.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertThat(ref.get()).isNull();
  }

  private static void assertThreeTogetherEqualAlone(Gpt2Model model) {
    Gpt2Engine engine = model.engine();
    int[][] p = {prompts.get(0), prompts.get(3), prompts.get(5)};
    float[][] alone = new float[3][];
    for (int i = 0; i < 3; i++) {
      engine.reset();
      alone[i] = engine.forward(p[i], 0, p[i].length).clone();
    }
    Gpt2Config c = model.config();
    int n = c.positions();
    KvCache[] caches = {engine.newCache(n), engine.newCache(n), engine.newCache(n)};
    engine.step(
        3,
        caches,
        p,
        new int[3],
        new int[] {p[0].length, p[1].length, p[2].length},
        new int[] {0, 1, 2});
    for (int i = 0; i < 3; i++) {
      assertThat(engine.logits(i)).as("sequence %d", i).containsExactly(alone[i]);
      assertThat(caches[i].length).isEqualTo(p[i].length);
    }
  }

  @Test
  void generate_oneStreamOnASixteenSequenceModel_makesOneRowOfLogits() {
    try (Gpt2Model fresh =
        Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 64, 16)) {
      assertThat(fresh.engine().logitRowsMade()).isZero();
      var greedy = new TextGenerator.Options(8, 0f, 0, 1f, 0, List.of());
      fresh.generate(prompts.get(1), greedy, TextGenerator.Listener.NONE);
      // the other 15 rows (200 KB each at GPT-2's vocabulary) are made only when 16 run at once
      assertThat(fresh.engine().logitRowsMade()).isEqualTo(1);
    }
  }

  @Test
  void generate_callerCancels_freesItsCacheForTheNext() {
    try (Gpt2Model one =
        Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 0, 1)) {
      var greedy = new TextGenerator.Options(TOKENS, 0f, 0, 1f, 0, List.of());
      var cancelled = one.generate(prompts.get(1), greedy, d -> false);
      var next = one.generate(prompts.get(1), greedy, d -> true);
      assertThat(cancelled.finish()).isEqualTo(TextGenerator.Finish.CANCELLED);
      assertThat(next.completionTokens()).isGreaterThan(1);
    }
  }
}
