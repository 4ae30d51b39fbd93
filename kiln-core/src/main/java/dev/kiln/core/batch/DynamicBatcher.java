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
import java.util.concurrent.Semaphore;
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
 * <p>The decision is {@link #poll()}, a non-blocking step that tests drive with a fake ticker.
 *
 * <p>Who runs a batch (leader/follower). A model that costs microseconds per call loses more to the
 * hand-off than batching saves: waking a platform worker for every request and waking the caller
 * again afterwards cost tens of microseconds under load. So in a started batcher the submitting
 * thread that finds a batch ready (full or at a preferred size) runs it itself, then returns; the
 * other callers in the batch just wait on their futures. Only while executions are short, though
 * ({@link #LEAD_MAX_COMPUTE_NANOS}): a long one would pin the leader's virtual-thread carrier, and
 * against it the hand-off is cheap. At most {@code instances} executions run at once, leaders and
 * workers together (a semaphore). The platform workers remain for what no submitter sees: the
 * oldest request's delay running out, and ready work left over while every instance was busy. They
 * are woken only when the queue goes from empty to non-empty or when a leader leaves ready work
 * behind, not on every submit.
 */
public final class DynamicBatcher implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(DynamicBatcher.class.getName());

  /**
   * Submitters lead only while executions take less than this. A leader is usually a virtual
   * thread, and a runtime call pins its carrier (one of only a few) for its whole length; past a
   * fraction of a millisecond the hand-off to a platform worker is the smaller cost.
   */
  static final long LEAD_MAX_COMPUTE_NANOS = 500_000;

  /**
   * A worker waiting for the oldest request's delay parks until this long before the flush time,
   * then spins. A parked thread wakes late: Linux's default timer slack alone is 50 µs, and a busy
   * core adds its run-queue wait, so parking for the whole delay flushes every partial batch that
   * much late, which every request in it pays.
   */
  static final long WAKE_EARLY_NANOS = 100_000;

  /**
   * How long a worker parks when the flush is {@code untilFlushNanos} away; 0 or less means spin.
   */
  static long parkNanos(long untilFlushNanos) {
    return untilFlushNanos - WAKE_EARLY_NANOS;
  }

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

  /** Executions in progress may not exceed {@code instances}; held only while running a batch. */
  private final Semaphore instances;

  /** Whether submitters may run ready batches themselves; false in {@link #manual} (tests). */
  private boolean leaders;

  /** Moving average of recent executions' wall time (1/8 weight to the newest). */
  private volatile long recentComputeNanos;

  private boolean closed;

  // Kept with the queue so that the per-submit checks are O(1) rather than a walk of the queue.
  private long queuedRows;
  private long earliestDeadlineNanos = Long.MAX_VALUE; // a lower bound; exact after an expiry pass
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
    b.leaders = true;
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
    this.instances = new Semaphore(policy.instances());
  }

  public BatchPolicy policy() {
    return policy;
  }

  /**
   * Queues a request. {@code deadlineNanos} is on the ticker's clock ({@link Long#MAX_VALUE} for
   * none). Throws OVERLOADED at once when the queue is full.
   *
   * <p>In a started batcher, if the queue now holds a ready batch, an instance is free and recent
   * executions were short, the calling thread runs it (possibly including this request) before
   * returning.
   */
  public Pending submit(InferenceRequest request, long deadlineNanos) {
    Pending p = new Pending(request, ticker.nanos(), deadlineNanos);
    if (enqueue(p)) {
      lead(p);
    }
    return p;
  }

  /**
   * Queues {@code p}; returns whether the caller should lead, i.e. a batch is ready and executions
   * are short. A ready batch that is too long to run on the caller's thread wakes a worker instead.
   */
  private boolean enqueue(Pending p) {
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
      queuedRows += p.rows;
      earliestDeadlineNanos = Math.min(earliestDeadlineNanos, p.deadlineNanos);
      if (!ready(p.enqueuedNanos)) {
        if (queue.size() == 1) {
          // A new oldest request: some worker must arm the timer for its delay. Later arrivals
          // do not move the flush time, so they wake no one.
          changed.signal();
        }
        return false;
      }
      if (leaders && recentComputeNanos < LEAD_MAX_COMPUTE_NANOS) {
        return true;
      }
      changed.signal();
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs ready batches on the calling thread while an instance is free and until {@code own} is
   * answered (so a leader does not serve strangers forever), then wakes a worker for any ready work
   * it leaves behind.
   */
  private void lead(Pending own) {
    if (!instances.tryAcquire()) {
      return; // every instance is busy; whoever finishes first looks at the queue again
    }
    try {
      do {
        Batch batch = poll();
        if (batch.requests().isEmpty()) {
          break;
        }
        run(batch);
      } while (!own.future.isDone());
    } finally {
      instances.release();
    }
    wakeWorkerIfReady();
  }

  private void wakeWorkerIfReady() {
    lock.lock();
    try {
      if (!queue.isEmpty() && ready(ticker.nanos())) {
        changed.signal();
      }
    } finally {
      lock.unlock();
    }
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
    if (now >= earliestDeadlineNanos) {
      expire(now, expired);
    }
    if (queue.isEmpty()) {
      return new Batch(List.of(), Long.MAX_VALUE);
    }
    if (!ready(now)) {
      return new Batch(List.of(), flushAt() - now);
    }
    // The FIFO prefix that fits in one execution (a lone oversized request runs alone).
    List<Pending> out = new ArrayList<>();
    long rows = 0;
    while (!queue.isEmpty()
        && (out.isEmpty() || rows + queue.peekFirst().rows <= policy.maxBatchSize())) {
      Pending p = queue.pollFirst();
      rows += p.rows;
      out.add(p);
    }
    queuedRows -= rows;
    if (!queue.isEmpty() && instances.availablePermits() > 0 && ready(now)) {
      changed.signal(); // more is ready and an instance is free: another worker may run it at once
    }
    return new Batch(out, 0);
  }

  /** Moves requests whose deadline has passed to {@code expired}; recomputes the earliest one. */
  private void expire(long now, List<Pending> expired) {
    long earliest = Long.MAX_VALUE;
    for (var it = queue.iterator(); it.hasNext(); ) {
      Pending p = it.next();
      if (p.deadlineNanos <= now) {
        it.remove();
        queuedRows -= p.rows;
        expired.add(p);
      } else {
        earliest = Math.min(earliest, p.deadlineNanos);
      }
    }
    earliestDeadlineNanos = earliest;
  }

  /**
   * Whether the non-empty queue holds a batch to run now: the rows fill an execution (or the next
   * request does not fit, which needs at least as many rows), a preferred size is reached, the
   * oldest request's delay is up, or the batcher is closing. Expired requests are not excluded.
   */
  private boolean ready(long now) {
    return closed || queuedRows >= policy.maxBatchSize() || now >= flushAt() || preferredReached();
  }

  private long flushAt() {
    return queue.peekFirst().enqueuedNanos + policy.maxQueueDelay().toNanos();
  }

  /** Whether the running row count along the queue (all of it fits) hits a preferred size. */
  private boolean preferredReached() {
    if (policy.preferredBatchSizes().isEmpty()) {
      return false;
    }
    long rows = 0;
    for (Pending p : queue) {
      rows += p.rows;
      if (policy.preferredBatchSizes().contains((int) rows)) {
        return true;
      }
    }
    return false;
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
    long average = recentComputeNanos;
    recentComputeNanos = average + ((end - start) - average) / 8; // racy updates only blur it
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

  /**
   * A worker: sleeps until the oldest request's delay runs out (or until woken), then runs what is
   * ready while it can get an instance. Unlike a leader it keeps going while work is ready.
   */
  private void workLoop() {
    try {
      for (; ; ) {
        lock.lock();
        try {
          for (; ; ) {
            if (queue.isEmpty()) {
              if (closed) {
                return;
              }
              changed.awaitUninterruptibly();
              continue;
            }
            long now = ticker.nanos();
            if (ready(now)) {
              break;
            }
            long park = parkNanos(flushAt() - now);
            if (park > 0) {
              changed.awaitNanos(park);
            } else {
              // The last stretch before the flush time: spin outside the lock (submitters keep
              // queueing), then look again.
              lock.unlock();
              try {
                Thread.onSpinWait();
              } finally {
                lock.lock();
              }
            }
          }
        } finally {
          lock.unlock();
        }
        // Wait for an instance outside the lock; the batch is formed only once we hold one, so
        // requests that arrive meanwhile can still join it.
        instances.acquire();
        try {
          for (Batch batch = poll(); !batch.requests().isEmpty(); batch = poll()) {
            run(batch);
          }
        } finally {
          instances.release();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
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
