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
