package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds and opens a GPT-2's files. A version directory holds either a Hugging Face checkpoint
 * ({@code config.json} with model_type gpt2 and {@code model.safetensors}; preferred when both are
 * present) or {@code model.gguf} (architecture gpt2); {@code weights} may also name a {@code .gguf}
 * file itself. The tokenizer comes from {@code tokenizerDir} when given, else, for GGUF, from the
 * file's {@code tokenizer.ggml.tokens} and {@code tokenizer.ggml.merges} when it has them, else
 * from {@code tokenizer.json} or {@code vocab.json} + {@code merges.txt} beside the weights.
 */
final class Gpt2Files {
  static final String SAFETENSORS = "model.safetensors";
  static final String GGUF = "model.gguf";
  static final String CONFIG = "config.json";

  /** What a model needs: its shape, weights (mapped into the caller's arena) and tokenizer. */
  record Loaded(Gpt2Config config, Gpt2Weights weights, Gpt2Tokenizer tokenizer) {}

  private Gpt2Files() {}

  /** Whether {@code dir} holds a GPT-2 in either format. */
  static boolean present(Path dir) {
    Path config = dir.resolve(CONFIG);
    if (Files.isRegularFile(config) && Files.isRegularFile(dir.resolve(SAFETENSORS))) {
      return "gpt2".equals(Gpt2Config.modelType(config));
    }
    return Files.isRegularFile(dir.resolve(GGUF));
  }

  static Loaded open(
      Path weights, Path tokenizerDir, Gpt2Weights.Precision precision, Arena arena) {
    Path gguf = weights;
    if (Files.isDirectory(weights)) {
      boolean hf =
          Files.isRegularFile(weights.resolve(CONFIG))
              && Files.isRegularFile(weights.resolve(SAFETENSORS));
      if (hf || !Files.isRegularFile(weights.resolve(GGUF))) {
        Gpt2Config config = Gpt2Config.read(weights.resolve(CONFIG));
        Gpt2Tokenizer tokenizer = tokenizer(tokenizerDir != null ? tokenizerDir : weights, config);
        SafeTensors file = SafeTensors.open(weights.resolve(SAFETENSORS), arena);
        return new Loaded(
            config, Gpt2Weights.fromSafeTensors(file, config, precision, arena), tokenizer);
      }
      gguf = weights.resolve(GGUF);
    }
    GgufFile file = GgufFile.open(gguf, arena);
    Gpt2Config config = Gpt2Config.fromGguf(file);
    Gpt2Tokenizer tokenizer;
    List<String> tokens = file.strings("tokenizer.ggml.tokens");
    List<String> merges = file.strings("tokenizer.ggml.merges");
    if (tokenizerDir == null && tokens != null && merges != null) {
      String model = file.string("tokenizer.ggml.model");
      if (!"gpt2".equals(model)) {
        throw KilnException.of(
            ErrorKind.UNSUPPORTED,
            "%s: tokenizer.ggml.model is '%s'; kiln-llm reads GPT-2's byte-level BPE (gpt2)",
            gguf.getFileName(),
            model);
      }
      tokenizer = checked(Gpt2Tokenizer.fromLists(tokens, merges), config);
    } else {
      tokenizer = tokenizer(tokenizerDir != null ? tokenizerDir : gguf.getParent(), config);
    }
    return new Loaded(config, Gpt2Weights.fromGguf(file, config, precision, arena), tokenizer);
  }

  private static Gpt2Tokenizer tokenizer(Path dir, Gpt2Config config) {
    return checked(Gpt2Tokenizer.load(dir), config);
  }

  private static Gpt2Tokenizer checked(Gpt2Tokenizer tokenizer, Gpt2Config config) {
    if (tokenizer.vocabularySize() > config.vocabularySize()) {
      throw KilnException.of(
          ErrorKind.INTERNAL,
          "the tokenizer has %d tokens, more than the model's vocab_size %d",
          tokenizer.vocabularySize(),
          config.vocabularySize());
    }
    return tokenizer;
  }
}
