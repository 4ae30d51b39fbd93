package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * XGBoost models served by kiln-trees with no config file, checked over HTTP against the outputs of
 * the real library (python3-xgboost 1.7.4, fixtures in kiln-trees/src/test/resources/xgboost/).
 */
class TreeModelIT {
  @TempDir Path repository;

  private static JsonNode expected(String fixture) throws IOException {
    Path file =
        TestServer.kilnRoot()
            .resolve("kiln-trees/src/test/resources/xgboost")
            .resolve(fixture)
            .resolve("expected.json");
    return TestServer.MAPPER.readTree(Files.readAllBytes(file));
  }

  private static ObjectNode request(JsonNode rows, String... outputNames) {
    ObjectNode req = Fixture.v2Request(new long[] {rows.size(), rows.get(0).size()}, rows);
    ArrayNode outputs = req.putArray("outputs");
    for (String name : outputNames) {
      outputs.addObject().put("name", name);
    }
    return req;
  }

  private static JsonNode output(JsonNode reply, String name) {
    for (JsonNode o : reply.get("outputs")) {
      if (o.get("name").asText().equals(name)) {
        return o.get("data");
      }
    }
    throw new AssertionError("no output " + name + " in " + reply);
  }

  @Test
  void infer_demoXgboostModelWithoutConfig_matchesXgboost() throws IOException {
    JsonNode exp = expected("binary_logistic");
    try (var server = TestServer.withModels(repository, Map.of(), "breast-cancer-xgb")) {
      TestServer.Reply r =
          server.post(
              "/v2/models/breast-cancer-xgb/infer",
              request(exp.get("rows"), "probabilities", "margin"));

      assertThat(r.status()).as(r.toString()).isEqualTo(200);
      JsonNode probabilities = output(r.json(), "probabilities");
      JsonNode margin = output(r.json(), "margin");
      for (int i = 0; i < exp.get("predict").size(); i++) {
        double p = exp.get("predict").get(i).asDouble();
        assertThat(probabilities.get(2 * i + 1).asDouble()).isCloseTo(p, within(1e-6));
        assertThat(margin.get(i).asDouble())
            .isCloseTo(exp.get("margin").get(i).asDouble(), within(1e-5));
      }
    }
  }

  @Test
  void infer_rowsWithMissingValues_followDefaultDirectionsLikeXgboost() throws IOException {
    JsonNode exp = expected("missing");
    Path version = repository.resolve("missing").resolve("1");
    Files.createDirectories(version);
    Files.copy(
        TestServer.kilnRoot().resolve("kiln-trees/src/test/resources/xgboost/missing/model.ubj"),
        version.resolve("model.ubj"));
    try (var server = TestServer.start(repository, Map.of())) {
      TestServer.Reply r =
          server.post("/v2/models/missing/infer", request(exp.get("rows"), "margin"));

      assertThat(r.status()).as(r.toString()).isEqualTo(200);
      JsonNode margin = output(r.json(), "margin");
      JsonNode expMargin = exp.get("margin");
      int perRow = margin.size() / exp.get("rows").size();
      for (int i = 0; i < margin.size(); i++) {
        JsonNode e = expMargin.get(i / perRow);
        double want = e.isArray() ? e.get(i % perRow).asDouble() : e.asDouble();
        assertThat(margin.get(i).asDouble())
            .isCloseTo(want, within(1e-5 * Math.max(1, Math.abs(want))));
      }
    }
  }
}
