package dev.kiln.server;

import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.onnx.OnnxRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Identical requests in flight at once share one computation where the model's cache is on. */
class CoalescingIT {
  private static final int CLIENTS = 8;

  @TempDir Path repository;

  @Test
  void infer_identicalConcurrentRequests_runTheModelOnce() throws Exception {
    Fixture rf = Fixture.load(RF);
    var gated = new GatedRuntime();
    TestServer.copyModels(repository, RF);
    TestServer.setBackend(repository, RF, GatedRuntime.NAME);
    String body = rf.v2FlatRequest().toString();
    try (var server =
            TestServer.start(
                repository, Map.of("cache.enabled", "true"), List.of(new OnnxRuntime(), gated));
        var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<CompletableFuture<TestServer.Reply>> replies = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        replies.add(
            CompletableFuture.supplyAsync(
                () -> server.post("/v2/models/" + RF + "/infer", body), pool));
      }
      assertThat(gated.awaitEntered(1)).isTrue();
      Poll.until(
          "every other request joined the first",
          () ->
              MetricsIT.sample(
                      server.get("/metrics").text(),
                      "kiln_coalesced_requests_total{model=\"" + RF + "\"}")
                  == CLIENTS - 1);
      int executions = 1 + gated.enteredNow();
      gated.open();

      assertThat(executions).as("model executions").isEqualTo(1);
      for (var f : replies) {
        TestServer.Reply r = f.get(30, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        rf.assertOutput("probabilities", r.json().get("outputs").get(1).get("data"));
      }
    }
  }
}
