package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntPredicate;

/**
 * A loaded GPT-2: tokenizer, mapped weights, engine. {@link #execute} takes BYTES input {@code
 * text} (one UTF-8 prompt per row) and returns BYTES {@code text_output}, the continuation of each
 * prompt. Request parameters: {@code max_tokens} (default {@value #DEFAULT_MAX_TOKENS}), {@code
 * temperature} (default 0: greedy), {@code top_k}, {@code top_p}, {@code seed}. Generation stops at
 * {@code <|endoftext|>}, at max_tokens or at the end of the context.
 *
 * <p>There is one KV cache, so prompts are generated one after another under a fair lock; at most
 * {@code max-queue} requests wait for it (more are refused with OVERLOADED). Text is streamed to a
 * {@link TextGenerator.Listener} as it is decoded.
 */
final class Gpt2Model implements LoadedModel, TextGenerator {
  static final String INPUT = "text";
  static final String OUTPUT = "text_output";
  static final int DEFAULT_MAX_TOKENS = 16;

  private static final ModelSignature SIGNATURE =
      new ModelSignature(
          "kiln_llm_gpt2",
          List.of(new TensorSpec(INPUT, DataType.BYTES, new long[] {-1})),
          List.of(new TensorSpec(OUTPUT, DataType.BYTES, new long[] {-1})),
          0);

  private final Arena arena;
  private final Workers workers;
  private final Gpt2Tokenizer tokenizer;
  private final Gpt2Engine engine;
  // Fair, so that waiting requests are served in arrival order.
  private final ReentrantLock lock = new ReentrantLock(true);
  private final AtomicInteger waiting = new AtomicInteger();
  private final int maxQueue;
  private final long created = System.currentTimeMillis() / 1000;

  private Gpt2Model(
      Arena arena, Workers workers, Gpt2Tokenizer tokenizer, Gpt2Engine engine, int maxQueue) {
    this.maxQueue = maxQueue;
    this.arena = arena;
    this.workers = workers;
    this.tokenizer = tokenizer;
    this.engine = engine;
  }

  /**
   * Loads config.json and model.safetensors from {@code weights} and the tokenizer from {@code
   * tokenizerDir} (often the same directory), with {@code threads} compute threads and at most
   * {@code maxQueue} requests waiting for the engine.
   */
  static Gpt2Model load(Path weights, Path tokenizerDir, int threads) {
    return load(weights, tokenizerDir, threads, LlmRuntime.DEFAULT_MAX_QUEUE);
  }

  static Gpt2Model load(Path weights, Path tokenizerDir, int threads, int maxQueue) {
    Gpt2Config config = Gpt2Config.read(weights.resolve("config.json"));
    Gpt2Tokenizer tokenizer = Gpt2Tokenizer.load(tokenizerDir);
    if (tokenizer.vocabularySize() > config.vocabularySize()) {
      throw KilnException.of(
          ErrorKind.INTERNAL,
          "the tokenizer has %d tokens, more than the model's vocab_size %d",
          tokenizer.vocabularySize(),
          config.vocabularySize());
    }
    Arena arena = Arena.ofShared();
    try {
      SafeTensors file = SafeTensors.open(weights.resolve("model.safetensors"), arena);
      Gpt2Weights w = new Gpt2Weights(file, config, arena);
      Workers workers = new Workers(threads, "kiln-llm");
      return new Gpt2Model(arena, workers, tokenizer, new Gpt2Engine(config, w, workers), maxQueue);
    } catch (RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  Gpt2Tokenizer tokenizer() {
    return tokenizer;
  }

  Gpt2Config config() {
    return engine.config();
  }

  /** The engine, for tests that drive it directly; callers must not overlap with generate. */
  Gpt2Engine engine() {
    return engine;
  }

  @Override
  public ModelSignature signature() {
    return SIGNATURE;
  }

  /** Whether a request is waiting for the engine (for tests). */
  boolean hasWaiters() {
    return lock.hasQueuedThreads();
  }

  @Override
  public int[] encode(String text) {
    return tokenizer.encode(text);
  }

  @Override
  public int contextLength() {
    return engine.config().positions();
  }

  @Override
  public long createdEpochSeconds() {
    return created;
  }

  @Override
  public Result generate(int[] prompt, Options options, Listener listener) {
    DeltaText text = new DeltaText(options.stop());
    boolean[] cancelled = {false};
    Run run =
        run(
            prompt,
            options.maxTokens(),
            options.sampler(),
            token -> {
              String delta = text.append(tokenizer.decodeBytes(new int[] {token}));
              if (!delta.isEmpty() && !listener.onText(delta)) {
                cancelled[0] = true;
                return false;
              }
              return !text.stopped();
            });
    Finish finish = cancelled[0] ? Finish.CANCELLED : text.stopped() ? Finish.STOP : run.finish;
    if (finish != Finish.CANCELLED) {
      String rest = text.finish();
      if (!rest.isEmpty() && !listener.onText(rest)) {
        finish = Finish.CANCELLED;
      }
    }
    return new Result(
        text.text(),
        prompt.length,
        run.tokens,
        finish,
        run.queueNanos,
        run.prefillNanos,
        run.decodeNanos,
        run.firstTokenNanos);
  }

  /**
   * Prefills {@code prompt} in one pass, then decodes one token at a time until {@code maxTokens},
   * the end of the context or {@code <|endoftext|>} (not included). An empty prompt starts from
   * {@code <|endoftext|>}, as GPT-2 was trained. Writes the tokens into {@code out} and returns how
   * many.
   */
  int generate(int[] prompt, int maxTokens, Sampler.Settings settings, int[] out) {
    int[] n = {0};
    run(
        prompt,
        Math.min(maxTokens, out.length),
        settings,
        token -> {
          out[n[0]++] = token;
          return true;
        });
    return n[0];
  }

  /** What one generation did; the tokens include a final end-of-text. */
  private record Run(
      int tokens,
      Finish finish,
      long queueNanos,
      long prefillNanos,
      long decodeNanos,
      long firstTokenNanos) {}

  /**
   * The token loop. Waits its turn for the engine (at most {@code maxQueue} callers wait; beyond
   * that OVERLOADED at once), then samples up to {@code maxTokens} tokens, handing each except
   * {@code <|endoftext|>} to {@code onToken}, which returns false to end generation there.
   */
  private Run run(int[] prompt, int maxTokens, Sampler.Settings settings, IntPredicate onToken) {
    long t0 = System.nanoTime();
    int[] start = prompt.length > 0 ? prompt : new int[] {tokenizer.endOfText()};
    int positions = engine.config().positions();
    if (start.length > positions) {
      throw KilnException.invalid(
          "the prompt has %d tokens; the model's context is %d", start.length, positions);
    }
    if (waiting.incrementAndGet() > maxQueue) {
      waiting.decrementAndGet();
      throw KilnException.of(
          ErrorKind.OVERLOADED,
          "%d requests are already waiting for this model (parameter %s); retry later",
          maxQueue,
          LlmRuntime.MAX_QUEUE);
    }
    lock.lock();
    waiting.decrementAndGet();
    try {
      long t1 = System.nanoTime();
      engine.reset();
      Sampler sampler = new Sampler(settings, engine.config().vocabularySize());
      // The last sampled token is never fed back, so it may land one past the context.
      int limit = Math.min(maxTokens, positions - start.length + 1);
      if (limit <= 0) {
        return new Run(0, Finish.LENGTH, t1 - t0, 0, 0, 0);
      }
      float[] logits = engine.forward(start, 0, start.length);
      long prefilled = System.nanoTime();
      int[] fed = new int[1];
      int n = 0;
      long first = 0;
      Finish finish = Finish.LENGTH;
      while (n < limit) {
        int token = sampler.next(logits);
        n++;
        if (n == 1) {
          first = System.nanoTime();
        }
        if (token == tokenizer.endOfText()) {
          finish = Finish.STOP;
          break;
        }
        if (!onToken.test(token)) {
          finish = Finish.CANCELLED;
          break;
        }
        if (n < limit) {
          fed[0] = token;
          logits = engine.forward(fed, 0, 1);
        }
      }
      return new Run(n, finish, t1 - t0, prefilled - t1, System.nanoTime() - first, first - t0);
    } finally {
      lock.unlock();
    }
  }

  /** The generated text for one prompt. */
  String complete(String prompt, int maxTokens, Sampler.Settings settings) {
    var options =
        new Options(
            maxTokens,
            settings.temperature(),
            settings.topK(),
            settings.topP(),
            settings.seed(),
            List.of());
    return generate(tokenizer.encode(prompt), options, Listener.NONE).text();
  }

  @Override
  public List<InferenceResult> execute(List<InferenceRequest> batch) {
    List<InferenceResult> results = new ArrayList<>(batch.size());
    for (InferenceRequest request : batch) {
      try {
        results.add(InferenceResult.ok(Map.of(OUTPUT, run(request))));
      } catch (KilnException e) {
        results.add(InferenceResult.failed(e));
      } catch (IllegalArgumentException e) {
        results.add(InferenceResult.failed(KilnException.invalid("%s", e.getMessage())));
      }
    }
    return results;
  }

  private Tensor run(InferenceRequest request) {
    Tensor text = request.inputs().get(INPUT);
    if (text == null || text.datatype() != DataType.BYTES) {
      throw KilnException.invalid("inputs: a BYTES input '%s' is required", INPUT);
    }
    Map<String, Object> p = request.parameters();
    int maxTokens = (int) Parameters.integer(p, "max_tokens", DEFAULT_MAX_TOKENS, 0, 1 << 20);
    Sampler.Settings settings =
        new Sampler.Settings(
            (float) Parameters.number(p, "temperature", 0),
            (int) Parameters.integer(p, "top_k", 0, 0, Integer.MAX_VALUE),
            (float) Parameters.number(p, "top_p", 1),
            Parameters.integer(p, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE));
    byte[][] prompts = text.bytes();
    byte[][] outputs = new byte[prompts.length][];
    for (int i = 0; i < prompts.length; i++) {
      String prompt = new String(prompts[i], StandardCharsets.UTF_8);
      outputs[i] = complete(prompt, maxTokens, settings).getBytes(StandardCharsets.UTF_8);
    }
    return new Tensor(OUTPUT, DataType.BYTES, new long[] {outputs.length}, outputs);
  }

  @Override
  public void close() {
    lock.lock();
    try {
      workers.close();
      arena.close();
    } finally {
      lock.unlock();
    }
  }
}
