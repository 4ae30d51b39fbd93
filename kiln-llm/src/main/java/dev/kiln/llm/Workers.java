package dev.kiln.llm;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads that run one task together and then wait for the next, for the many small
 * parallel loops of a forward pass (a decode step runs dozens of matvecs of microseconds each,
 * where submitting to an executor per call would cost as much as the work). The calling thread is
 * member 0; helpers spin briefly for the next task and then park. Only one thread may call {@link
 * #run} at a time.
 */
final class Workers implements AutoCloseable {
  /** Work for member {@code index} of {@code count}. */
  @FunctionalInterface
  interface Task {
    void run(int index, int count);
  }

  private static final int SPINS_BEFORE_PARK = 20_000;
  private static final int SPINS_BEFORE_YIELD = 2_000;

  private final Thread[] helpers;
  private final AtomicInteger generation = new AtomicInteger();
  private final AtomicInteger pending = new AtomicInteger();
  // 1 while helper i + 1 is parked or about to park: run() unparks only those, since an unpark
  // costs about a microsecond even when its target is spinning (2% of a decode step).
  private final AtomicIntegerArray parked;
  private volatile Task task;
  private volatile Throwable failure;
  private volatile boolean closed;

  Workers(int threads, String name) {
    helpers = new Thread[Math.max(threads, 1) - 1];
    parked = new AtomicIntegerArray(helpers.length);
    for (int i = 0; i < helpers.length; i++) {
      int index = i + 1;
      helpers[i] = Thread.ofPlatform().daemon().name(name + "-" + index).start(() -> loop(index));
    }
  }

  int count() {
    return helpers.length + 1;
  }

  /**
   * Below this many multiply-adds a step runs on the caller alone: waking a helper costs
   * microseconds, more on a busy machine, and a tiny model's matvecs are smaller than that.
   */
  static final long MIN_PARALLEL_WORK = 1L << 18;

  /** {@link #run}, or the task alone on the caller when {@code work} is too small to share. */
  void run(Task t, long work) {
    if (work < MIN_PARALLEL_WORK) {
      t.run(0, 1);
    } else {
      run(t);
    }
  }

  /** Runs {@code t} on every member and returns when all have finished; rethrows a failure. */
  void run(Task t) {
    int n = count();
    if (n == 1) {
      t.run(0, 1);
      return;
    }
    task = t;
    failure = null;
    pending.set(n - 1);
    generation.incrementAndGet();
    for (int i = 0; i < helpers.length; i++) {
      // The helper sets its flag before it re-reads the generation, this thread reads the flag
      // after it bumped the generation: one of the two sees the other's write, no lost wake-up.
      if (parked.get(i) != 0) {
        LockSupport.unpark(helpers[i]);
      }
    }
    Throwable own = null;
    try {
      t.run(0, n);
    } catch (Throwable e) {
      own = e;
    }
    // Spin for the helpers, but yield once they are late: on a busy machine a helper may be
    // waiting for the very core this thread is spinning on.
    for (int spins = 0; pending.get() != 0; spins++) {
      if (spins < SPINS_BEFORE_YIELD) {
        Thread.onSpinWait();
      } else {
        Thread.yield();
      }
    }
    Throwable e = own != null ? own : failure;
    if (e instanceof RuntimeException r) {
      throw r;
    } else if (e instanceof Error err) {
      throw err;
    } else if (e != null) {
      throw new IllegalStateException(e);
    }
  }

  private void loop(int index) {
    int seen = 0;
    while (true) {
      int spins = 0;
      while (generation.get() == seen && !closed) {
        if (++spins < SPINS_BEFORE_PARK) {
          Thread.onSpinWait();
        } else {
          parked.set(index - 1, 1);
          if (generation.get() == seen && !closed) {
            LockSupport.park(this);
          }
          parked.set(index - 1, 0);
        }
      }
      if (closed) {
        return;
      }
      seen = generation.get();
      try {
        task.run(index, count());
      } catch (Throwable e) {
        failure = e;
      } finally {
        pending.decrementAndGet();
      }
    }
  }

  /** The half-open range {@code [from, to)} of {@code n} items, in units of {@code grain}. */
  static int from(int n, int grain, int index, int count) {
    int units = (n + grain - 1) / grain;
    return Math.min(n, (int) ((long) units * index / count) * grain);
  }

  static int to(int n, int grain, int index, int count) {
    return from(n, grain, index + 1, count);
  }

  @Override
  public void close() {
    closed = true;
    for (Thread h : helpers) {
      LockSupport.unpark(h);
    }
  }
}
