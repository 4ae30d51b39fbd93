package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The v1 "instances" API: rows as arrays, as named features, a single flat row; model status. */
class V1ProtocolIT {
  private static final List<String> LABELS = List.of("malignant", "benign");

  @TempDir static Path repository;
  static TestServer server;
  static Fixture rf;
  static Fixture lstm;

  @BeforeAll
  static void start() {
    server = TestServer.withModels(repository, Map.of(), RF, LSTM);
    rf = Fixture.load(RF);
    lstm = Fixture.load(LSTM);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void predict_rowsAsArrays_matchesSklearnWithLabelNames() {
    var r = server.post("/v1/models/" + RF + ":predict", instances(rf.input()));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertRfPredictions(r.json().path("predictions"), 0, rf.rows());
  }

  @Test
  void predict_rowsAsArrays_answersModelVersionIdsAndTime() {
    var r = server.post("/v1/models/" + RF + ":predict", instances(rf.input()));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("model").asText()).isEqualTo(RF);
    assertThat(body.path("version").asText()).isEqualTo("1");
    JsonNode ids = body.path("prediction_ids");
    assertThat(ids).hasSize(rf.rows());
    var distinct = new HashSet<String>();
    ids.forEach(id -> distinct.add(id.asText()));
    assertThat(distinct).hasSize(rf.rows()).allSatisfy(id -> assertThat(id).isNotBlank());
    assertThat(body.path("inference_time_ms").isNumber()).isTrue();
    assertThat(body.path("inference_time_ms").asDouble()).isGreaterThanOrEqualTo(0);
  }

  @Test
  void predict_rowsAsNamedFeatures_matchesSklearn() {
    List<String> features =
        V2ProtocolIT.texts(
            server
                .get("/v2/models/" + RF)
                .json()
                .path("inputs")
                .get(0)
                .path("parameters")
                .path("features"));
    assertThat(features).hasSize(30);
    ArrayNode rows = TestServer.MAPPER.createArrayNode();
    for (JsonNode row : rf.input()) {
      ObjectNode named = rows.addObject();
      // Reverse order: a name, not a position, decides the column.
      for (int i = features.size() - 1; i >= 0; i--) {
        named.set(features.get(i), row.get(i));
      }
    }
    var r = server.post("/v1/models/" + RF + ":predict", instances(rows));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertRfPredictions(r.json().path("predictions"), 0, rf.rows());
  }

  @Test
  void predict_singleFlatInstance_answersOnePrediction() {
    ObjectNode req = TestServer.MAPPER.createObjectNode();
    req.set("instances", rf.input().get(3).deepCopy());
    var r = server.post("/v1/models/" + RF + ":predict", req);
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json().path("predictions")).hasSize(1);
    assertThat(r.json().path("prediction_ids")).hasSize(1);
    assertRfPredictions(r.json().path("predictions"), 3, 1);
  }

  @Test
  void predict_lstmNestedWindows_matchesTorch() {
    var r = server.post("/v1/models/" + LSTM + ":predict", instances(lstm.input()));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    JsonNode predictions = r.json().path("predictions");
    assertThat(predictions).hasSize(lstm.rows());
    lstm.assertOutput("output", predictions);
  }

  @Test
  void predict_versionInPath_usesThatVersion() {
    var r = server.post("/v1/models/" + RF + "/versions/1:predict", instances(rf.input()));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json().path("version").asText()).isEqualTo("1");
    assertRfPredictions(r.json().path("predictions"), 0, rf.rows());
  }

  @Test
  void status_loadedModel_isAvailable() {
    var r = server.get("/v1/models/" + RF);
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    JsonNode versions = r.json().path("model_version_status");
    assertThat(versions).hasSize(1);
    assertThat(versions.get(0).path("version").asText()).isEqualTo("1");
    assertThat(versions.get(0).path("state").asText()).isEqualTo("AVAILABLE");
    assertThat(versions.get(0).path("status").path("error_code").asText()).isEqualTo("OK");
  }

  /** Predictions {label, probabilities} for fixture rows {@code [from, from + count)}. */
  private static void assertRfPredictions(JsonNode predictions, int from, int count) {
    assertThat(predictions).hasSize(count);
    double[] labels = rf.expected("label");
    double[] probs = rf.expected("probabilities");
    for (int i = 0; i < count; i++) {
      JsonNode p = predictions.get(i);
      int row = from + i;
      assertThat(p.path("label").asText())
          .as("row %d", row)
          .isEqualTo(LABELS.get((int) labels[row]));
      assertThat(Fixture.flatten(p.path("probabilities")))
          .as("row %d", row)
          .containsExactly(
              new double[] {probs[2 * row], probs[2 * row + 1]}, within(rf.tolerance()));
    }
  }

  static ObjectNode instances(JsonNode rows) {
    ObjectNode req = TestServer.MAPPER.createObjectNode();
    req.set("instances", rows.deepCopy());
    return req;
  }
}
