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
import java.util.function.IntPredicate;

/**
 * A loaded GPT-2: tokenizer, mapped weights, engine. {@link #execute} takes BYTES input {@code
 * text} (one UTF-8 prompt per row) and returns BYTES {@code text_output}, the continuation of each
 * prompt. Request parameters: {@code max_tokens} (default {@value #DEFAULT_MAX_TOKENS}), {@code
 * temperature} (default 0: greedy), {@code top_k}, {@code top_p}, {@code seed}. Generation stops at
 * {@code <|endoftext|>}, at max_tokens or at the end of the context.
 *
 * <p>Generation is continuously batched by a {@link Scheduler}: up to {@code max-sequences} prompts
 * run together, each with its own KV cache, and a new request joins between decode steps; at most
 * {@code max-queue} requests wait for a free cache (more are refused with OVERLOADED). Text is
 * streamed to a {@link TextGenerator.Listener} as it is decoded.
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
  private final Scheduler scheduler;
  private final long created = System.currentTimeMillis() / 1000;

  private Gpt2Model(
      Arena arena,
      Workers workers,
      Gpt2Tokenizer tokenizer,
      Gpt2Engine engine,
      int maxSequences,
      int maxQueue,
      long kvBudgetTokens) {
    this.arena = arena;
    this.workers = workers;
    this.tokenizer = tokenizer;
    this.engine = engine;
    this.scheduler =
        new Scheduler(
            engine,
            tokenizer.endOfText(),
            maxSequences,
            maxQueue,
            kvBudgetTokens,
            dev.kiln.core.time.Ticker.system(),
            "kiln-llm-scheduler");
  }

  /**
   * Loads config.json and model.safetensors from {@code weights} and the tokenizer from {@code
   * tokenizerDir} (often the same directory), with {@code threads} compute threads, up to {@code
   * maxSequences} sequences generating together (0: {@value LlmRuntime#DEFAULT_MAX_SEQUENCES}) and
   * at most {@code maxQueue} requests waiting for admission.
   */
  static Gpt2Model load(Path weights, Path tokenizerDir, int threads) {
    return load(weights, tokenizerDir, threads, LlmRuntime.DEFAULT_MAX_QUEUE, 0);
  }

  static Gpt2Model load(
      Path weights, Path tokenizerDir, int threads, int maxQueue, int maxSequences) {
    return load(weights, tokenizerDir, threads, maxQueue, maxSequences, 0);
  }

  static Gpt2Model load(
      Path weights,
      Path tokenizerDir,
      int threads,
      int maxQueue,
      int maxSequences,
      Gpt2Weights.Precision precision) {
    return load(
        weights, tokenizerDir, threads, maxQueue, maxSequences, 0, precision, KvCache.Format.F32);
  }

  static Gpt2Model load(
      Path weights,
      Path tokenizerDir,
      int threads,
      int maxQueue,
      int maxSequences,
      long kvCacheBytes) {
    return load(
        weights,
        tokenizerDir,
        threads,
        maxQueue,
        maxSequences,
        kvCacheBytes,
        Gpt2Weights.Precision.AUTO,
        KvCache.Format.F32);
  }

  /**
   * The default KV budget: a full context for each of {@code maxSequences}, but no more than a
   * quarter of the heap, and never less than one full context or a third of the heap, whichever is
   * smaller. The caches live on the heap, so a small heap (a small-footprint server) gets a budget
   * it can hold: with a budget past the heap a few concurrent requests would end in an
   * OutOfMemoryError instead of waiting for room (GPT-2 124M, {@code -Xmx64m}: 21 MB, 296
   * positions, where one full context would be 75 MB).
   */
  static long defaultKvCacheBytes(Gpt2Config config, int maxSequences, KvCache.Format format) {
    return defaultKvCacheBytes(config, maxSequences, Runtime.getRuntime().maxMemory(), format);
  }

  static long defaultKvCacheBytes(
      Gpt2Config config, int maxSequences, long heapBytes, KvCache.Format format) {
    long full = KvCache.bytes(config, format);
    long floor = Math.min(full, heapBytes / 3);
    return Math.min(maxSequences * full, Math.max(heapBytes / 4, floor));
  }

  /**
   * Loads {@code weights} (a version directory, see {@link Gpt2Files}, or a {@code .gguf} file),
   * converting the matrices to {@code precision}; {@code tokenizerDir} null means the tokenizer
   * beside the weights or in the GGUF metadata. The KV budget is {@code kvCacheBytes} (0: {@link
   * #defaultKvCacheBytes}), its keys and values stored in {@code kvFormat} (null: {@link
   * KvCache.Format#forWeights}).
   */
  static Gpt2Model load(
      Path weights,
      Path tokenizerDir,
      int threads,
      int maxQueue,
      int maxSequences,
      long kvCacheBytes,
      Gpt2Weights.Precision precision,
      KvCache.Format kvFormat) {
    Arena arena = Arena.ofShared();
    try {
      Gpt2Files.Loaded files = Gpt2Files.open(weights, tokenizerDir, precision, arena);
      Gpt2Config config = files.config();
      KvCache.Format kv = kvFormat != null ? kvFormat : KvCache.Format.forWeights(files.weights());
      int sequences = maxSequences > 0 ? maxSequences : LlmRuntime.DEFAULT_MAX_SEQUENCES;
      long kvBytes = kvCacheBytes > 0 ? kvCacheBytes : defaultKvCacheBytes(config, sequences, kv);
      long perToken = KvCache.bytesPerToken(config, kv);
      long kvTokens = kvBytes / perToken;
      if (kvTokens < 1) {
        throw KilnException.of(
            ErrorKind.INTERNAL,
            "parameter %s=%d holds no position (%d bytes each)",
            LlmRuntime.KV_CACHE_BYTES,
            kvBytes,
            perToken);
      }
      Workers workers = new Workers(threads, "kiln-llm");
      var engine =
          new Gpt2Engine(
              config, files.weights(), workers, Scheduler.maxRows(sequences), sequences, kv);
      return new Gpt2Model(
          arena, workers, files.tokenizer(), engine, sequences, maxQueue, kvTokens);
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

  /**
   * The engine, for tests that drive it directly through {@link Gpt2Engine#forward} (its own
   * cache); callers must not overlap with generate.
   */
  Gpt2Engine engine() {
    return engine;
  }

  @Override
  public ModelSignature signature() {
    return SIGNATURE;
  }

  /** The scheduler, for tests and speed checks. */
  Scheduler scheduler() {
    return scheduler;
  }

  /** Whether a request is waiting for a free KV cache (for tests). */
  boolean hasWaiters() {
    return scheduler.hasWaiters();
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
    int[] start = prompt.length > 0 ? prompt : new int[] {tokenizer.endOfText()};
    return Generation.run(scheduler, tokenizer, prompt, start, options, listener);
  }

  @Override
  public Occupancy occupancy() {
    Scheduler.Occupancy o = scheduler.occupancy();
    long perToken = KvCache.bytesPerToken(engine.config(), engine.kvFormat());
    return new Occupancy(
        o.running(), o.waiting(), o.kvReservedTokens() * perToken, o.kvBudgetTokens() * perToken);
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

  /**
   * Generates through the scheduler; an empty prompt starts from {@code <|endoftext|>}, as GPT-2
   * was trained.
   */
  private Scheduler.Run run(
      int[] prompt, int maxTokens, Sampler.Settings settings, IntPredicate onToken) {
    int[] start = prompt.length > 0 ? prompt : new int[] {tokenizer.endOfText()};
    return scheduler.generate(start, maxTokens, settings, onToken);
  }

  /**
   * Runs one greedy generation through the scheduler and discards it, so that the JIT has compiled
   * the prefill and decode kernels before a client's first request (llama.cpp's start-up warmup
   * run, Triton's {@code model_warmup}): without it the first request of a GPT-2 124M server waits
   * about a second more for its first token. The prompt is at most 128 tokens and the output 32,
   * within half the context and the KV budget. Returns the positions it used (0 when the budget
   * holds too few).
   */
  int warmUp() {
    int granule = Scheduler.KV_GRANULE;
    long budget = scheduler.occupancy().kvBudgetTokens() / granule * granule;
    int total = (int) Math.min(Math.min(160, engine.config().positions() / 2), budget);
    if (total < 2) {
      return 0;
    }
    int generated = Math.max(1, total / 5);
    int[] prompt = new int[total - generated];
    int vocab = engine.config().vocabularySize();
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = (int) ((i * 7919L + 13) % vocab); // any ids will do; not <|endoftext|> alone
    }
    // the scheduler's sequence reserves prompt + max_tokens - 1 positions
    generate(prompt, generated + 1, Sampler.Settings.GREEDY, new int[generated + 1]);
    return total;
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
    scheduler.close();
    workers.close();
    arena.close();
  }
}
