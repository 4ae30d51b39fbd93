package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import java.nio.file.Path;

/**
 * The {@code kiln-llm} backend: serves Hugging Face GPT-2 checkpoints ({@code config.json} with
 * {@code model_type} gpt2, {@code model.safetensors}, and {@code tokenizer.json} or {@code
 * vocab.json} + {@code merges.txt}) as text generation, in pure Java. Found by {@link
 * java.util.ServiceLoader}.
 *
 * <p>Model parameters: {@code threads} (compute threads, default the smaller of 2 and the number of
 * processors); {@code tokenizer-dir} (where the tokenizer files are, default the version
 * directory); {@code max-sequences} (sequences generated together by continuous batching, each with
 * its own KV cache; default {@value #DEFAULT_MAX_SEQUENCES}); {@code kv-cache-bytes} (the KV budget
 * all running sequences share, each reserving its prompt plus max_tokens; default a full context
 * per sequence but at most a quarter of the heap, and at least one context or a third of the heap,
 * whichever is smaller); {@code kv-cache-dtype} (auto, the default, f32 or bf16: how keys and
 * values are stored; auto follows the weights, see {@link KvCache.Format#forWeights}; bf16 halves
 * the bytes per position, so the same budget holds twice the positions); {@code warmup} (true, the
 * default, or false: one short greedy generation at load, before the model is ready, so that the
 * first request does not wait for the JIT; see {@link Gpt2Model#warmUp}); {@code max-queue}
 * (requests that may wait for admission, default {@value #DEFAULT_MAX_QUEUE}; beyond it requests
 * are refused with OVERLOADED); {@code weights} (auto, fp32, bf16 or q8_0: the matrices' format,
 * converted at load when the file differs; see {@link Gpt2Weights}). A directory may hold
 * model.gguf instead of the Hugging Face files.
 */
public final class LlmRuntime implements ModelRuntime {
  private static final System.Logger LOG = System.getLogger(LlmRuntime.class.getName());

  /** Above ONNX's 10; as the tree runtime, a directory this specific is ours. */
  static final int CLAIM = 20;

  static final String THREADS = "threads";
  static final String TOKENIZER_DIR = "tokenizer-dir";
  static final String MAX_QUEUE = "max-queue";
  static final String MAX_SEQUENCES = "max-sequences";
  static final String KV_CACHE_BYTES = "kv-cache-bytes";
  static final String KV_CACHE_DTYPE = "kv-cache-dtype";
  static final String WEIGHTS = "weights";
  static final String WARMUP = "warmup";
  static final int DEFAULT_MAX_QUEUE = 64;
  static final int DEFAULT_MAX_SEQUENCES = 16;

  /** For {@link java.util.ServiceLoader}. */
  public LlmRuntime() {}

  @Override
  public String name() {
    return "kiln-llm";
  }

  /**
   * {@value #CLAIM} for a version directory with a gpt2 config.json and model.safetensors, or a
   * model.gguf.
   */
  @Override
  public int claims(Path versionDirectory) {
    return Gpt2Files.present(versionDirectory) ? CLAIM : 0;
  }

  @Override
  public LoadedModel load(ModelSource source) {
    Path dir = source.directory();
    String tokenizerDir = source.parameters().get(TOKENIZER_DIR);
    int threads =
        intParameter(source, THREADS, Math.min(2, Runtime.getRuntime().availableProcessors()), 1);
    int maxQueue = intParameter(source, MAX_QUEUE, DEFAULT_MAX_QUEUE, 0);
    int maxSequences = intParameter(source, MAX_SEQUENCES, 0, 1);
    long kvCacheBytes = kvCacheBytes(source);
    boolean warmUp = source.booleanParameter(WARMUP, true);
    Gpt2Model model =
        Gpt2Model.load(
            dir,
            tokenizerDir == null ? null : dir.resolve(tokenizerDir),
            threads,
            maxQueue,
            maxSequences,
            kvCacheBytes,
            Gpt2Weights.Precision.parse(source.parameters().get(WEIGHTS)),
            KvCache.Format.parse(source.parameters().get(KV_CACHE_DTYPE)));
    if (warmUp) {
      try {
        long t0 = System.nanoTime();
        int positions = model.warmUp();
        LOG.log(
            System.Logger.Level.INFO,
            "{0} v{1}: warmed up in {2} ms ({3} positions)",
            source.model(),
            source.version(),
            (System.nanoTime() - t0) / 1_000_000,
            positions);
      } catch (RuntimeException e) {
        model.close();
        throw e;
      }
    }
    return model;
  }

  /** {@code kv-cache-bytes}: a positive integer, optionally with a KB/MB/GB (1024-based) suffix. */
  static long kvCacheBytes(ModelSource source) {
    String t = source.parameters().get(KV_CACHE_BYTES);
    if (t == null) {
      return 0;
    }
    String v = t.strip().toUpperCase(java.util.Locale.ROOT);
    long unit = 1;
    for (String[] u : new String[][] {{"KB", "10"}, {"MB", "20"}, {"GB", "30"}}) {
      if (v.endsWith(u[0])) {
        unit = 1L << Integer.parseInt(u[1]);
        v = v.substring(0, v.length() - 2).strip();
        break;
      }
    }
    try {
      long n = Long.parseLong(v);
      if (n > 0 && n <= Long.MAX_VALUE / unit) {
        return n * unit;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw KilnException.of(
        ErrorKind.INTERNAL,
        "parameter %s must be a positive number of bytes (optionally KB, MB or GB), was '%s'",
        KV_CACHE_BYTES,
        t);
  }

  private static int intParameter(ModelSource source, String key, int fallback, int min) {
    String t = source.parameters().get(key);
    if (t == null) {
      return fallback;
    }
    int n;
    try {
      n = Integer.parseInt(t.strip());
    } catch (NumberFormatException e) {
      n = -1;
    }
    int max = key.equals(THREADS) ? 256 : key.equals(MAX_SEQUENCES) ? 4096 : 1 << 20;
    if (n < min || n > max) {
      throw KilnException.of(
          ErrorKind.INTERNAL,
          "parameter %s must be an integer in [%d, %d], was '%s'",
          key,
          min,
          max,
          t);
    }
    return n;
  }
}
