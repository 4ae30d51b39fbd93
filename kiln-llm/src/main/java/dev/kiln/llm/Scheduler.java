package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.time.Ticker;
import dev.kiln.llm.TextGenerator.Finish;
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
 *   <li>admits waiting requests, first come first served, while fewer than {@code max-sequences}
 *       run and the head of the queue's KV reservation fits in the budget ({@code kv-cache-bytes});
 *       a request reserves {@code prompt + max_tokens - 1} positions (the last sampled token is
 *       never fed back), capped at the context;
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
 * wait for admission; beyond that a request is refused at once (OVERLOADED). A request whose
 * reservation exceeds the whole budget is refused at once too (INVALID_INPUT): it could never run.
 *
 * <p>KV memory: a sequence's cache holds exactly its reservation (rounded up to {@value
 * #KV_GRANULE} positions), allocated from the budget; freed caches are pooled for reuse and dropped
 * when a new one needs their room, so in-use plus pooled caches never exceed the budget.
 *
 * <p>Row results do not depend on the batch (see {@link Gpt2Engine}), so a sequence's tokens are
 * exactly those it would get alone.
 */
final class Scheduler implements AutoCloseable {
  /** Prompt tokens per step, over all sequences in prefill. */
  static final int PREFILL_CHUNK = 64;

  /** Tokens a sequence may be ahead of its caller before it pauses. */
  static final int WINDOW = 8;

  /** Caches are sized in multiples of this many positions, so that they can be reused. */
  static final int KV_GRANULE = 16;

  /** Receives each generated token (and its logprobs, when asked); false ends generation. */
  @FunctionalInterface
  interface Sink {
    boolean accept(int token, Logprobs logprobs);
  }

  /** What one generation did; the tokens include a final end-of-text. */
  record Run(
      int tokens,
      Finish finish,
      long queueNanos,
      long prefillNanos,
      long decodeNanos,
      long firstTokenNanos,
      long[] tokenNanos) {}

  /** What the scheduler holds now, for gauges. */
  record Occupancy(int running, int waiting, long kvReservedTokens, long kvBudgetTokens) {}

  /** One request: written by the scheduler thread, read by its caller through volatile fields. */
  private static final class Sequence {
    final int[] input;
    final int limit;
    final int need; // KV positions reserved
    final Sampler sampler;
    final int topLogprobs; // -1: no logprobs
    final Thread caller;
    final int[] out;
    final Logprobs[] logprobs; // null without logprobs
    final long[] times; // when each token was sampled
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

    Sequence(
        int[] input, int limit, Sampler sampler, int topLogprobs, Thread caller, long submitted) {
      this.input = input;
      this.limit = limit;
      this.need = input.length + limit - 1;
      this.sampler = sampler;
      this.topLogprobs = topLogprobs;
      this.caller = caller;
      this.out = new int[limit];
      this.logprobs = topLogprobs >= 0 ? new Logprobs[limit] : null;
      this.times = new long[limit];
      this.submitted = submitted;
    }
  }

  private final Gpt2Engine engine;
  private final Gpt2Config config;
  private final int endOfText;
  private final int maxSequences;
  private final int maxQueue;
  private final long budgetTokens;
  private final Ticker ticker;
  private final ConcurrentLinkedQueue<Sequence> pending = new ConcurrentLinkedQueue<>();
  private final AtomicInteger accepted = new AtomicInteger(); // waiting or running
  private final AtomicInteger waiting = new AtomicInteger(); // queued, not yet admitted
  // Whether the last admission round left a request waiting (no slot or no KV room for the head).
  private volatile boolean blocked;
  private final Thread thread;
  private volatile boolean closed;
  private volatile long steps; // written by the scheduler thread only
  private volatile int widest; // the most sequences that got logits in one step
  private volatile int runningCount; // written by the scheduler thread only
  private volatile long reservedTokens; // KV positions of running sequences' caches

  // Scheduler thread only.
  private final List<Sequence> running = new ArrayList<>();
  private final ArrayList<KvCache> free = new ArrayList<>();
  private long freeTokens; // positions held by the pooled caches
  private final Sequence[] planSequence;
  private final KvCache[] planCache;
  private final int[][] planTokens;
  private final int[] planFrom;
  private final int[] planCount;
  private final int[] planLogits;
  // Sampling of a step, shared between the engine's workers: the wanting segments' indices, and
  // the token each one drew.
  private final int[] sampleSegment;
  private final int[] sampleToken;
  private int sampleCount;
  private final Workers.Task sampleTask = this::sampleSlice;

  /** A budget of a full context for each of the {@code maxSequences}, on the system clock. */
  Scheduler(Gpt2Engine engine, int endOfText, int maxSequences, int maxQueue, String name) {
    this(
        engine,
        endOfText,
        maxSequences,
        maxQueue,
        (long) maxSequences * engine.config().positions(),
        Ticker.system(),
        name);
  }

  /**
   * {@code budgetTokens}: KV positions all running sequences may reserve together (at least one
   * position); {@code ticker} times the queue, prefill, decode and each token.
   */
  Scheduler(
      Gpt2Engine engine,
      int endOfText,
      int maxSequences,
      int maxQueue,
      long budgetTokens,
      Ticker ticker,
      String name) {
    this.engine = engine;
    this.config = engine.config();
    this.endOfText = endOfText;
    this.maxSequences = maxSequences;
    this.maxQueue = maxQueue;
    this.budgetTokens = budgetTokens;
    this.ticker = ticker;
    if (budgetTokens < 1) {
      throw new IllegalArgumentException("a KV budget of at least one position is needed");
    }
    planSequence = new Sequence[maxSequences];
    planCache = new KvCache[maxSequences];
    planTokens = new int[maxSequences][];
    planFrom = new int[maxSequences];
    planCount = new int[maxSequences];
    planLogits = new int[maxSequences];
    sampleSegment = new int[maxSequences];
    sampleToken = new int[maxSequences];
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

  /** Whether a request is waiting for admission (for tests). */
  boolean hasWaiters() {
    return !pending.isEmpty();
  }

  /** Whether the last admission round left a request waiting (for tests). */
  boolean admissionBlocked() {
    return blocked;
  }

  /** Running and waiting requests and the KV positions reserved, now. */
  Occupancy occupancy() {
    return new Occupancy(runningCount, Math.max(0, waiting.get()), reservedTokens, budgetTokens);
  }

  /** As {@link #generate(int[], int, Sampler.Settings, int, Sink)} without logprobs. */
  Run generate(int[] start, int maxTokens, Sampler.Settings settings, IntPredicate onToken) {
    return generate(start, maxTokens, settings, -1, (token, lp) -> onToken.test(token));
  }

  /**
   * Generates up to {@code maxTokens} tokens after {@code start} (at least one token), handing each
   * except {@code <|endoftext|>} to {@code sink} in the calling thread, with its {@link Logprobs}
   * and the {@code topLogprobs} most likely tokens when {@code topLogprobs >= 0} (else null); the
   * sink returns false to end generation there. Blocks until done; OVERLOADED at once when the
   * queue is full, INVALID_INPUT at once when the request could never fit.
   */
  Run generate(int[] start, int maxTokens, Sampler.Settings settings, int topLogprobs, Sink sink) {
    long t0 = ticker.nanos();
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
      return new Run(0, Finish.LENGTH, 0, 0, 0, 0, new long[0]);
    }
    if (topLogprobs > Logprobs.MAX_TOP) {
      throw KilnException.invalid(
          "top logprobs: at most %d, was %d", Logprobs.MAX_TOP, topLogprobs);
    }
    long need = start.length + limit - 1L;
    if (need > budgetTokens) {
      throw KilnException.invalid(
          "the request needs %d positions of KV cache (a prompt of %d tokens plus max_tokens %d),"
              + " more than the model's whole KV budget of %d positions (parameter %s); lower"
              + " max_tokens or shorten the prompt",
          need, start.length, limit, budgetTokens, LlmRuntime.KV_CACHE_BYTES);
    }
    Sampler sampler = new Sampler(settings, config.vocabularySize(), start);
    for (int n = accepted.get(); ; n = accepted.get()) {
      // Full: every sequence slot and queue place is taken, or the queue holds max-queue requests
      // that the scheduler could not admit (no KV room). Checked without waiting for the
      // scheduler; concurrent arrivals may overshoot the queue by a few.
      if (n >= maxSequences + maxQueue || (blocked && waiting.get() >= maxQueue)) {
        throw KilnException.of(
            ErrorKind.OVERLOADED,
            "the model runs up to %d sequences and %d more may wait (parameters %s, %s); all are"
                + " taken, retry later",
            maxSequences,
            maxQueue,
            LlmRuntime.MAX_SEQUENCES,
            LlmRuntime.MAX_QUEUE);
      }
      if (accepted.compareAndSet(n, n + 1)) {
        break;
      }
    }
    Sequence s = new Sequence(start, limit, sampler, topLogprobs, Thread.currentThread(), t0);
    waiting.incrementAndGet();
    pending.add(s);
    if (closed && pending.remove(s)) {
      waiting.decrementAndGet();
      uncount(s);
      throw closedException();
    }
    LockSupport.unpark(thread);
    return consume(s, sink);
  }

  /** The caller's side: takes tokens as the scheduler publishes them. */
  private Run consume(Sequence s, Sink sink) {
    int n = 0;
    Finish finish = null;
    try {
      loop:
      while (true) {
        int produced = s.produced;
        while (n < produced) {
          Logprobs lp = s.logprobs == null ? null : s.logprobs[n];
          int token = s.out[n++];
          s.consumed = n;
          if (s.stalled) {
            LockSupport.unpark(thread);
          }
          if (token == endOfText) {
            finish = Finish.STOP;
            break loop;
          }
          if (!sink.accept(token, lp)) {
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
    long now = ticker.nanos();
    if (n == 0) {
      return new Run(0, finish, now - s.submitted, 0, 0, 0, new long[0]);
    }
    return new Run(
        n,
        finish,
        s.admitted - s.submitted,
        s.prefilled - s.admitted,
        now - s.first,
        s.first - s.submitted,
        java.util.Arrays.copyOf(s.times, n));
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
        runningCount = 0;
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
    runningCount = 0;
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
      Sequence s = pending.peek();
      if (s == null) {
        break;
      }
      if (s.cancelled) { // its caller left while it waited
        pending.poll();
        waiting.decrementAndGet();
        retire(s, Finish.CANCELLED);
        continue;
      }
      // First come, first served: the head waits for room rather than be overtaken by smaller
      // requests behind it, so that a large request cannot starve.
      KvCache cache;
      try {
        cache = reserve(s.need);
      } catch (OutOfMemoryError e) {
        pending.poll();
        waiting.decrementAndGet();
        fail(
            s,
            KilnException.of(
                ErrorKind.INTERNAL,
                "no heap for a KV cache of %d positions; lower %s",
                s.need,
                LlmRuntime.KV_CACHE_BYTES));
        continue;
      }
      if (cache == null) {
        break;
      }
      pending.poll();
      waiting.decrementAndGet();
      running.add(s); // before anything can fail, so that a failure fails it too
      s.cache = cache;
      s.cache.length = 0;
      s.admitted = ticker.nanos();
    }
    runningCount = running.size();
    blocked = !pending.isEmpty();

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

    // Sampling a token costs up to a millisecond (a softmax and a sort over the vocabulary, at
    // temperature > 0), one per sequence: on all workers, each sequence by its own sampler, so the
    // draws are those of sampling one after the other.
    sampleCount = 0;
    for (int i = 0; i < segments; i++) {
      if (planLogits[i] >= 0) {
        sampleSegment[sampleCount++] = i;
      }
    }
    // (one alone stays on this thread)
    engine.parallel(sampleTask, sampleCount < 2 ? 0 : (long) sampleCount * config.vocabularySize());

    long now = ticker.nanos();
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
      int token = sampleToken[planLogits[i]];
      long sampled = ticker.nanos();
      if (s.generated == 0) {
        s.first = sampled;
      }
      s.times[s.generated] = sampled;
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
    runningCount = running.size();
    return true;
  }

  /** One worker's share of the step's sampling: tokens (and logprobs) of segments in order. */
  private void sampleSlice(int index, int count) {
    int from = Workers.from(sampleCount, 1, index, count);
    int to = Workers.to(sampleCount, 1, index, count);
    for (int k = from; k < to; k++) {
      int i = sampleSegment[k];
      Sequence s = planSequence[i];
      float[] logits = engine.logits(planLogits[i]);
      int token = s.sampler.next(logits);
      if (s.logprobs != null) {
        s.logprobs[s.generated] = Logprobs.of(logits, token, s.topLogprobs);
      }
      sampleToken[planLogits[i]] = token;
    }
  }

  /**
   * A cache for {@code need} positions within the budget, or null when it does not fit now. Reuses
   * the smallest pooled cache that is big enough and at most twice the rounded need (a pooled
   * full-context cache handed to a short request would hold budget that other sequences could run
   * in); otherwise allocates one, first dropping pooled caches until in-use plus pooled plus the
   * new one fit in the budget.
   */
  private KvCache reserve(int need) {
    long rounded = (need + KV_GRANULE - 1L) / KV_GRANULE * KV_GRANULE;
    KvCache best = null;
    for (KvCache c : free) {
      if (c.capacity >= need
          && c.capacity <= 2 * rounded
          && (best == null || c.capacity < best.capacity)) {
        best = c;
      }
    }
    if (best != null && reservedTokens + best.capacity <= budgetTokens) {
      free.remove(best);
      freeTokens -= best.capacity;
      reservedTokens += best.capacity;
      return best;
    }
    int capacity =
        (int) Math.min(Math.min(budgetTokens - reservedTokens, config.positions()), rounded);
    if (capacity < need) {
      return null;
    }
    while (reservedTokens + capacity + freeTokens > budgetTokens) {
      KvCache dropped = free.removeLast();
      freeTokens -= dropped.capacity;
    }
    KvCache c = engine.newCache(capacity);
    reservedTokens += capacity;
    return c;
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
      free.add(s.cache);
      freeTokens += s.cache.capacity;
      reservedTokens -= s.cache.capacity;
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
