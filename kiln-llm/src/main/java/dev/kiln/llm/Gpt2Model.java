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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A loaded GPT-2: tokenizer, mapped weights, engine. {@link #execute} takes BYTES input {@code
 * text} (one UTF-8 prompt per row) and returns BYTES {@code text_output}, the continuation of each
 * prompt. Request parameters: {@code max_tokens} (default {@value #DEFAULT_MAX_TOKENS}), {@code
 * temperature} (default 0: greedy), {@code top_k}, {@code top_p}, {@code seed}. Generation stops at
 * {@code <|endoftext|>}, at max_tokens or at the end of the context.
 *
 * <p>There is one KV cache, so prompts are generated one after another under a lock: simple and
 * non-streaming, the base that continuous batching and streaming will replace.
 */
final class Gpt2Model implements LoadedModel {
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
  private final ReentrantLock lock = new ReentrantLock();

  private Gpt2Model(Arena arena, Workers workers, Gpt2Tokenizer tokenizer, Gpt2Engine engine) {
    this.arena = arena;
    this.workers = workers;
    this.tokenizer = tokenizer;
    this.engine = engine;
  }

  /**
   * Loads config.json and model.safetensors from {@code weights} and the tokenizer from {@code
   * tokenizerDir} (often the same directory), with {@code threads} compute threads.
   */
  static Gpt2Model load(Path weights, Path tokenizerDir, int threads) {
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
      return new Gpt2Model(arena, workers, tokenizer, new Gpt2Engine(config, w, workers));
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

  /**
   * Prefills {@code prompt} in one pass, then decodes one token at a time into {@code out} until
   * {@code maxTokens}, the end of the context or {@code <|endoftext|>} (not included). An empty
   * prompt starts from {@code <|endoftext|>}, as GPT-2 was trained. Returns the tokens written.
   */
  int generate(int[] prompt, int maxTokens, Sampler.Settings settings, int[] out) {
    int[] start = prompt.length > 0 ? prompt : new int[] {tokenizer.endOfText()};
    lock.lock();
    try {
      engine.reset();
      Sampler sampler = new Sampler(settings, engine.config().vocabularySize());
      int room = engine.config().positions() - start.length;
      if (room < 0) {
        throw KilnException.invalid(
            "the prompt has %d tokens; the model's context is %d",
            start.length, engine.config().positions());
      }
      int limit = Math.min(Math.min(maxTokens, room + 1), out.length);
      float[] logits = engine.forward(start, 0, start.length);
      int n = 0;
      while (n < limit) {
        int token = sampler.next(logits);
        if (token == tokenizer.endOfText()) {
          break;
        }
        out[n++] = token;
        if (n < limit) {
          logits = engine.forward(out, n - 1, 1);
        }
      }
      return n;
    } finally {
      lock.unlock();
    }
  }

  /** The generated text for one prompt. */
  String complete(String prompt, int maxTokens, Sampler.Settings settings) {
    int[] out = new int[Math.max(maxTokens, 0)];
    int n = generate(tokenizer.encode(prompt), maxTokens, settings, out);
    return tokenizer.decode(Arrays.copyOf(out, n));
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
