package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.llm.TextGenerator.Finish;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntPredicate;

/**
 * Continuous batching: one thread drives the engine for every running sequence, and new requests
 * join the running batch between decode steps.
 *
 * <p>Each loop of the scheduler thread:
 *
 * <ol>
 *   <li>retires sequences whose caller went away;
 *   <li>admits waiting requests while a KV cache of the pool ({@code max-sequences}) is free;
 *   <li>runs ONE {@link Gpt2Engine#step} over all running sequences: one row per decoding sequence
 *       (its last sampled token) plus up to {@value #PREFILL_CHUNK} prompt tokens of sequences
 *       still in prefill (chunked prefill, so that a long prompt does not stall the others'
 *       decode);
 *   <li>samples the next token of each sequence that got logits, hands it to its caller, and
 *       retires those that hit {@code <|endoftext|>} or their token limit.
 * </ol>
 *
 * <p>Callers block in {@link #generate} and consume their own tokens, so a slow listener (a slow
 * HTTP client) never blocks the step loop; a sequence more than {@value #WINDOW} tokens ahead of
 * its caller sits out the steps until the caller catches up. At most {@code max-queue} requests
 * wait for a cache; beyond that a request is refused at once (OVERLOADED).
 *
 * <p>Row results do not depend on the batch (see {@link Gpt2Engine}), so a sequence's tokens are
 * exactly those it would get alone.
 */
final class Scheduler implements AutoCloseable {
  /** Prompt tokens per step, over all sequences in prefill. */
  static final int PREFILL_CHUNK = 64;

  /** Tokens a sequence may be ahead of its caller before it pauses. */
  static final int WINDOW = 8;

  /** What one generation did; the tokens include a final end-of-text. */
  record Run(
      int tokens,
      Finish finish,
      long queueNanos,
      long prefillNanos,
      long decodeNanos,
      long firstTokenNanos) {}

  /** One request: written by the scheduler thread, read by its caller through volatile fields. */
  private static final class Sequence {
    final int[] input;
    final int limit;
    final Sampler sampler;
    final Thread caller;
    final int[] out;
    final long submitted;
    // Scheduler thread only.
    KvCache cache;
    int fed;
    int generated;
    // Written by the scheduler before the volatile write of produced or finish that publishes them.
    long admitted;
    long prefilled;
    long first;
    // Shared.
    volatile int produced;
    volatile int consumed;
    volatile boolean stalled;
    volatile boolean cancelled;
    volatile RuntimeException failure;
    volatile Finish finish;
    // Whether the request still counts against max-sequences + max-queue: until it is retired, or
    // until its caller leaves, whichever is first (so a cancelled caller's slot is free at once).
    final AtomicBoolean counted = new AtomicBoolean(true);

    Sequence(int[] input, int limit, Sampler sampler, Thread caller, long submitted) {
      this.input = input;
      this.limit = limit;
      this.sampler = sampler;
      this.caller = caller;
      this.out = new int[limit];
      this.submitted = submitted;
    }
  }

  private final Gpt2Engine engine;
  private final Gpt2Config config;
  private final int endOfText;
  private final int maxSequences;
  private final int maxQueue;
  private final ConcurrentLinkedQueue<Sequence> pending = new ConcurrentLinkedQueue<>();
  private final AtomicInteger accepted = new AtomicInteger(); // waiting or running
  private final Thread thread;
  private volatile boolean closed;
  private volatile long steps; // written by the scheduler thread only
  private volatile int widest; // the most sequences that got logits in one step

  // Scheduler thread only.
  private final List<Sequence> running = new ArrayList<>();
  private final ArrayDeque<KvCache> free = new ArrayDeque<>();
  private final Sequence[] planSequence;
  private final KvCache[] planCache;
  private final int[][] planTokens;
  private final int[] planFrom;
  private final int[] planCount;
  private final int[] planLogits;

  Scheduler(Gpt2Engine engine, int endOfText, int maxSequences, int maxQueue, String name) {
    this.engine = engine;
    this.config = engine.config();
    this.endOfText = endOfText;
    this.maxSequences = maxSequences;
    this.maxQueue = maxQueue;
    planSequence = new Sequence[maxSequences];
    planCache = new KvCache[maxSequences];
    planTokens = new int[maxSequences][];
    planFrom = new int[maxSequences];
    planCount = new int[maxSequences];
    planLogits = new int[maxSequences];
    thread = Thread.ofPlatform().daemon().name(name).start(this::loop);
  }

  /** Rows the engine must hold for one step of this scheduler. */
  static int maxRows(int maxSequences) {
    return maxSequences + PREFILL_CHUNK;
  }

  /** Steps run so far (for tests and speed checks). */
  long steps() {
    return steps;
  }

  /** The most sequences sampled in one step so far (for tests and speed checks). */
  int widestStep() {
    return widest;
  }

  /** Whether a request is waiting for a free KV cache (for tests). */
  boolean hasWaiters() {
    return !pending.isEmpty();
  }

  /**
   * Generates up to {@code maxTokens} tokens after {@code start} (at least one token), handing each
   * except {@code <|endoftext|>} to {@code onToken} in the calling thread; onToken returns false to
   * end generation there. Blocks until done; OVERLOADED at once when the queue is full.
   */
  Run generate(int[] start, int maxTokens, Sampler.Settings settings, IntPredicate onToken) {
    long t0 = System.nanoTime();
    int positions = config.positions();
    if (start.length > positions) {
      throw KilnException.invalid(
          "the prompt has %d tokens; the model's context is %d", start.length, positions);
    }
    for (int token : start) {
      if (token < 0 || token >= config.vocabularySize()) {
        throw KilnException.invalid("token id %d is outside the vocabulary", token);
      }
    }
    // The last sampled token is never fed back, so it may land one past the context.
    int limit = Math.min(maxTokens, positions - start.length + 1);
    if (limit <= 0) {
      return new Run(0, Finish.LENGTH, 0, 0, 0, 0);
    }
    Sampler sampler = new Sampler(settings, config.vocabularySize());
    for (int n = accepted.get(); ; n = accepted.get()) {
      if (n >= maxSequences + maxQueue) {
        throw KilnException.of(
            ErrorKind.OVERLOADED,
            "the model runs %d sequences and %d more may wait (parameters %s, %s); all are taken,"
                + " retry later",
            maxSequences,
            maxQueue,
            LlmRuntime.MAX_SEQUENCES,
            LlmRuntime.MAX_QUEUE);
      }
      if (accepted.compareAndSet(n, n + 1)) {
        break;
      }
    }
    Sequence s = new Sequence(start, limit, sampler, Thread.currentThread(), t0);
    pending.add(s);
    if (closed && pending.remove(s)) {
      uncount(s);
      throw closedException();
    }
    LockSupport.unpark(thread);
    return consume(s, onToken);
  }

  /** The caller's side: takes tokens as the scheduler publishes them. */
  private Run consume(Sequence s, IntPredicate onToken) {
    int n = 0;
    Finish finish = null;
    try {
      loop:
      while (true) {
        int produced = s.produced;
        while (n < produced) {
          int token = s.out[n++];
          s.consumed = n;
          if (s.stalled) {
            LockSupport.unpark(thread);
          }
          if (token == endOfText) {
            finish = Finish.STOP;
            break loop;
          }
          if (!onToken.test(token)) {
            finish = Finish.CANCELLED;
            break loop;
          }
        }
        RuntimeException failure = s.failure;
        if (failure != null) {
          throw failure;
        }
        Finish f = s.finish;
        if (f != null && n == s.produced) {
          finish = f;
          break;
        }
        if (Thread.interrupted()) {
          Thread.currentThread().interrupt();
          finish = Finish.CANCELLED;
          break;
        }
        // Re-read before parking: the listener may itself have blocked and swallowed the permit
        // of the scheduler's unpark for a token published meanwhile.
        if (n == s.produced) {
          LockSupport.park(this);
        }
      }
    } finally {
      if (s.finish == null) {
        s.cancelled = true;
        uncount(s);
        LockSupport.unpark(thread);
      }
    }
    long now = System.nanoTime();
    if (n == 0) {
      return new Run(0, finish, now - s.submitted, 0, 0, 0);
    }
    return new Run(
        n,
        finish,
        s.admitted - s.submitted,
        s.prefilled - s.admitted,
        now - s.first,
        s.first - s.submitted);
  }

  private void loop() {
    while (!closed) {
      boolean worked;
      try {
        worked = step();
      } catch (RuntimeException | Error e) {
        // A bug, not a bad request (inputs are checked before they are queued): fail the
        // sequences of this step rather than leave their callers waiting.
        KilnException k =
            e instanceof KilnException ke
                ? ke
                : new KilnException(ErrorKind.INTERNAL, "generation failed", e);
        for (Sequence s : running) {
          fail(s, k);
        }
        running.clear();
        worked = true;
      }
      if (!worked) {
        LockSupport.park(this);
      }
    }
    KilnException k = closedException();
    for (Sequence s : running) {
      fail(s, k);
    }
    running.clear();
    for (Sequence s; (s = pending.poll()) != null; ) {
      fail(s, k);
    }
  }

  /** One admission round and one batched step; false when there was nothing to run. */
  private boolean step() {
    for (Sequence s : running) {
      if (s.cancelled) {
        retire(s, Finish.CANCELLED);
      }
    }
    running.removeIf(s -> s.finish != null);
    while (running.size() < maxSequences) {
      Sequence s = pending.poll();
      if (s == null) {
        break;
      }
      running.add(s); // first, so that a failure below (out of memory) fails it too
      s.cache = free.isEmpty() ? new KvCache(config) : free.pop();
      s.cache.length = 0;
      s.admitted = System.nanoTime();
    }

    int segments = 0;
    int budget = PREFILL_CHUNK;
    int logitRows = 0;
    for (Sequence s : running) {
      int from;
      int count;
      int[] tokens;
      boolean logits;
      if (s.fed < s.input.length) {
        if (budget == 0) {
          continue;
        }
        tokens = s.input;
        from = s.fed;
        count = Math.min(budget, s.input.length - s.fed);
        budget -= count;
        logits = from + count == s.input.length;
      } else {
        if (s.produced - s.consumed >= WINDOW) {
          s.stalled = true; // then re-read: the caller reads stalled after writing consumed
          if (s.produced - s.consumed >= WINDOW) {
            continue;
          }
        }
        s.stalled = false;
        tokens = s.out;
        from = s.generated - 1;
        count = 1;
        logits = true;
      }
      planSequence[segments] = s;
      planCache[segments] = s.cache;
      planTokens[segments] = tokens;
      planFrom[segments] = from;
      planCount[segments] = count;
      planLogits[segments] = logits ? logitRows++ : -1;
      segments++;
    }
    if (segments == 0) {
      return false;
    }

    engine.step(segments, planCache, planTokens, planFrom, planCount, planLogits);
    steps++;
    if (logitRows > widest) {
      widest = logitRows;
    }

    long now = System.nanoTime();
    for (int i = 0; i < segments; i++) {
      Sequence s = planSequence[i];
      planSequence[i] = null;
      planCache[i] = null;
      planTokens[i] = null;
      if (s.fed < s.input.length) {
        s.fed += planCount[i];
        if (s.fed == s.input.length) {
          s.prefilled = now;
        }
      }
      if (planLogits[i] < 0) {
        continue;
      }
      int token = s.sampler.next(engine.logits(planLogits[i]));
      if (s.generated == 0) {
        s.first = System.nanoTime();
      }
      s.out[s.generated++] = token;
      s.produced = s.generated;
      if (token == endOfText) {
        retire(s, Finish.STOP);
      } else if (s.generated == s.limit) {
        retire(s, Finish.LENGTH);
      } else {
        LockSupport.unpark(s.caller);
      }
    }
    running.removeIf(s -> s.finish != null);
    return true;
  }

  /** Frees the sequence's cache and tells its caller how it ended. */
  private void retire(Sequence s, Finish finish) {
    if (s.finish != null) {
      return;
    }
    release(s);
    s.finish = finish;
    LockSupport.unpark(s.caller);
  }

  private void fail(Sequence s, RuntimeException e) {
    if (s.finish != null) {
      return;
    }
    release(s);
    s.failure = e;
    s.finish = Finish.CANCELLED;
    LockSupport.unpark(s.caller);
  }

  private void release(Sequence s) {
    if (s.cache != null) {
      free.push(s.cache);
      s.cache = null;
    }
    uncount(s);
  }

  private void uncount(Sequence s) {
    if (s.counted.compareAndSet(true, false)) {
      accepted.decrementAndGet();
    }
  }

  private static KilnException closedException() {
    return KilnException.of(ErrorKind.MODEL_NOT_READY, "the model is being unloaded");
  }

  /** Stops the step loop after the current step; callers still waiting get MODEL_NOT_READY. */
  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(thread);
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
