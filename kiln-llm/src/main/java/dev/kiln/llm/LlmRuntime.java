package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The {@code kiln-llm} backend: serves Hugging Face GPT-2 checkpoints ({@code config.json} with
 * {@code model_type} gpt2, {@code model.safetensors}, and {@code tokenizer.json} or {@code
 * vocab.json} + {@code merges.txt}) as text generation, in pure Java. Found by {@link
 * java.util.ServiceLoader}.
 *
 * <p>Model parameters: {@code threads} (compute threads, default the smaller of 2 and the number of
 * processors); {@code tokenizer-dir} (where the tokenizer files are, default the version
 * directory).
 */
public final class LlmRuntime implements ModelRuntime {
  /** Above ONNX's 10; as the tree runtime, a directory this specific is ours. */
  static final int CLAIM = 20;

  static final String THREADS = "threads";
  static final String TOKENIZER_DIR = "tokenizer-dir";

  /** For {@link java.util.ServiceLoader}. */
  public LlmRuntime() {}

  @Override
  public String name() {
    return "kiln-llm";
  }

  /** {@value #CLAIM} for a version directory with a gpt2 config.json and model.safetensors. */
  @Override
  public int claims(Path versionDirectory) {
    Path config = versionDirectory.resolve("config.json");
    if (!Files.isRegularFile(config)
        || !Files.isRegularFile(versionDirectory.resolve("model.safetensors"))) {
      return 0;
    }
    return "gpt2".equals(Gpt2Config.modelType(config)) ? CLAIM : 0;
  }

  @Override
  public LoadedModel load(ModelSource source) {
    Path dir = source.directory();
    String tokenizerDir = source.parameters().get(TOKENIZER_DIR);
    int threads = Math.min(2, Runtime.getRuntime().availableProcessors());
    String t = source.parameters().get(THREADS);
    if (t != null) {
      try {
        threads = Integer.parseInt(t.strip());
      } catch (NumberFormatException e) {
        threads = -1;
      }
      if (threads < 1 || threads > 256) {
        throw KilnException.of(
            ErrorKind.INTERNAL,
            "parameter %s must be an integer in [1, 256], was '%s'",
            THREADS,
            t);
      }
    }
    return Gpt2Model.load(dir, tokenizerDir == null ? dir : dir.resolve(tokenizerDir), threads);
  }
}
