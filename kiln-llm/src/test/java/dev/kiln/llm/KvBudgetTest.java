package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Admission by KV budget: each request reserves prompt + max_tokens - 1 positions (1 KB each on the
 * tiny model: 2 layers x 64 wide x key and value x 4 bytes), rounded up to 16; a request waits in
 * the queue while its reservation does not fit, and is refused when it never could.
 */
@Timeout(60)
class KvBudgetTest {
  private static final long BUDGET_POSITIONS = 100;

  private Gpt2Model model;
  private final AtomicLong now = new AtomicLong();
  private Scheduler scheduler; // on the model's engine, with a fake clock; the model's stays idle
  private int[] prompt;
  private final ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor();

  @BeforeEach
  void load() {
    model =
        Gpt2Model.load(
            Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 1, 4, BUDGET_POSITIONS * 1024);
    scheduler =
        new Scheduler(
            model.engine(), model.tokenizer().endOfText(), 4, 1, BUDGET_POSITIONS, now::get, "t");
    prompt = model.encode("The LORD is my shepherd;"); // 6 tokens
  }

  @AfterEach
  void close() {
    callers.shutdownNow();
    scheduler.close();
    model.close();
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    while (!condition.getAsBoolean()) {
      Thread.sleep(1);
    }
  }

  /** Starts a generation whose caller blocks on {@code gate} at its first token. */
  private CompletableFuture<Scheduler.Run> held(int maxTokens, CountDownLatch gate) {
    return CompletableFuture.supplyAsync(
        () ->
            scheduler.generate(
                prompt,
                maxTokens,
                Sampler.Settings.GREEDY,
                token -> {
                  try {
                    return gate.await(30, TimeUnit.SECONDS);
                  } catch (InterruptedException e) {
                    return false;
                  }
                }),
        callers);
  }

  private CompletableFuture<Scheduler.Run> free(int maxTokens) {
    return CompletableFuture.supplyAsync(
        () -> scheduler.generate(prompt, maxTokens, Sampler.Settings.GREEDY, token -> true),
        callers);
  }

  // GPT-2 124M: 72 KB of K/V a position, 75.5 MB for its 1024 positions
  private static final Gpt2Config GPT2 = new Gpt2Config(12, 12, 768, 1024, 50257, 1e-5f);
  private static final long MB = 1 << 20;

  @Test
  void defaultKvCacheBytes_largeHeap_aQuarterOfIt() {
    assertThat(Gpt2Model.defaultKvCacheBytes(GPT2, 16, 1024 * MB, KvCache.Format.F32))
        .isEqualTo(256 * MB);
  }

  @Test
  void defaultKvCacheBytes_heapForFewContexts_stillOneFullContext() {
    assertThat(Gpt2Model.defaultKvCacheBytes(GPT2, 16, 256 * MB, KvCache.Format.F32))
        .isEqualTo(KvCache.bytes(GPT2));
  }

  @Test
  void defaultKvCacheBytes_heapSmallerThanThreeContexts_aThirdOfTheHeapItCanHold() {
    // one full context (75 MB) could never fit in a 64 MB heap: requests would run it out of
    // memory instead of waiting for room
    assertThat(Gpt2Model.defaultKvCacheBytes(GPT2, 16, 64 * MB, KvCache.Format.F32))
        .isEqualTo(64 * MB / 3);
  }

  @Test
  void defaultKvCacheBytes_fewSequences_aFullContextEach() {
    assertThat(Gpt2Model.defaultKvCacheBytes(GPT2, 2, 1024 * MB, KvCache.Format.F32))
        .isEqualTo(2 * KvCache.bytes(GPT2));
  }

  @Test
  void load_kvCacheBytes_setsTheBudgetInPositions() {
    assertThat(model.occupancy().kvBudgetBytes()).isEqualTo(BUDGET_POSITIONS * 1024);
    assertThat(model.occupancy().kvUsedBytes()).isZero();
  }

  @Test
  void load_bf16KvCache_sameBytesHoldTwiceThePositions() {
    try (Gpt2Model bf16 =
        Gpt2Model.load(
            Fixtures.tinyModelDir(),
            Fixtures.tokenizerDir(),
            1,
            1,
            4,
            BUDGET_POSITIONS * 1024,
            Gpt2Weights.Precision.AUTO,
            KvCache.Format.BF16)) {
      assertThat(bf16.scheduler().occupancy().kvBudgetTokens()).isEqualTo(2 * BUDGET_POSITIONS);
      assertThat(bf16.occupancy().kvBudgetBytes()).isEqualTo(BUDGET_POSITIONS * 1024);
    }
    assertThat(model.scheduler().occupancy().kvBudgetTokens()).isEqualTo(BUDGET_POSITIONS);
  }

  @Test
  void warmUp_withinTheBudget_usesAtMostItAndFreesIt() {
    // 100 positions: 96 after rounding down to the 16-position granule, above half the context (64)
    assertThat(model.warmUp()).isEqualTo(64);
    assertThat(model.occupancy().kvUsedBytes()).isZero();
  }

  @Test
  void warmUp_budgetUnderOneGranule_runsNothing() {
    try (Gpt2Model small =
        Gpt2Model.load(Fixtures.tinyModelDir(), Fixtures.tokenizerDir(), 1, 1, 1, 8 * 1024)) {
      assertThat(small.warmUp()).isZero();
      assertThat(small.engine().logitRowsMade()).isZero();
    }
  }

  @Test
  void defaultKvCacheBytes_bf16_aFullContextIsHalfTheBytes() {
    assertThat(Gpt2Model.defaultKvCacheBytes(GPT2, 2, 1024 * MB, KvCache.Format.BF16))
        .isEqualTo(KvCache.bytes(GPT2));
  }

  @Test
  void generate_reservationOverTheWholeBudget_isRefusedAtOnceNamingIt() {
    int need = prompt.length + 100 - 1;
    assertThatThrownBy(
            () -> scheduler.generate(prompt, 100, Sampler.Settings.GREEDY, token -> true))
        .isInstanceOf(KilnException.class)
        .satisfies(e -> assertThat(((KilnException) e).kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining(need + " positions")
        .hasMessageContaining("kv-cache-bytes");
  }

  @Test
  void generate_budgetTaken_nextWaitsThenRunsWhenItIsFreed() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    // A: 6 + 60 - 1 = 65 -> 80 positions; B: 6 + 30 - 1 = 35 -> 48; 80 + 48 > 100.
    var a = held(60, gate);
    await(() -> scheduler.occupancy().running() == 1);
    var b = free(30);
    await(scheduler::hasWaiters);
    assertThat(scheduler.occupancy())
        .isEqualTo(new Scheduler.Occupancy(1, 1, 80, BUDGET_POSITIONS));
    assertThat(b).isNotDone();

    gate.countDown();
    assertThat(a.get(30, TimeUnit.SECONDS).tokens()).isPositive();
    assertThat(b.get(30, TimeUnit.SECONDS).tokens()).isPositive();
    await(() -> scheduler.occupancy().running() == 0);
    assertThat(scheduler.occupancy()).isEqualTo(new Scheduler.Occupancy(0, 0, 0, 100));
  }

  @Test
  void generate_shortAfterALongOneFinished_doesNotTakeItsPooledCache() throws Exception {
    // A: 6 + 90 - 1 = 95 -> 96 positions, pooled when it ends. Two short requests (6 + 10 - 1 =
    // 15 -> 16 each) must both run: handing one of them A's 96-position cache would leave 4.
    assertThat(free(90).get(30, TimeUnit.SECONDS).tokens()).isPositive();
    CountDownLatch gate = new CountDownLatch(1);
    var b = held(10, gate);
    var c = held(10, gate);
    await(() -> scheduler.occupancy().running() == 2);
    assertThat(scheduler.occupancy().kvReservedTokens()).isEqualTo(32);
    assertThat(scheduler.hasWaiters()).isFalse();
    gate.countDown();
    b.get(30, TimeUnit.SECONDS);
    c.get(30, TimeUnit.SECONDS);
  }

  @Test
  void generate_fitsBesideRunning_isAdmittedWithoutWaiting() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    var a = held(40, gate); // 45 -> 48 positions
    await(() -> scheduler.occupancy().running() == 1);
    var b = held(30, gate); // 35 -> 48 positions: 96 <= 100
    await(() -> scheduler.occupancy().running() == 2);
    assertThat(scheduler.occupancy().kvReservedTokens()).isEqualTo(96);
    assertThat(scheduler.hasWaiters()).isFalse();
    gate.countDown();
    a.get(30, TimeUnit.SECONDS);
    b.get(30, TimeUnit.SECONDS);
  }

  @Test
  void generate_queueFull_isRefusedAtOnceWithOverloaded() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    var a = held(60, gate);
    await(() -> scheduler.occupancy().running() == 1);
    var b = free(30); // waits: the queue (max-queue 1) is now full
    await(scheduler::admissionBlocked);
    assertThatThrownBy(() -> scheduler.generate(prompt, 30, Sampler.Settings.GREEDY, t -> true))
        .isInstanceOf(KilnException.class)
        .satisfies(e -> assertThat(((KilnException) e).kind()).isEqualTo(ErrorKind.OVERLOADED));
    gate.countDown();
    a.get(30, TimeUnit.SECONDS);
    b.get(30, TimeUnit.SECONDS);
  }

  @Test
  void generate_waitForRoom_isItsQueueTimeOnTheInjectedClock() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    var a = held(60, gate);
    await(() -> scheduler.occupancy().running() == 1);
    var b = free(30);
    await(scheduler::hasWaiters);
    now.addAndGet(Duration.ofSeconds(5).toNanos()); // the clock moves only while B waits
    gate.countDown();
    assertThat(a.get(30, TimeUnit.SECONDS).queueNanos()).isZero();
    assertThat(b.get(30, TimeUnit.SECONDS).queueNanos()).isEqualTo(Duration.ofSeconds(5).toNanos());
  }

  @Test
  void generate_callerLeaves_itsReservationIsFreed() throws Exception {
    var r = scheduler.generate(prompt, 60, Sampler.Settings.GREEDY, token -> false);
    assertThat(r.finish()).isEqualTo(TextGenerator.Finish.CANCELLED);
    await(() -> scheduler.occupancy().running() == 0);
    assertThat(scheduler.occupancy().kvReservedTokens()).isZero();
    // It left the batch rather than run on to its 60 tokens: one prefill step, and at most the
    // backpressure window of decode steps ahead of its caller before it was retired.
    assertThat(scheduler.steps()).isLessThanOrEqualTo(1 + Scheduler.WINDOW + 1);
    // And the whole budget is there for the next: 6 + 94 - 1 = 99 positions.
    assertThat(scheduler.generate(prompt, 94, Sampler.Settings.GREEDY, t -> true).tokens())
        .isPositive();
  }

  @Test
  void textGenerator_occupancy_reportsBytes() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    var options = new TextGenerator.Options(40, 0f, 0, 1f, 0, List.of());
    var a =
        CompletableFuture.supplyAsync(
            () ->
                model.generate(
                    prompt,
                    options,
                    d -> {
                      try {
                        return gate.await(30, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        return false;
                      }
                    }),
            callers);
    await(() -> model.occupancy().running() == 1);
    assertThat(model.occupancy().kvUsedBytes()).isEqualTo(48 * 1024);
    gate.countDown();
    a.get(30, TimeUnit.SECONDS);
    await(() -> model.occupancy().running() == 0);
    assertThat(model.occupancy().kvUsedBytes()).isZero();
  }
}
