package dev.kiln.core.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.time.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The batching decisions, driven by {@link DynamicBatcher#poll()} and a fake ticker. */
class DynamicBatcherTest {
  private static final long NO_DEADLINE = Long.MAX_VALUE;

  private final FakeTicker ticker = new FakeTicker();
  private final DoublingModel model = new DoublingModel();

  private DynamicBatcher batcher(int maxBatch, Duration delay, List<Integer> preferred, int queue) {
    return DynamicBatcher.manual(
        new BatchPolicy(maxBatch, delay, preferred, queue, 1), model, ticker);
  }

  private static InferenceRequest rows(float... values) {
    return new InferenceRequest(
        null,
        Map.of("x", Tensor.ofFloats("x", new long[] {values.length, 1}, values)),
        List.of(),
        Map.of());
  }

  @Test
  void poll_fewerRowsThanMaxAndDelayNotElapsed_waitsForOldestDelay() {
    var b = batcher(8, Duration.ofMillis(5), List.of(), 100);
    b.submit(rows(1), NO_DEADLINE);
    ticker.advance(Duration.ofMillis(2));

    DynamicBatcher.Batch batch = b.poll();

    assertThat(batch.requests()).isEmpty();
    assertThat(batch.waitNanos()).isEqualTo(Duration.ofMillis(3).toNanos());
  }

  @Test
  void poll_maxDelayElapsedSinceOldest_flushesPartialBatch() {
    var b = batcher(8, Duration.ofMillis(5), List.of(), 100);
    b.submit(rows(1), NO_DEADLINE);
    ticker.advance(Duration.ofMillis(4));
    b.submit(rows(2), NO_DEADLINE); // younger: must not restart the clock
    ticker.advance(Duration.ofMillis(1));

    DynamicBatcher.Batch batch = b.poll();

    assertThat(batch.requests()).hasSize(2);
    assertThat(batch.rows()).isEqualTo(2);
  }

  @Test
  void poll_delayCountedFromOldest_flushesAtOldestEnqueuePlusDelayNotLater() {
    var b = batcher(8, Duration.ofMillis(2), List.of(), 100);
    var oldest = b.submit(rows(1), NO_DEADLINE);
    ticker.advance(Duration.ofMillis(1).plusNanos(500_000));
    var younger = b.submit(rows(2), NO_DEADLINE);
    ticker.advance(Duration.ofNanos(499_999));

    assertThat(b.poll().waitNanos()).isEqualTo(1); // 1 ns before oldest + 2 ms: not yet
    ticker.advance(Duration.ofNanos(1));
    DynamicBatcher.Batch batch = b.poll();
    b.run(batch);

    assertThat(batch.requests()).hasSize(2);
    assertThat(oldest.future().join().queueNanos()).isEqualTo(Duration.ofMillis(2).toNanos());
    assertThat(younger.future().join().queueNanos()).isEqualTo(500_000);
  }

  @Test
  void parkNanos_flushFarOff_parksUntilShortlyBeforeItThenSpins() {
    long delay = Duration.ofMillis(2).toNanos();

    assertThat(DynamicBatcher.parkNanos(delay)).isEqualTo(delay - DynamicBatcher.WAKE_EARLY_NANOS);
    assertThat(DynamicBatcher.parkNanos(DynamicBatcher.WAKE_EARLY_NANOS)).isNotPositive();
    assertThat(DynamicBatcher.parkNanos(1)).isNotPositive();
  }

  @Test
  void poll_maxBatchSizeReached_flushesWithoutWaiting() {
    var b = batcher(4, Duration.ofSeconds(10), List.of(), 100);
    b.submit(rows(1, 2), NO_DEADLINE);
    b.submit(rows(3, 4), NO_DEADLINE);

    assertThat(b.poll().rows()).isEqualTo(4);
  }

  @Test
  void poll_moreQueuedThanFits_takesFifoPrefixWithinMax() {
    var b = batcher(4, Duration.ofSeconds(10), List.of(), 100);
    b.submit(rows(1, 2, 3), NO_DEADLINE);
    b.submit(rows(4, 5), NO_DEADLINE);

    DynamicBatcher.Batch first = b.poll();

    assertThat(first.rows()).isEqualTo(3);
    assertThat(b.queueDepth()).isEqualTo(1);
  }

  @Test
  void poll_preferredSizeReached_flushesWithoutWaiting() {
    var b = batcher(16, Duration.ofSeconds(10), List.of(2), 100);
    b.submit(rows(1), NO_DEADLINE);
    b.submit(rows(2), NO_DEADLINE);

    assertThat(b.poll().rows()).isEqualTo(2);
  }

  @Test
  void poll_deadlinePassedInQueue_answersDeadlineExceededWithoutCompute() {
    var b = batcher(8, Duration.ofMillis(5), List.of(), 100);
    var late = b.submit(rows(1), ticker.nanos() + Duration.ofMillis(3).toNanos());
    var onTime = b.submit(rows(2), NO_DEADLINE);
    ticker.advance(Duration.ofMillis(5));

    DynamicBatcher.Batch batch = b.poll();
    b.run(batch);

    assertThat(late.future().join().result())
        .isInstanceOfSatisfying(
            InferenceResult.Failure.class,
            f -> assertThat(f.error().kind()).isEqualTo(ErrorKind.DEADLINE_EXCEEDED));
    assertThat(onTime.future().join().result()).isInstanceOf(InferenceResult.Success.class);
    assertThat(model.rowsSeen).containsExactly(1); // only the on-time request was computed
  }

  @Test
  void submit_queueFull_refusedAtOnceAsOverloaded() {
    var b = batcher(8, Duration.ofMillis(5), List.of(), 2);
    b.submit(rows(1), NO_DEADLINE);
    b.submit(rows(2), NO_DEADLINE);

    assertThatThrownBy(() -> b.submit(rows(3), NO_DEADLINE))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.OVERLOADED));
  }

  @Test
  void run_batchOfSeveralRequests_splitsResultsBackPerRequest() {
    var b = batcher(8, Duration.ZERO, List.of(), 100);
    var first = b.submit(rows(1, 2), NO_DEADLINE);
    var second = b.submit(rows(5), NO_DEADLINE);

    b.run(b.poll());

    assertThat(first.future().join().result().orThrow().get("y").floats()).containsExactly(2, 4);
    assertThat(second.future().join().result().orThrow().get("y").floats()).containsExactly(10);
    assertThat(first.future().join().batchRows()).isEqualTo(3);
    assertThat(model.rowsSeen).containsExactly(3); // one execution for both
  }

  @Test
  void run_oneBadRequestInBatch_failsOnlyThatRequest() {
    var b = batcher(8, Duration.ZERO, List.of(), 100);
    var good = b.submit(rows(1), NO_DEADLINE);
    var bad = b.submit(rows(-1), NO_DEADLINE); // the model rejects negative input
    var alsoGood = b.submit(rows(3), NO_DEADLINE);

    b.run(b.poll());

    assertThat(good.future().join().result().orThrow().get("y").floats()).containsExactly(2);
    assertThat(bad.future().join().result()).isInstanceOf(InferenceResult.Failure.class);
    assertThat(alsoGood.future().join().result().orThrow().get("y").floats()).containsExactly(6);
  }

  @Test
  void run_queueTime_measuredFromEnqueueToExecution() {
    var b = batcher(8, Duration.ofMillis(5), List.of(), 100);
    var p = b.submit(rows(1), NO_DEADLINE);
    ticker.advance(Duration.ofMillis(5));

    b.run(b.poll());

    assertThat(p.future().join().queueNanos()).isEqualTo(Duration.ofMillis(5).toNanos());
  }

  @Test
  void workers_realThreads_answerConcurrentSubmitters() throws Exception {
    var policy = new BatchPolicy(64, Duration.ofMillis(2), List.of(), 1000, 2);
    try (var b = DynamicBatcher.start(policy, model, System::nanoTime, "test")) {
      List<DynamicBatcher.Pending> pending = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        pending.add(b.submit(rows(i), NO_DEADLINE));
      }
      for (int i = 0; i < 200; i++) {
        assertThat(pending.get(i).future().get().result().orThrow().get("y").floats())
            .containsExactly(2f * i);
      }
    }
  }

  @Test
  void submit_startedAndBatchFull_submitterRunsItOnItsOwnThread() {
    var recording = new RecordingModel(model);
    var policy = new BatchPolicy(2, Duration.ofSeconds(10), List.of(), 100, 1);
    try (var b = DynamicBatcher.start(policy, recording, ticker, "test")) {
      var first = b.submit(rows(1), NO_DEADLINE);
      var second = b.submit(rows(2), NO_DEADLINE); // fills the batch: this caller leads

      assertThat(first.future()).isDone();
      assertThat(second.future()).isDone();
      assertThat(recording.threads).containsExactly(Thread.currentThread().getName());
      assertThat(first.future().join().batchRows()).isEqualTo(2);
    }
  }

  @Test
  void submit_startedAndBatchNotReady_returnsWithoutRunning() {
    var policy = new BatchPolicy(8, Duration.ofSeconds(10), List.of(), 100, 1);
    try (var b = DynamicBatcher.start(policy, model, ticker, "test")) {
      var p = b.submit(rows(1), NO_DEADLINE);

      assertThat(p.future()).isNotDone();
      assertThat(model.rowsSeen).isEmpty();
    }
  }

  @Test
  void submit_startedAndPreferredSizeReached_submitterRunsIt() {
    var policy = new BatchPolicy(16, Duration.ofSeconds(10), List.of(3), 100, 1);
    try (var b = DynamicBatcher.start(policy, model, ticker, "test")) {
      b.submit(rows(1), NO_DEADLINE);
      var p = b.submit(rows(2, 3), NO_DEADLINE);

      assertThat(p.future()).isDone();
      assertThat(model.rowsSeen).containsExactly(3);
    }
  }

  @Test
  void submit_everyInstanceBusy_returnsAndBatchRunsWhenOneFrees() throws Exception {
    var gate = new java.util.concurrent.CountDownLatch(1);
    var blocking = new RecordingModel(model, gate);
    var policy = new BatchPolicy(1, Duration.ofSeconds(10), List.of(), 100, 1);
    try (var b = DynamicBatcher.start(policy, blocking, System::nanoTime, "test");
        var leader = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      var first = leader.submit(() -> b.submit(rows(1), NO_DEADLINE));
      blocking.entered.await(); // the only instance is now busy with the first request

      var second = b.submit(rows(2), NO_DEADLINE);
      assertThat(second.future()).isNotDone();
      gate.countDown();

      assertThat(
              second
                  .future()
                  .get(10, java.util.concurrent.TimeUnit.SECONDS)
                  .result()
                  .orThrow()
                  .get("y")
                  .floats())
          .containsExactly(4);
      assertThat(first.get().future().get().batchRows()).isEqualTo(1);
      assertThat(blocking.maxConcurrent).hasValue(1);
    }
  }

  @Test
  void submit_recentExecutionsLong_workerRunsReadyBatchInstead() throws Exception {
    var slow = new RecordingModel(model, ticker, Duration.ofSeconds(1)); // each call "takes" 1 s
    var policy = new BatchPolicy(1, Duration.ofSeconds(10), List.of(), 100, 1);
    try (var b = DynamicBatcher.start(policy, slow, ticker, "test")) {
      b.submit(rows(1), NO_DEADLINE); // nothing measured yet: the submitter leads

      var second = b.submit(rows(2), NO_DEADLINE);

      second.future().get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(slow.threads).hasSize(2);
      assertThat(slow.threads.get(0)).isEqualTo(Thread.currentThread().getName());
      assertThat(slow.threads.get(1)).startsWith("kiln-batch-test-");
    }
  }

  @Test
  void workers_oldestDelayElapsesWithNoNewSubmits_workerFlushes() throws Exception {
    var recording = new RecordingModel(model);
    var policy = new BatchPolicy(8, Duration.ofMillis(5), List.of(), 100, 1);
    try (var b = DynamicBatcher.start(policy, recording, System::nanoTime, "test")) {
      var p = b.submit(rows(1), NO_DEADLINE);

      var outcome = p.future().get(10, java.util.concurrent.TimeUnit.SECONDS);

      assertThat(outcome.batchRows()).isEqualTo(1);
      assertThat(recording.threads).singleElement().asString().startsWith("kiln-batch-test-");
    }
  }

  @Test
  void workers_manyConcurrentSubmitters_neverExceedInstances() throws Exception {
    var recording = new RecordingModel(model);
    var policy = new BatchPolicy(4, Duration.ofMillis(1), List.of(), 10_000, 2);
    try (var b = DynamicBatcher.start(policy, recording, System::nanoTime, "test");
        var callers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      List<java.util.concurrent.Future<Float>> answers = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        float x = i;
        answers.add(
            callers.submit(() ->
                b.submit(rows(x), NO_DEADLINE)
                    .future()
                    .join()
                    .result()
                    .orThrow()
                    .get("y")
                    .floats()[0]));
      }
      for (int i = 0; i < 500; i++) {
        assertThat(answers.get(i).get()).isEqualTo(2f * i);
      }
      assertThat(recording.maxConcurrent.get()).isLessThanOrEqualTo(2);
    }
  }

  /** Wraps a model: records which threads ran it and how many ran at once; may block on a gate. */
  static final class RecordingModel implements LoadedModel {
    final LoadedModel inner;
    final java.util.concurrent.CountDownLatch gate;
    final FakeTicker clock;
    final Duration cost;
    final java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
    final List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
    final java.util.concurrent.atomic.AtomicInteger running =
        new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger maxConcurrent =
        new java.util.concurrent.atomic.AtomicInteger();

    RecordingModel(LoadedModel inner) {
      this(inner, new java.util.concurrent.CountDownLatch(0));
    }

    RecordingModel(LoadedModel inner, java.util.concurrent.CountDownLatch gate) {
      this.inner = inner;
      this.gate = gate;
      this.clock = null;
      this.cost = Duration.ZERO;
    }

    /** Each execution advances {@code clock} by {@code cost}, as if it took that long. */
    RecordingModel(LoadedModel inner, FakeTicker clock, Duration cost) {
      this.inner = inner;
      this.gate = new java.util.concurrent.CountDownLatch(0);
      this.clock = clock;
      this.cost = cost;
    }

    @Override
    public ModelSignature signature() {
      return inner.signature();
    }

    @Override
    public List<InferenceResult> execute(List<InferenceRequest> batch) {
      int now = running.incrementAndGet();
      maxConcurrent.accumulateAndGet(now, Math::max);
      threads.add(Thread.currentThread().getName());
      entered.countDown();
      try {
        gate.await();
        if (clock != null) {
          clock.advance(cost);
        }
        return inner.execute(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      } finally {
        running.decrementAndGet();
      }
    }

    @Override
    public void close() {}
  }

  /** y = 2x, batched along dimension 0; a negative x makes the whole batch throw. */
  static final class DoublingModel implements LoadedModel {
    final List<Integer> rowsSeen = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public ModelSignature signature() {
      return new ModelSignature(
          "test",
          List.of(new TensorSpec("x", DataType.FP32, new long[] {-1, 1})),
          List.of(new TensorSpec("y", DataType.FP32, new long[] {-1, 1})),
          0);
    }

    @Override
    public List<InferenceResult> execute(List<InferenceRequest> batch) {
      List<Tensor> parts = batch.stream().map(r -> r.inputs().get("x")).toList();
      Tensor x = dev.kiln.core.model.Tensors.concat(parts);
      for (float v : x.floats()) {
        if (v < 0) {
          throw KilnException.invalid("negative input");
        }
      }
      rowsSeen.add((int) x.batchSize());
      float[] y = x.floats().clone();
      for (int i = 0; i < y.length; i++) {
        y[i] *= 2;
      }
      Tensor out = Tensor.ofFloats("y", x.shape(), y);
      List<InferenceResult> results = new ArrayList<>();
      long at = 0;
      for (Tensor part : parts) {
        results.add(
            InferenceResult.ok(
                Map.of("y", dev.kiln.core.model.Tensors.slice(out, at, part.batchSize()))));
        at += part.batchSize();
      }
      return results;
    }

    @Override
    public void close() {}
  }
}
