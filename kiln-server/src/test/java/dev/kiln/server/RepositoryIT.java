package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.assertj.core.api.iterable.ThrowingExtractor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Triton's repository extension in the default model-control mode (none): read-only. */
class RepositoryIT {
  static final ThrowingExtractor<JsonNode, String, RuntimeException> NAME =
      n -> n.path("name").asText();
  static final ThrowingExtractor<JsonNode, String, RuntimeException> VERSION =
      n -> n.path("version").asText();
  static final ThrowingExtractor<JsonNode, String, RuntimeException> STATE =
      n -> n.path("state").asText();

  @TempDir static Path repository;
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.withModels(repository, Map.of(), RF, LSTM);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void index_defaultMode_listsEveryModelReady() {
    var r = server.post("/v2/repository/index", "");
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json())
        .extracting(NAME, VERSION, STATE)
        .containsExactlyInAnyOrder(tuple(RF, "1", "READY"), tuple(LSTM, "1", "READY"));
  }

  @Test
  void index_readyOnly_listsReadyModels() {
    var r = server.post("/v2/repository/index", "{\"ready\": true}");
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json())
        .extracting(NAME, STATE)
        .containsExactlyInAnyOrder(tuple(RF, "READY"), tuple(LSTM, "READY"));
  }

  @Test
  void load_defaultMode_is409() {
    assertProblem(server.post("/v2/repository/models/" + LSTM + "/load", ""), 409, "explicit");
  }

  @Test
  void unload_defaultMode_is409AndModelKeepsServing() {
    assertProblem(server.post("/v2/repository/models/" + LSTM + "/unload", ""), 409, "explicit");
    assertThat(server.get("/v2/models/" + LSTM + "/ready").status()).isEqualTo(200);
  }
}
