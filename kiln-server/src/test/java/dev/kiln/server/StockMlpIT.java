package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wide MLP demo model (tools/fixtures/stock_mlp.py) served by ONNX Runtime gives the forecasts
 * torch computed, in one request and when single-row requests are batched together.
 */
class StockMlpIT {
  private static final String MODEL = "stock-mlp";

  @TempDir Path repository;

  private final Fixture mlp = Fixture.load(MODEL);

  @Test
  void infer_allWindowsInOneRequest_matchTorch() {
    try (var server = TestServer.withModels(repository, Map.of(), MODEL)) {
      var r = server.post("/v2/models/" + MODEL + "/infer", mlp.v2FlatRequest());

      assertThat(r.status()).as("%s", r).isEqualTo(200);
      JsonNode out = V2ProtocolIT.output(r.json(), "output");
      assertThat(out.path("shape").toString()).isEqualTo("[8,1]");
      mlp.assertOutput("output", out.path("data"));
    }
  }

  @Test
  void infer_batchingOn_concurrentSingleWindows_eachGetsTorchsAnswer() throws Exception {
    float[] flat = mlp.flatInput();
    double[] expected = mlp.expected("output");
    try (var server =
            TestServer.withModels(
                repository,
                Map.of("batching.enabled", "true", "batching.max-queue-delay", "20ms"),
                MODEL);
        var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<CompletableFuture<TestServer.Reply>> replies = new ArrayList<>();
      for (int i = 0; i < mlp.rows(); i++) {
        float[] row = Arrays.copyOfRange(flat, i * 30, (i + 1) * 30);
        var data = TestServer.MAPPER.createArrayNode();
        for (float f : row) {
          data.add(f);
        }
        var request = Fixture.v2Request(new long[] {1, 30}, data);
        replies.add(
            CompletableFuture.supplyAsync(
                () -> server.post("/v2/models/" + MODEL + "/infer", request), pool));
      }
      for (int i = 0; i < replies.size(); i++) {
        var r = replies.get(i).get();
        assertThat(r.status()).as("%s", r).isEqualTo(200);
        JsonNode out = V2ProtocolIT.output(r.json(), "output");
        assertThat(out.path("data").get(0).asDouble())
            .isCloseTo(expected[i], org.assertj.core.api.Assertions.within(mlp.tolerance()));
      }
    }
  }
}
