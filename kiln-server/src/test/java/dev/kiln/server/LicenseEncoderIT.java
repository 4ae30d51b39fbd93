package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
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
 * The transformer demo model (tools/fixtures/license_encoder.py) served by ONNX Runtime gives the
 * logits and probabilities torch computed, alone and when its requests are batched together.
 */
class LicenseEncoderIT {
  private static final String MODEL = "license-encoder";
  private static final int CLASSES = 9;

  @TempDir Path repository;

  private static JsonNode fixture() throws IOException {
    return TestServer.MAPPER.readTree(
        TestServer.kilnRoot().resolve("tools/fixtures/expected/" + MODEL + ".json").toFile());
  }

  private static ObjectNode request(List<JsonNode> rows) {
    ObjectNode req = TestServer.MAPPER.createObjectNode();
    ObjectNode in = req.putArray("inputs").addObject();
    in.put("name", "input_ids").put("datatype", "INT64");
    in.putArray("shape").add(rows.size()).add(rows.getFirst().size());
    ArrayNode data = in.putArray("data");
    rows.forEach(r -> r.forEach(data::add));
    return req;
  }

  private static double[] output(TestServer.Reply r, String name) {
    for (JsonNode o : r.json().get("outputs")) {
      if (o.get("name").asText().equals(name)) {
        return Fixture.flatten(o.get("data"));
      }
    }
    throw new AssertionError("no output " + name + " in " + r);
  }

  private static double[] row(double[] all, int i) {
    return Arrays.copyOfRange(all, i * CLASSES, (i + 1) * CLASSES);
  }

  @Test
  void infer_allSnippetsInOneRequest_matchTorch() throws Exception {
    JsonNode fx = fixture();
    double tolerance = fx.get("tolerance").asDouble();
    List<JsonNode> rows = new ArrayList<>();
    fx.get("inputs").get("input_ids").forEach(rows::add);
    try (var server = TestServer.withModels(repository, Map.of(), MODEL)) {
      TestServer.Reply r = server.post("/v2/models/" + MODEL + "/infer", request(rows));
      assertThat(r.status()).as(r.toString()).isEqualTo(200);
      for (String name : List.of("logits", "probabilities")) {
        assertThat(output(r, name))
            .containsExactly(Fixture.flatten(fx.get("outputs").get(name)), within(tolerance));
      }
    }
  }

  @Test
  void infer_batchingOn_concurrentSingleSnippets_eachGetsTorchsAnswer() throws Exception {
    JsonNode fx = fixture();
    double tolerance = fx.get("tolerance").asDouble();
    double[] logits = Fixture.flatten(fx.get("outputs").get("logits"));
    List<JsonNode> rows = new ArrayList<>();
    fx.get("inputs").get("input_ids").forEach(rows::add);
    try (var server =
            TestServer.withModels(
                repository,
                Map.of("batching.enabled", "true", "batching.max-queue-delay", "20ms"),
                MODEL);
        var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<CompletableFuture<TestServer.Reply>> replies = new ArrayList<>();
      for (JsonNode row : rows) {
        replies.add(
            CompletableFuture.supplyAsync(
                () -> server.post("/v2/models/" + MODEL + "/infer", request(List.of(row))), pool));
      }
      for (int i = 0; i < rows.size(); i++) {
        TestServer.Reply r = replies.get(i).get();
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(output(r, "logits")).containsExactly(row(logits, i), within(tolerance));
      }
    }
  }
}
