package dev.kiln.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.error.Checks;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The hyperparameters of a Hugging Face GPT-2 {@code config.json}: {@code n_layer}, {@code n_head},
 * {@code n_embd}, {@code n_positions} (the context length), {@code vocab_size} and {@code
 * layer_norm_epsilon}.
 */
record Gpt2Config(
    int layers, int heads, int embedding, int positions, int vocabularySize, float layerNormEps) {
  Gpt2Config {
    Checks.require(layers >= 1, "n_layer must be >= 1, was %d", layers);
    Checks.require(heads >= 1, "n_head must be >= 1, was %d", heads);
    Checks.require(
        embedding >= 1 && embedding % heads == 0,
        "n_embd (%d) must be a positive multiple of n_head (%d)",
        embedding,
        heads);
    Checks.require(positions >= 1, "n_positions must be >= 1, was %d", positions);
    Checks.require(vocabularySize >= 1, "vocab_size must be >= 1, was %d", vocabularySize);
    Checks.require(layerNormEps > 0, "layer_norm_epsilon must be > 0, was %s", layerNormEps);
  }

  int headSize() {
    return embedding / heads;
  }

  /** The {@code model_type} of a config.json, or null when it cannot be read. */
  static String modelType(Path configJson) {
    try {
      return new ObjectMapper().readTree(configJson.toFile()).path("model_type").asText(null);
    } catch (IOException e) {
      return null;
    }
  }

  static Gpt2Config read(Path configJson) {
    JsonNode c;
    try {
      c = new ObjectMapper().readTree(configJson.toFile());
    } catch (IOException e) {
      throw new KilnException(ErrorKind.INTERNAL, configJson + ": cannot read it: " + e, e);
    }
    if (!"gpt2".equals(c.path("model_type").asText())) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "%s: model_type is '%s'; kiln-llm serves gpt2",
          configJson.getFileName(),
          c.path("model_type").asText());
    }
    String activation = c.path("activation_function").asText("gelu_new");
    if (!activation.equals("gelu_new") && !activation.equals("gelu_pytorch_tanh")) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "%s: activation_function %s is not supported",
          configJson,
          activation);
    }
    try {
      return new Gpt2Config(
          required(c, "n_layer"),
          required(c, "n_head"),
          required(c, "n_embd"),
          required(c, "n_positions"),
          required(c, "vocab_size"),
          (float) c.path("layer_norm_epsilon").asDouble(1e-5));
    } catch (IllegalArgumentException e) {
      throw new KilnException(ErrorKind.INTERNAL, configJson + ": " + e.getMessage(), e);
    }
  }

  /**
   * From a GGUF file's metadata: {@code general.architecture} gpt2, {@code gpt2.block_count},
   * {@code gpt2.attention.head_count}, {@code gpt2.embedding_length}, {@code gpt2.context_length},
   * {@code gpt2.attention.layer_norm_epsilon}; the vocabulary size is token_embd's row count.
   */
  static Gpt2Config fromGguf(GgufFile f) {
    String name = f.file().getFileName().toString();
    String arch = f.string("general.architecture");
    if (!"gpt2".equals(arch)) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED, "%s: architecture is '%s'; kiln-llm serves gpt2", name, arch);
    }
    GgufFile.Tensor wte = f.tensor("token_embd.weight");
    if (wte == null || wte.ne().length != 2) {
      throw KilnException.of(ErrorKind.INTERNAL, "%s: no 2-D tensor token_embd.weight", name);
    }
    long ff = f.integer("gpt2.feed_forward_length");
    long d = f.integer("gpt2.embedding_length");
    if (ff != 4 * d) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "%s: feed_forward_length %d is not 4 x embedding_length %d",
          name,
          ff,
          d);
    }
    Object eps = f.metadata().get("gpt2.attention.layer_norm_epsilon");
    try {
      return new Gpt2Config(
          Math.toIntExact(f.integer("gpt2.block_count")),
          Math.toIntExact(f.integer("gpt2.attention.head_count")),
          Math.toIntExact(d),
          Math.toIntExact(f.integer("gpt2.context_length")),
          Math.toIntExact(wte.ne()[1]),
          eps instanceof Double e ? e.floatValue() : 1e-5f);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new KilnException(ErrorKind.INTERNAL, name + ": " + e.getMessage(), e);
    }
  }

  private static int required(JsonNode c, String key) {
    Checks.require(c.path(key).canConvertToInt(), "%s is required", key);
    return c.path(key).asInt();
  }
}
