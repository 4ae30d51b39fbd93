package dev.kiln.core.batch;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.time.Ticker;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Triton-style dynamic batching for one model version: requests from different callers queue, and
 * {@code instances} worker threads take them in FIFO order as one execution of up to {@code
 * max-batch-size} rows. A batch runs when it is full, when it reaches a preferred size, or when the
 * oldest request in it has waited {@code max-queue-delay} — counted from that request's enqueue
 * time, not from when a worker looked. Expired requests are answered DEADLINE_EXCEEDED before any
 * compute; a full queue is refused at once with OVERLOADED. Each request gets its own result: one
 * that fails, fails alone.
 *
 * <p>The decision is {@link #poll()}, a non-blocking step that tests drive with a fake ticker;
 * workers call it in a loop and sleep until the next flush time.
 */
public final class DynamicBatcher implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(DynamicBatcher.class.getName());

  /** A queued request and how to answer it. */
  public static final class Pending {
    final InferenceRequest request;
    final long rows;
    final long enqueuedNanos;
    final long deadlineNanos;
    final CompletableFuture<Outcome> future = new CompletableFuture<>();

    Pending(InferenceRequest request, long enqueuedNanos, long deadlineNanos) {
      this.request = request;
      this.rows = Math.max(1, request.batchSize());
      this.enqueuedNanos = enqueuedNanos;
      this.deadlineNanos = deadlineNanos;
    }

    public CompletableFuture<Outcome> future() {
      return future;
    }
  }

  /** One request's result plus the time it spent queued and the size of the batch it ran in. */
  public record Outcome(
      InferenceResult result, long queueNanos, long computeNanos, long batchRows) {}

  /** What {@link #poll()} decided: run these now, or nothing yet (wait {@code waitNanos}). */
  public record Batch(List<Pending> requests, long waitNanos) {
    public long rows() {
      return requests.stream().mapToLong(p -> p.rows).sum();
    }
  }

  private final BatchPolicy policy;
  private final LoadedModel model;
  private final Ticker ticker;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private final List<Thread> workers = new ArrayList<>();
  private boolean closed;
  private java.util.function.LongConsumer onBatch = rows -> {};

  /** A batcher without worker threads: the caller drives {@link #poll()} (tests). */
  public static DynamicBatcher manual(BatchPolicy policy, LoadedModel model, Ticker ticker) {
    return new DynamicBatcher(policy, model, ticker);
  }

  /** A batcher with {@code policy.instances()} worker threads. */
  public static DynamicBatcher start(
      BatchPolicy policy, LoadedModel model, Ticker ticker, String name) {
    return start(policy, model, ticker, name, rows -> {});
  }

  /**
   * As {@link #start(BatchPolicy, LoadedModel, Ticker, String)}; each execution's rows go to {@code
   * onBatch}.
   */
  public static DynamicBatcher start(
      BatchPolicy policy,
      LoadedModel model,
      Ticker ticker,
      String name,
      java.util.function.LongConsumer onBatch) {
    DynamicBatcher b = new DynamicBatcher(policy, model, ticker);
    b.onBatch = onBatch;
    for (int i = 0; i < policy.instances(); i++) {
      Thread t =
          Thread.ofPlatform().daemon().name("kiln-batch-" + name + "-" + i).start(b::workLoop);
      b.workers.add(t);
    }
    return b;
  }

  private DynamicBatcher(BatchPolicy policy, LoadedModel model, Ticker ticker) {
    this.policy = policy;
    this.model = model;
    this.ticker = ticker;
  }

  public BatchPolicy policy() {
    return policy;
  }

  /**
   * Queues a request. {@code deadlineNanos} is on the ticker's clock ({@link Long#MAX_VALUE} for
   * none). Throws OVERLOADED at once when the queue is full.
   */
  public Pending submit(InferenceRequest request, long deadlineNanos) {
    Pending p = new Pending(request, ticker.nanos(), deadlineNanos);
    lock.lock();
    try {
      if (closed) {
        throw new KilnException(ErrorKind.MODEL_NOT_READY, "the model version is closing");
      }
      if (queue.size() >= policy.maxQueueSize()) {
        throw KilnException.of(
            ErrorKind.OVERLOADED,
            "the queue of %d requests is full; retry later",
            policy.maxQueueSize());
      }
      queue.addLast(p);
      changed.signal();
    } finally {
      lock.unlock();
    }
    return p;
  }

  public int queueDepth() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * One scheduling step: fails expired requests, then returns the batch to run now (removed from
   * the queue), or an empty batch and how long to wait before the oldest request's delay runs out.
   */
  public Batch poll() {
    List<Pending> expired = new ArrayList<>();
    Batch batch;
    lock.lock();
    try {
      batch = decide(ticker.nanos(), expired);
    } finally {
      lock.unlock();
    }
    expired.forEach(this::failExpired);
    return batch;
  }

  private Batch decide(long now, List<Pending> expired) {
    queue.removeIf(p -> {
      if (p.deadlineNanos <= now) {
        expired.add(p);
        return true;
      }
      return false;
    });
    if (queue.isEmpty()) {
      return new Batch(List.of(), Long.MAX_VALUE);
    }
    // The FIFO prefix that fits in one execution (a lone oversized request runs alone).
    int count = 0;
    long rows = 0;
    boolean preferred = false;
    for (Pending p : queue) {
      if (count > 0 && rows + p.rows > policy.maxBatchSize()) {
        break;
      }
      count++;
      rows += p.rows;
      if (policy.preferredBatchSizes().contains((int) rows)) {
        preferred = true;
      }
    }
    boolean full = rows >= policy.maxBatchSize() || count < queue.size();
    long flushAt = queue.peekFirst().enqueuedNanos + policy.maxQueueDelay().toNanos();
    if (!full && !preferred && now < flushAt) {
      return new Batch(List.of(), flushAt - now);
    }
    List<Pending> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(queue.pollFirst());
    }
    if (!queue.isEmpty()) {
      changed.signal(); // another worker may take the rest
    }
    return new Batch(out, 0);
  }

  /** Executes a batch and answers every request in it. */
  public void run(Batch batch) {
    if (batch.requests().isEmpty()) {
      return;
    }
    long start = ticker.nanos();
    List<InferenceRequest> requests = batch.requests().stream().map(p -> p.request).toList();
    List<InferenceResult> results;
    try {
      results = model.execute(requests);
      if (results.size() != requests.size()) {
        throw new IllegalStateException(
            "runtime returned " + results.size() + " results for " + requests.size() + " requests");
      }
    } catch (RuntimeException e) {
      // The runtime broke its contract for the batch: run each request alone so that only the
      // guilty one fails.
      LOG.log(Level.DEBUG, "batch of " + requests.size() + " failed; retrying one by one", e);
      results = new ArrayList<>(requests.size());
      for (InferenceRequest r : requests) {
        results.add(runAlone(r));
      }
    }
    long end = ticker.nanos();
    long rows = batch.rows();
    onBatch.accept(rows);
    for (int i = 0; i < requests.size(); i++) {
      Pending p = batch.requests().get(i);
      p.future.complete(new Outcome(results.get(i), start - p.enqueuedNanos, end - start, rows));
    }
  }

  private InferenceResult runAlone(InferenceRequest r) {
    try {
      return model.execute(List.of(r)).getFirst();
    } catch (KilnException e) {
      return InferenceResult.failed(e);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "request failed in the runtime", e);
      return InferenceResult.failed(new KilnException(ErrorKind.INTERNAL, "runtime failure", e));
    }
  }

  private void workLoop() {
    for (; ; ) {
      Batch batch;
      lock.lock();
      try {
        for (; ; ) {
          if (closed && queue.isEmpty()) {
            return;
          }
          if (queue.isEmpty()) {
            changed.awaitUninterruptibly();
            continue;
          }
          List<Pending> expired = new ArrayList<>();
          batch = decide(ticker.nanos(), expired);
          if (!expired.isEmpty()) {
            lock.unlock();
            try {
              expired.forEach(this::failExpired);
            } finally {
              lock.lock();
            }
          }
          if (!batch.requests().isEmpty()) {
            break;
          }
          if (batch.waitNanos() != Long.MAX_VALUE && !closed) {
            changed.awaitNanos(batch.waitNanos());
          } else if (closed) {
            // Closing: run what is left without waiting for company.
            batch = new Batch(new ArrayList<>(queue), 0);
            queue.clear();
            break;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } finally {
        lock.unlock();
      }
      run(batch);
    }
  }

  private void failExpired(Pending p) {
    long now = ticker.nanos();
    p.future.complete(
        new Outcome(
            InferenceResult.failed(
                KilnException.of(
                    ErrorKind.DEADLINE_EXCEEDED,
                    "the request's deadline passed after %.1f ms in the queue",
                    (now - p.enqueuedNanos) / 1e6)),
            now - p.enqueuedNanos,
            0,
            0));
  }

  /** Stops taking requests; workers finish what is queued, then exit. */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    for (Thread t : workers) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
