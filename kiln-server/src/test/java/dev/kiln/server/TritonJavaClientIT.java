package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import triton.client.InferInput;
import triton.client.InferRequestedOutput;
import triton.client.InferResult;
import triton.client.InferenceServerClient;
import triton.client.InferenceServerClient.InferArguments;
import triton.client.pojo.DataType;

/**
 * A third-party Triton HTTP client (org.wyona.triton.client, the Java client from Triton's client
 * repository) against Kiln: proves the binary tensor extension interoperates, not only that Kiln
 * agrees with its own reading of the spec.
 */
class TritonJavaClientIT {
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
  void infer_binaryInputAndOutputs_matchesSklearn() throws Exception {
    try (var client = client()) {
      var input = new InferInput("input", rf.inputShape(), DataType.FP32);
      input.setData(rf.flatInput(), true);
      var outputs =
          List.of(
              new InferRequestedOutput("label", true),
              new InferRequestedOutput("probabilities", true));

      InferResult result = client.infer(new InferArguments(RF, List.of(input), outputs));

      rf.assertOutput("label", Fixture.toDoubles(result.getOutputAsLong("label")));
      rf.assertOutput("probabilities", Fixture.toDoubles(result.getOutputAsFloat("probabilities")));
    }
  }

  @Test
  void infer_jsonInputAndOutputWithVersion_matchesTorch() throws Exception {
    try (var client = client()) {
      var input = new InferInput("input", lstm.inputShape(), DataType.FP32);
      input.setData(lstm.flatInput(), false);
      var outputs = List.of(new InferRequestedOutput("output", false));

      InferResult result =
          client.infer(
              new InferArguments(LSTM, List.of(input), outputs)
                  .setModelVersion("1")
                  .setRequestId("triton-client-1"));

      assertThat(result.getResponse().getId()).isEqualTo("triton-client-1");
      lstm.assertOutput("output", Fixture.toDoubles(result.getOutputAsFloat("output")));
    }
  }

  private static InferenceServerClient client() throws Exception {
    // Connect and read timeouts in ms: a hung server fails the test instead of hanging it.
    return new InferenceServerClient("127.0.0.1:" + server.port(), 5_000, 30_000);
  }
}
