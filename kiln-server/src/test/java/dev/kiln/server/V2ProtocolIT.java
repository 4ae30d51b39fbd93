package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** KServe v2 / Open Inference Protocol over JSON, against the demo models' reference outputs. */
class V2ProtocolIT {
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
  void healthLive_running_isLive() {
    var r = server.get("/v2/health/live");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().path("live").asBoolean()).isTrue();
  }

  @Test
  void healthReady_allModelsLoaded_isReady() {
    var r = server.get("/v2/health/ready");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().path("ready").asBoolean()).isTrue();
  }

  @Test
  void serverMetadata_always_namesServerAndExtensions() {
    var r = server.get("/v2");
    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("name").asText()).isEqualTo("kiln");
    assertThat(body.path("version").asText()).isEqualTo(KilnServer.version());
    assertThat(texts(body.path("extensions"))).contains("binary_tensor_data", "model_repository");
  }

  @Test
  void modelMetadata_rf_describesInputsAndOutputs() {
    var r = server.get("/v2/models/" + RF);
    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("name").asText()).isEqualTo(RF);
    assertThat(texts(body.path("versions"))).containsExactly("1");
    assertThat(body.path("platform").asText()).isEqualTo("onnxruntime_onnx");
    assertThat(body.path("state").asText()).isEqualTo("READY");
    JsonNode input = body.path("inputs").get(0);
    assertThat(input.path("name").asText()).isEqualTo("input");
    assertThat(input.path("datatype").asText()).isEqualTo("FP32");
    assertThat(input.path("shape").toString()).isEqualTo("[-1,30]");
    assertThat(input.path("parameters").path("features")).hasSize(30);
    assertThat(input.path("parameters").path("features").get(0).asText()).isEqualTo("mean radius");
    JsonNode outputs = body.path("outputs");
    assertThat(outputs).hasSize(2);
    assertThat(outputs.get(0).path("name").asText()).isEqualTo("label");
    assertThat(outputs.get(0).path("datatype").asText()).isEqualTo("INT64");
    assertThat(outputs.get(0).path("shape").toString()).isEqualTo("[-1]");
    assertThat(texts(outputs.get(0).path("parameters").path("labels")))
        .containsExactly("malignant", "benign");
    assertThat(outputs.get(1).path("name").asText()).isEqualTo("probabilities");
    assertThat(outputs.get(1).path("datatype").asText()).isEqualTo("FP32");
    assertThat(outputs.get(1).path("shape").toString()).isEqualTo("[-1,2]");
  }

  @Test
  void modelMetadata_lstmVersion1_describesVersion() {
    var r = server.get("/v2/models/" + LSTM + "/versions/1");
    assertThat(r.status()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("name").asText()).isEqualTo(LSTM);
    assertThat(body.path("inputs").get(0).path("shape").toString()).isEqualTo("[-1,30,1]");
    assertThat(body.path("outputs").get(0).path("name").asText()).isEqualTo("output");
    assertThat(body.path("outputs").get(0).path("shape").toString()).isEqualTo("[-1,1]");
  }

  @Test
  void modelReady_loadedModel_isReady() {
    var r = server.get("/v2/models/" + RF + "/ready");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().path("ready").asBoolean()).isTrue();
  }

  @Test
  void modelVersionReady_loadedVersion_isReady() {
    var r = server.get("/v2/models/" + LSTM + "/versions/1/ready");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().path("ready").asBoolean()).isTrue();
  }

  @Test
  void infer_rfAllRowsFlatData_matchesSklearn() {
    var r = server.post("/v2/models/" + RF + "/infer", rf.v2FlatRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("model_name").asText()).isEqualTo(RF);
    assertThat(body.path("model_version").asText()).isEqualTo("1");
    JsonNode label = output(body, "label");
    assertThat(label.path("datatype").asText()).isEqualTo("INT64");
    assertThat(label.path("shape").toString()).isEqualTo("[20]");
    rf.assertOutput("label", label.path("data"));
    JsonNode probabilities = output(body, "probabilities");
    assertThat(probabilities.path("datatype").asText()).isEqualTo("FP32");
    assertThat(probabilities.path("shape").toString()).isEqualTo("[20,2]");
    rf.assertOutput("probabilities", probabilities.path("data"));
  }

  @Test
  void infer_rfNestedData_matchesSklearn() {
    var r = server.post("/v2/models/" + RF + "/infer", rf.v2NestedRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    rf.assertOutput("label", output(r.json(), "label").path("data"));
    rf.assertOutput("probabilities", output(r.json(), "probabilities").path("data"));
  }

  @Test
  void infer_lstmNestedData_matchesTorch() {
    var r = server.post("/v2/models/" + LSTM + "/infer", lstm.v2NestedRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    JsonNode out = output(r.json(), "output");
    assertThat(out.path("shape").toString()).isEqualTo("[8,1]");
    lstm.assertOutput("output", out.path("data"));
  }

  @Test
  void infer_outputsSelected_returnsOnlyThoseOutputs() {
    ObjectNode req = rf.v2FlatRequest();
    req.putArray("outputs").addObject().put("name", "probabilities");
    var r = server.post("/v2/models/" + RF + "/infer", req);
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    JsonNode outputs = r.json().path("outputs");
    assertThat(outputs).hasSize(1);
    assertThat(outputs.get(0).path("name").asText()).isEqualTo("probabilities");
    rf.assertOutput("probabilities", outputs.get(0).path("data"));
  }

  @Test
  void infer_withId_echoesId() {
    ObjectNode req = rf.v2FlatRequest();
    req.put("id", "req-42");
    var r = server.post("/v2/models/" + RF + "/infer", req);
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json().path("id").asText()).isEqualTo("req-42");
  }

  @Test
  void infer_clientRequestId_isEchoedInHeader() {
    var r =
        server.send(
            server
                .request("/v2/models/" + RF + "/infer")
                .header("Content-Type", "application/json")
                .header("X-Request-Id", "trace-123")
                .POST(HttpRequest.BodyPublishers.ofString(rf.v2FlatRequest().toString())));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.headers().firstValue("X-Request-Id")).hasValue("trace-123");
  }

  @Test
  void infer_unknownParameters_areAccepted() {
    ObjectNode req = rf.v2FlatRequest();
    req.putObject("parameters").put("sequence_id", 7).put("priority", 1).put("custom", "x");
    ((ObjectNode) req.path("inputs").get(0)).putObject("parameters").put("whatever", true);
    req.put("extra_top_level_field", "ignored");
    var r = server.post("/v2/models/" + RF + "/infer", req);
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    rf.assertOutput("label", output(r.json(), "label").path("data"));
  }

  @Test
  void infer_versionInPath_usesThatVersion() {
    var r = server.post("/v2/models/" + LSTM + "/versions/1/infer", lstm.v2FlatRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json().path("model_version").asText()).isEqualTo("1");
    lstm.assertOutput("output", output(r.json(), "output").path("data"));
  }

  static JsonNode output(JsonNode response, String name) {
    for (JsonNode o : response.path("outputs")) {
      if (o.path("name").asText().equals(name)) {
        return o;
      }
    }
    throw new AssertionError("no output '" + name + "' in " + response);
  }

  static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
