package dev.kiln.server;

import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dynamic batching through the real server: correct answers, 429 on a full queue, 504 on expiry.
 */
class BatchingIT {
  @TempDir Path repository;

  private static ObjectNode oneRow(Fixture rf, int row) {
    ObjectNode req = Fixture.v2Request(new long[] {1, 30}, rf.input().get(row).deepCopy());
    return req;
  }

  @Test
  void infer_concurrentRequestsBatchedTogether_eachGetsItsOwnRow() throws Exception {
    Fixture rf = Fixture.load(RF);
    try (var server =
            TestServer.withModels(
                repository,
                Map.of("batching.enabled", "true", "batching.max-queue-delay", "20ms"),
                RF);
        var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<CompletableFuture<TestServer.Reply>> replies = new ArrayList<>();
      for (int i = 0; i < rf.rows(); i++) {
        int row = i;
        replies.add(
            CompletableFuture.supplyAsync(
                () -> server.post("/v2/models/" + RF + "/infer", oneRow(rf, row)), pool));
      }
      double[] expected = rf.expected("probabilities");
      for (int i = 0; i < rf.rows(); i++) {
        TestServer.Reply r = replies.get(i).get();
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        double[] got = Fixture.flatten(r.json().get("outputs").get(1).get("data"));
        assertThat(got[0]).isCloseTo(expected[2 * i], org.assertj.core.data.Offset.offset(1e-5));
        assertThat(got[1])
            .isCloseTo(expected[2 * i + 1], org.assertj.core.data.Offset.offset(1e-5));
        assertThat(r.json().get("parameters").has("queue_time_ms")).isTrue();
      }
    }
  }

  @Test
  void infer_queueFull_answers429WithRetryAfterAtOnce() throws Exception {
    Fixture rf = Fixture.load(RF);
    try (var server =
            TestServer.withModels(
                repository,
                Map.of(
                    "batching.enabled", "true",
                    "batching.max-queue-delay", "3s",
                    "batching.max-queue-size", "1"),
                RF);
        var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      // Ten requests at once into a queue of one that flushes after 3 s: the first to arrive waits,
      // the others find the queue full and must be refused at once, not after the 3 s.
      List<CompletableFuture<TestServer.Reply>> replies = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        int row = i;
        replies.add(
            CompletableFuture.supplyAsync(
                () -> server.post("/v2/models/" + RF + "/infer", oneRow(rf, row)), pool));
      }
      List<TestServer.Reply> all = new ArrayList<>();
      for (var f : replies) {
        all.add(f.get());
      }
      List<TestServer.Reply> refused = all.stream().filter(r -> r.status() == 429).toList();
      assertThat(refused).as("requests refused while the queue was full").isNotEmpty();
      assertThat(all).allSatisfy(r -> assertThat(r.status()).isIn(200, 429));
      TestServer.Reply one = refused.getFirst();
      assertThat(one.contentType()).isEqualTo("application/problem+json");
      assertThat(one.headers().firstValue("Retry-After")).isPresent();
      assertThat(one.json().get("detail").asText()).contains("queue");
    }
  }

  @Test
  void infer_timeoutShorterThanQueueDelay_answers504() {
    Fixture rf = Fixture.load(RF);
    try (var server =
        TestServer.withModels(
            repository,
            Map.of("batching.enabled", "true", "batching.max-queue-delay", "300ms"),
            RF)) {
      ObjectNode req = oneRow(rf, 0);
      req.putObject("parameters").put("timeout", 1000); // µs, as Triton's
      TestServer.Reply r = server.post("/v2/models/" + RF + "/infer", req);

      assertThat(r.status()).as(r.toString()).isEqualTo(504);
      assertThat(r.contentType()).isEqualTo("application/problem+json");
    }
  }

  @Test
  void infer_modelConfigTurnsBatchingOn_servesCorrectly() throws Exception {
    Fixture rf = Fixture.load(RF);
    TestServer.copyModels(repository, RF);
    Path config = repository.resolve(RF).resolve("config.yaml");
    Files.writeString(
        config, Files.readString(config) + "\ndynamic-batching:\n  max-queue-delay: 5ms\n");
    try (var server = TestServer.start(repository, Map.of())) {
      TestServer.Reply r = server.post("/v2/models/" + RF + "/infer", rf.v2FlatRequest());

      assertThat(r.status()).as(r.toString()).isEqualTo(200);
      rf.assertOutput("probabilities", r.json().get("outputs").get(1).get("data"));
    }
  }
}
