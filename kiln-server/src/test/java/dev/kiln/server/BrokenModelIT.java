package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model whose file is garbage fails alone: the server starts and says what is wrong. */
class BrokenModelIT {
  private static final String BROKEN = "broken";

  @TempDir static Path repository;
  static TestServer server;

  @BeforeAll
  static void start() throws IOException {
    TestServer.copyModels(repository, RF, LSTM);
    Path version = Files.createDirectories(repository.resolve(BROKEN).resolve("1"));
    Files.write(version.resolve("model.onnx"), "this is not an ONNX protobuf\n\0\1\2".getBytes());
    server = TestServer.start(repository, Map.of());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void infer_otherModels_areServed() {
    var rf = Fixture.load(RF);
    var r = server.post("/v2/models/" + RF + "/infer", rf.v2FlatRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    rf.assertOutput("label", V2ProtocolIT.output(r.json(), "label").path("data"));
    var lstm = Fixture.load(LSTM);
    assertThat(server.post("/v2/models/" + LSTM + "/infer", lstm.v2FlatRequest()).status())
        .isEqualTo(200);
  }

  @Test
  void health_brokenModel_isDegradedNamingVersionAndReason() {
    var r = server.get("/health");
    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("status").asText()).isEqualTo("degraded");
    assertThat(body.path("models").path("loaded").asInt()).isEqualTo(2);
    assertThat(body.path("models").path("failed").asInt()).isEqualTo(1);
    JsonNode broken = ExplicitModelControlIT.entry(body.path("models").path("versions"), BROKEN);
    assertThat(broken.path("version").asText()).isEqualTo("1");
    assertThat(broken.path("state").asText()).isEqualTo("UNAVAILABLE");
    assertThat(broken.path("reason").asText()).contains("model.onnx");
  }

  @Test
  void metadata_brokenModel_isUnavailableWithReason() {
    var r = server.get("/v2/models/" + BROKEN);
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json().path("state").asText()).isEqualTo("UNAVAILABLE");
    assertThat(r.json().path("reason").asText()).contains("model.onnx");
    assertThat(r.json().path("versions")).isEmpty();
  }

  @Test
  void modelReady_brokenModel_is503WithReason() {
    var r = server.get("/v2/models/" + BROKEN + "/ready");
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.json().path("ready").asBoolean()).isFalse();
    assertThat(r.json().path("reason").asText()).contains("model.onnx");
  }

  @Test
  void healthReady_strictReadinessWithBrokenModel_is503() {
    var r = server.get("/v2/health/ready");
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.json().path("ready").asBoolean()).isFalse();
  }

  @Test
  void infer_brokenModel_is503NamingModel() {
    String body =
        "{\"inputs\": [{\"name\": \"input\", \"datatype\": \"FP32\", \"shape\": [1],"
            + " \"data\": [1.0]}]}";
    assertProblem(server.post("/v2/models/" + BROKEN + "/infer", body), 503, "'broken'");
  }

  @Test
  void index_brokenModel_isListedUnavailable() {
    JsonNode entry =
        ExplicitModelControlIT.entry(server.post("/v2/repository/index", "").json(), BROKEN);
    assertThat(entry.path("state").asText()).isEqualTo("UNAVAILABLE");
    assertThat(entry.path("reason").asText()).isNotBlank();
  }
}
