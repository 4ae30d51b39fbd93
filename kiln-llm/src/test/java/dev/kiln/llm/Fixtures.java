package dev.kiln.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The test resources: the real GPT-2 tokenizer and the tiny torch-made GPT-2. */
final class Fixtures {
  private Fixtures() {}

  static Path resource(String name) {
    try {
      return Path.of(Fixtures.class.getResource("/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static Path tokenizerDir() {
    return resource("gpt2-tokenizer");
  }

  static Path tinyModelDir() {
    return resource("tiny-gpt2");
  }

  static JsonNode json(String name) {
    try {
      return new ObjectMapper().readTree(resource(name).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  private static Gpt2Tokenizer tokenizer;

  static synchronized Gpt2Tokenizer tokenizer() {
    if (tokenizer == null) {
      tokenizer = Gpt2Tokenizer.load(tokenizerDir());
    }
    return tokenizer;
  }
}
