package dev.kiln.server;

import static dev.kiln.server.OpenaiSdk.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many streams at once: all are served (queued, not refused) and none disturbs another. */
class OpenaiConcurrencyIT {
  @TempDir Path repository;

  @Test
  void sixteenStreams_allComplete_eachEqualsItsGreedyReference() throws Exception {
    JsonNode cases = OpenaiSdk.cases();
    try (TestServer server = TestServer.withModels(repository, Map.of(), MODEL);
        ExecutorService pool = Executors.newFixedThreadPool(16)) {
      OpenAIClient client = OpenaiSdk.client(server);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<String>> streams = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        String prompt = cases.get(i % cases.size()).path("prompt").asText();
        streams.add(
            pool.submit(() -> {
              go.await();
              var params =
                  CompletionCreateParams.builder()
                      .model(MODEL)
                      .prompt(prompt)
                      .temperature(0.0)
                      .maxTokens(16)
                      .build();
              StringBuilder text = new StringBuilder();
              try (StreamResponse<Completion> s = client.completions().createStreaming(params)) {
                s.stream()
                    .filter(c -> !c.choices().isEmpty())
                    .forEach(c -> text.append(c.choices().getFirst().text()));
              }
              return text.toString();
            }));
      }
      go.countDown();
      for (int i = 0; i < 16; i++) {
        assertThat(streams.get(i).get(120, TimeUnit.SECONDS))
            .as("stream %d", i)
            .isEqualTo(OpenaiSdk.greedyText(cases.get(i % cases.size())));
      }
      client.close();
    }
  }
}
