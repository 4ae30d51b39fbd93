package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Triton's binary tensor data extension, spoken byte by byte as Triton's own clients do: a JSON
 * header of {@code Inference-Header-Content-Length} bytes, then raw little-endian tensors, and no
 * Content-Type at all.
 */
class BinaryTensorIT {
  private static final String HEADER = "Inference-Header-Content-Length";

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
  void infer_binaryInputWithoutContentType_matchesSklearn() {
    var r = sendBinary(RF, rf, binaryRequest(rf));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.headers().firstValue(HEADER)).isEmpty();
    JsonNode body = r.json();
    rf.assertOutput("label", V2ProtocolIT.output(body, "label").path("data"));
    rf.assertOutput("probabilities", V2ProtocolIT.output(body, "probabilities").path("data"));
  }

  @Test
  void infer_binaryOutputsRequested_returnsLittleEndianTensors() {
    ObjectNode req = binaryRequest(rf);
    var outputs = req.putArray("outputs");
    outputs.addObject().put("name", "label").putObject("parameters").put("binary_data", true);
    outputs
        .addObject()
        .put("name", "probabilities")
        .putObject("parameters")
        .put("binary_data", true);

    var r = sendBinary(RF, rf, req);

    assertThat(r.status()).as("%s", r).isEqualTo(200);
    Map<String, byte[]> tensors = splitBinary(r);
    assertThat(tensors).containsOnlyKeys("label", "probabilities");
    byte[] label = tensors.get("label");
    rf.assertOutput("label", Fixture.toDoubles(Fixture.longsLittleEndian(label, 0, label.length)));
    byte[] probs = tensors.get("probabilities");
    rf.assertOutput(
        "probabilities", Fixture.toDoubles(Fixture.floatsLittleEndian(probs, 0, probs.length)));
  }

  @Test
  void infer_oneOutputBinaryOneJson_returnsEachAsAsked() {
    ObjectNode req = binaryRequest(rf);
    var outputs = req.putArray("outputs");
    outputs.addObject().put("name", "label");
    outputs
        .addObject()
        .put("name", "probabilities")
        .putObject("parameters")
        .put("binary_data", true);

    var r = sendBinary(RF, rf, req);

    assertThat(r.status()).as("%s", r).isEqualTo(200);
    int jsonLength = Integer.parseInt(r.headers().firstValue(HEADER).orElseThrow());
    JsonNode header = parse(r.body(), jsonLength);
    JsonNode label = V2ProtocolIT.output(header, "label");
    assertThat(label.has("data")).isTrue();
    assertThat(label.path("parameters").has("binary_data_size")).isFalse();
    rf.assertOutput("label", label.path("data"));
    JsonNode probs = V2ProtocolIT.output(header, "probabilities");
    assertThat(probs.has("data")).isFalse();
    int size = probs.path("parameters").path("binary_data_size").asInt();
    assertThat(jsonLength + size).isEqualTo(r.body().length);
    rf.assertOutput(
        "probabilities", Fixture.toDoubles(Fixture.floatsLittleEndian(r.body(), jsonLength, size)));
  }

  @Test
  void infer_binaryDataOutputParameter_returnsEveryOutputBinary() {
    ObjectNode req = binaryRequest(lstm);
    req.putObject("parameters").put("binary_data_output", true);

    var r = sendBinary(LSTM, lstm, req);

    assertThat(r.status()).as("%s", r).isEqualTo(200);
    Map<String, byte[]> tensors = splitBinary(r);
    byte[] out = tensors.get("output");
    lstm.assertOutput("output", Fixture.toDoubles(Fixture.floatsLittleEndian(out, 0, out.length)));
  }

  @Test
  void infer_binaryDataSizeDisagreesWithShape_is400NamingSize() {
    ObjectNode req = binaryRequest(rf);
    var shape = ((ObjectNode) req.path("inputs").get(0)).putArray("shape");
    shape.add(19).add(30);
    // The body still carries 20 rows: the declared size no longer matches the shape.
    ProblemAssert.assertProblem(
        sendBinary(RF, rf, req), 400, "inputs.input.parameters.binary_data_size");
  }

  /** A request header for the fixture's input sent as binary data, before any outputs. */
  static ObjectNode binaryRequest(Fixture fixture) {
    ObjectNode req = TestServer.MAPPER.createObjectNode();
    ObjectNode in = req.putArray("inputs").addObject();
    in.put("name", "input").put("datatype", "FP32");
    var shape = in.putArray("shape");
    for (long d : fixture.inputShape()) {
      shape.add(d);
    }
    in.putObject("parameters").put("binary_data_size", fixture.flatInput().length * 4);
    return req;
  }

  /** Sends JSON header + the fixture's input as little-endian FP32, with no Content-Type. */
  static TestServer.Reply sendBinary(String model, Fixture fixture, ObjectNode header) {
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    byte[] body = concat(json, Fixture.littleEndian(fixture.flatInput()));
    return server.postBytes(
        "/v2/models/" + model + "/infer", body, HEADER, Integer.toString(json.length));
  }

  /** Reads a binary response: checks its header, returns each binary output's bytes by name. */
  static Map<String, byte[]> splitBinary(TestServer.Reply r) {
    int jsonLength = Integer.parseInt(r.headers().firstValue(HEADER).orElseThrow());
    JsonNode header = parse(r.body(), jsonLength);
    Map<String, byte[]> out = new LinkedHashMap<>();
    int at = jsonLength;
    for (JsonNode o : header.path("outputs")) {
      assertThat(o.has("data")).as("binary output %s has no JSON data", o).isFalse();
      int size = o.path("parameters").path("binary_data_size").asInt(-1);
      assertThat(size).as("binary_data_size of %s", o).isPositive();
      byte[] b = new byte[size];
      System.arraycopy(r.body(), at, b, 0, size);
      out.put(o.path("name").asText(), b);
      at += size;
    }
    assertThat(at).as("binary outputs fill the body exactly").isEqualTo(r.body().length);
    return out;
  }

  static JsonNode parse(byte[] body, int length) {
    try {
      return TestServer.MAPPER.readTree(body, 0, length);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] concat(byte[] a, byte[] b) {
    var out = new ByteArrayOutputStream(a.length + b.length);
    out.writeBytes(a);
    out.writeBytes(b);
    return out.toByteArray();
  }
}
