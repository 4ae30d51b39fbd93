package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.StringJoiner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every client mistake is a 4xx RFC 9457 problem whose detail names what was wrong, and none of
 * them disturbs the server.
 */
class ProblemResponsesIT {
  private static final String INFER = "/v2/models/" + RF + "/infer";

  @TempDir static Path repository;
  static TestServer server;
  static Fixture rf;

  @BeforeAll
  static void start() {
    server = TestServer.withModels(repository, Map.of(), RF, LSTM);
    rf = Fixture.load(RF);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void infer_unknownModel_is404NamingModel() {
    assertProblem(server.post("/v2/models/nope/infer", oneRow()), 404, "'nope'");
  }

  @Test
  void metadata_unknownModel_is404NamingModel() {
    assertProblem(server.get("/v2/models/nope"), 404, "'nope'");
  }

  @Test
  void infer_unknownVersion_is404NamingVersion() {
    assertProblem(
        server.post("/v2/models/" + RF + "/versions/7/infer", oneRow()), 404, RF, "version 7");
  }

  @Test
  void metadata_unknownVersion_is404NamingVersion() {
    assertProblem(server.get("/v2/models/" + RF + "/versions/7"), 404, RF, "version 7");
  }

  @Test
  void infer_unknownOutputRequested_is400NamingOutput() {
    ObjectNode req = oneRow();
    req.putArray("outputs").addObject().put("name", "nope");
    assertProblem(server.post(INFER, req), 400, "outputs", "'nope'");
  }

  @Test
  void infer_malformedJson_is400() {
    assertProblem(
        server.post(INFER, "{\"inputs\": [{\"name\": \"input\", "), 400, "malformed JSON");
  }

  @Test
  void infer_wrongInputName_is400NamingInput() {
    ObjectNode req = oneRow();
    ((ObjectNode) req.path("inputs").get(0)).put("name", "wrong");
    assertProblem(server.post(INFER, req), 400, "'wrong'");
  }

  @Test
  void infer_wrongShape_is400NamingShape() {
    ArrayNode data = TestServer.MAPPER.createArrayNode();
    for (int i = 0; i < 29; i++) {
      data.add(rf.input().get(0).get(i));
    }
    var req = Fixture.v2Request(new long[] {1, 29}, data);
    assertProblem(server.post(INFER, req), 400, "inputs.input.shape", "[1, 29]");
  }

  @Test
  void infer_wrongDatatype_is400NamingDatatype() {
    ObjectNode req = oneRow();
    ((ObjectNode) req.path("inputs").get(0)).put("datatype", "FP64");
    assertProblem(server.post(INFER, req), 400, "inputs.input.datatype", "FP32", "FP64");
  }

  @Test
  void infer_elementCountDiffersFromShape_is400NamingData() {
    ObjectNode req = oneRow();
    ((ArrayNode) req.path("inputs").get(0).path("data")).remove(29);
    assertProblem(server.post(INFER, req), 400, "inputs.input.data", "29", "30");
  }

  @Test
  void infer_nanLiteralInData_is400NamingElement() {
    var data = new StringJoiner(", ", "[", "]");
    data.add("NaN");
    for (int i = 1; i < 30; i++) {
      data.add(rf.input().get(0).get(i).toString());
    }
    String json =
        "{\"inputs\": [{\"name\": \"input\", \"datatype\": \"FP32\", \"shape\": [1, 30],"
            + " \"data\": "
            + data
            + "}]}";
    assertProblem(server.post(INFER, json), 400, "inputs.input.data[0]", "NaN");
  }

  @Test
  void infer_noInputs_is400NamingInputs() {
    assertProblem(server.post(INFER, "{\"inputs\": []}"), 400, "inputs");
  }

  @Test
  void infer_headerLengthBeyondBody_is400NamingHeader() {
    byte[] body = oneRow().toString().getBytes(StandardCharsets.UTF_8);
    var r =
        server.postBytes(
            INFER, body, "Inference-Header-Content-Length", Integer.toString(body.length + 10));
    assertProblem(r, 400, "Inference-Header-Content-Length");
  }

  @Test
  void index_malformedBody_is400() {
    assertProblem(server.post("/v2/repository/index", "{\"ready\": "), 400, "malformed JSON");
  }

  @Test
  void predictV1_noInstances_is400NamingInstances() {
    assertProblem(
        server.post("/v1/models/" + RF + ":predict", "{\"instances\": []}"), 400, "instances");
  }

  @Test
  void predictV1_unknownFeature_is400NamingFeature() {
    ObjectNode req = TestServer.MAPPER.createObjectNode();
    ObjectNode row = req.putArray("instances").addObject();
    var features =
        server
            .get("/v2/models/" + RF)
            .json()
            .path("inputs")
            .get(0)
            .path("parameters")
            .path("features");
    for (int i = 0; i < 30; i++) {
      row.set(features.get(i).asText(), rf.input().get(0).get(i));
    }
    row.put("bogus", 1.0);
    assertProblem(server.post("/v1/models/" + RF + ":predict", req), 400, "'bogus'");
  }

  @Test
  void predictV1_rowOfWrongLength_is400NamingRow() {
    ObjectNode req = TestServer.MAPPER.createObjectNode();
    ArrayNode rows = req.putArray("instances");
    rows.add(rf.input().get(0).deepCopy());
    ArrayNode shortRow = rows.addArray();
    for (int i = 0; i < 29; i++) {
      shortRow.add(rf.input().get(1).get(i));
    }
    assertProblem(server.post("/v1/models/" + RF + ":predict", req), 400, "instances[1]", "30");
  }

  @Test
  void predictV1_unknownModel_is404NamingModel() {
    assertProblem(
        server.post("/v1/models/nope:predict", "{\"instances\": [[1.0]]}"), 404, "'nope'");
  }

  @Test
  void get_unknownRoute_is404NamingPath() {
    var reply = server.get("/v3/nothing/here");
    assertProblem(reply, 404, "GET", "/v3/nothing/here");
    assertThat(reply.json().path("title").asText()).isEqualTo("Not found");
  }

  @Test
  void post_onModelMetadataRoute_is405AllowingGet() {
    var reply = server.post("/v2/models/" + RF, oneRow());
    assertProblem(reply, 405, "POST", "/v2/models/" + RF);
    assertThat(reply.headers().firstValue("Allow")).hasValue("GET");
  }

  @Test
  void get_onInferRoute_is405AllowingPost() {
    var reply = server.get(INFER);
    assertProblem(reply, 405, "GET", INFER);
    assertThat(reply.headers().firstValue("Allow")).hasValue("POST");
  }

  @Test
  void infer_afterEveryKindOfBadRequest_stillServesCorrectly() {
    ObjectNode wrongName = oneRow();
    ((ObjectNode) wrongName.path("inputs").get(0)).put("name", "wrong");
    assertThat(server.post("/v2/models/nope/infer", oneRow()).status()).isEqualTo(404);
    assertThat(server.post(INFER, "{not json").status()).isEqualTo(400);
    assertThat(server.post(INFER, "").status()).isEqualTo(400);
    assertThat(server.post(INFER, "[]").status()).isEqualTo(400);
    assertThat(server.post(INFER, wrongName).status()).isEqualTo(400);
    assertThat(
            server.postBytes(INFER, new byte[] {1, 2, 3}, "Inference-Header-Content-Length", "9"))
        .extracting(TestServer.Reply::status)
        .isEqualTo(400);
    assertThat(server.post("/v1/models/" + RF + ":predict", "{\"instances\": []}").status())
        .isEqualTo(400);
    assertThat(server.get("/v3/nothing").status()).isEqualTo(404);

    var r = server.post(INFER, rf.v2FlatRequest());

    assertThat(r.status()).as("%s", r).isEqualTo(200);
    rf.assertOutput("label", V2ProtocolIT.output(r.json(), "label").path("data"));
    rf.assertOutput("probabilities", V2ProtocolIT.output(r.json(), "probabilities").path("data"));
  }

  /** A valid request for the fixture's first row. */
  private static ObjectNode oneRow() {
    ArrayNode data = TestServer.MAPPER.createArrayNode();
    rf.input().get(0).forEach(data::add);
    return Fixture.v2Request(new long[] {1, 30}, data);
  }
}
