package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A heavy stock-lstm request: 4000 windows of 30 prices (the fixture's 8 windows first, then
 * synthetic ones), sent as binary tensor data, with the output asked for as binary too. It really
 * computes (20000 windows took ONNX Runtime about 0.9 s on two cores) yet keeps the suite fast.
 */
final class LstmBatch {
  static final int WINDOWS = 4_000;
  private static final int STEPS = 30;

  private final Fixture lstm = Fixture.load(Fixture.LSTM);
  private final byte[] body;
  private final int headerLength;

  LstmBatch() {
    float[] data = new float[WINDOWS * STEPS];
    float[] fixture = lstm.flatInput();
    System.arraycopy(fixture, 0, data, 0, fixture.length);
    for (int w = lstm.rows(); w < WINDOWS; w++) {
      // A wobbly trend normalised as the model expects: divided by the window's last price.
      double last = 100 + 10 * Math.sin(w + STEPS - 1);
      for (int t = 0; t < STEPS; t++) {
        data[w * STEPS + t] = (float) ((100 + 10 * Math.sin(w + t)) / last);
      }
    }
    String header =
        "{\"inputs\": [{\"name\": \"input\", \"datatype\": \"FP32\", \"shape\": ["
            + WINDOWS
            + ", 30, 1], \"parameters\": {\"binary_data_size\": "
            + data.length * 4
            + "}}], \"outputs\": [{\"name\": \"output\", \"parameters\": {\"binary_data\": true}}]}";
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    this.headerLength = json.length;
    this.body = BinaryTensorIT.concat(json, Fixture.littleEndian(data));
  }

  TestServer.Reply send(TestServer server, String model) {
    return server.postBytes(
        "/v2/models/" + model + "/infer",
        body,
        "Inference-Header-Content-Length",
        Integer.toString(headerLength));
  }

  /** A full answer: 200, shape [WINDOWS, 1], the fixture rows as torch computed them. */
  void assertAnswered(TestServer.Reply r) {
    assertThat(r.status()).as("%s", r.status() == 200 ? "200" : r.text()).isEqualTo(200);
    int jsonLength =
        Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode header = BinaryTensorIT.parse(r.body(), jsonLength);
    JsonNode out = V2ProtocolIT.output(header, "output");
    assertThat(out.path("shape").toString()).isEqualTo("[" + WINDOWS + ",1]");
    float[] values = Fixture.floatsLittleEndian(r.body(), jsonLength, r.body().length - jsonLength);
    assertThat(values).hasSize(WINDOWS);
    double[] first = Fixture.toDoubles(Arrays.copyOf(values, lstm.rows()));
    assertThat(first).containsExactly(lstm.expected("output"), within(lstm.tolerance()));
    for (float v : values) {
      assertThat(Float.isFinite(v)).isTrue();
    }
  }
}
