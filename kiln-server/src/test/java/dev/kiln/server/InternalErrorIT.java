package dev.kiln.server;

import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.onnx.OnnxRuntime;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An unexpected failure is a 500 whose detail is generic: the request id, not the exception. */
class InternalErrorIT {
  private static final String FAILING = "failing";
  private static final String REQUEST =
      "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\","
          + " \"shape\": [1, 2], \"data\": [1.0, 2.0]}]}";

  @TempDir static Path repository;
  static TestServer server;

  @BeforeAll
  static void start() throws IOException {
    TestServer.copyModels(repository, RF);
    Path model = repository.resolve(FAILING);
    Files.createDirectories(model.resolve("1"));
    Files.writeString(model.resolve("1/weights.bin"), "not used");
    Files.writeString(model.resolve("config.yaml"), "backend: " + FailingRuntime.NAME + "\n");
    server =
        TestServer.start(repository, Map.of(), List.of(new OnnxRuntime(), new FailingRuntime()));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void infer_runtimeThrows_is500WithGenericDetail() {
    var r = server.post("/v2/models/" + FAILING + "/infer", REQUEST);

    JsonNode problem = assertProblem(r, 500);
    String requestId = r.headers().firstValue("X-Request-Id").orElseThrow();
    assertThat(problem.path("requestId").asText()).isEqualTo(requestId);
    assertThat(problem.path("detail").asText())
        .contains(requestId)
        .doesNotContain(FailingRuntime.SECRET)
        .doesNotContain("IllegalStateException");
    assertThat(r.text()).doesNotContain(FailingRuntime.SECRET);
  }

  @Test
  void infer_runtimeThrowsWithClientRequestId_detailNamesThatId() {
    var r =
        server.send(
            server
                .request("/v2/models/" + FAILING + "/infer")
                .header("Content-Type", "application/json")
                .header("X-Request-Id", "it-500-check")
                .POST(HttpRequest.BodyPublishers.ofString(REQUEST)));

    assertProblem(r, 500, "it-500-check");
    assertThat(r.text()).doesNotContain(FailingRuntime.SECRET);
  }

  @Test
  void infer_otherModelAfterA500_isServed() {
    assertThat(server.post("/v2/models/" + FAILING + "/infer", REQUEST).status()).isEqualTo(500);
    var r = server.post("/v2/models/" + RF + "/infer", Fixture.load(RF).v2FlatRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
  }
}
