package dev.kiln.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import dev.kiln.llm.Gpt2Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/** The tiny GPT-2 demo model, its torch reference, and the official OpenAI client for it. */
final class OpenaiSdk {
  static final String MODEL = "kiln-gpt2-tiny";

  private OpenaiSdk() {}

  /** The official SDK on Kiln's base URL; no retries, so an error reaches the test as it is. */
  static OpenAIClient client(TestServer server) {
    return OpenAIOkHttpClient.builder()
        .baseUrl("http://127.0.0.1:" + server.port() + "/v1")
        .apiKey("unused")
        .maxRetries(0)
        .timeout(Duration.ofSeconds(60))
        .build();
  }

  /** {@code kiln-llm/src/test/resources/tiny-gpt2/reference.json}: prompts, greedy token ids. */
  static JsonNode cases() {
    var file =
        TestServer.kilnRoot().resolve("kiln-llm/src/test/resources/tiny-gpt2/reference.json");
    try {
      return TestServer.MAPPER.readTree(file.toFile()).path("cases");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Gpt2Tokenizer tokenizer() {
    return Gpt2Tokenizer.load(TestServer.kilnRoot().resolve("models").resolve(MODEL).resolve("1"));
  }

  /** A case's 16-token greedy continuation (from torch), as text. */
  static String greedyText(JsonNode c) {
    JsonNode ids = c.path("greedy");
    int[] tokens = new int[ids.size()];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = ids.get(i).asInt();
    }
    return tokenizer().decode(tokens);
  }
}
