package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static dev.kiln.server.RepositoryIT.NAME;
import static dev.kiln.server.RepositoryIT.STATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --model-control=explicit}: only the models named at startup load; the rest wait for a load
 * call, and unload takes a model out of service. Each test gets its own server.
 */
class ExplicitModelControlIT {
  @TempDir Path repository;
  TestServer server;
  Fixture lstm = Fixture.load(LSTM);

  @BeforeEach
  void start() {
    server =
        TestServer.withModels(
            repository,
            Map.of("repository.model-control", "explicit", "repository.load-models", RF),
            RF,
            LSTM);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void index_modelNotNamedAtStartup_isListedNotLoaded() {
    JsonNode index = server.post("/v2/repository/index", "").json();
    assertThat(index)
        .extracting(NAME, STATE)
        .containsExactlyInAnyOrder(tuple(RF, "READY"), tuple(LSTM, "UNAVAILABLE"));
    JsonNode lstmEntry = entry(index, LSTM);
    assertThat(lstmEntry.has("version")).isFalse();
    assertThat(lstmEntry.path("reason").asText()).contains("not loaded");
  }

  @Test
  void index_readyOnly_omitsModelNotLoaded() {
    JsonNode index = server.post("/v2/repository/index", "{\"ready\": true}").json();
    assertThat(index).extracting(NAME).containsExactly(RF);
  }

  @Test
  void healthReady_modelNotLoadedOnPurpose_isReady() {
    assertThat(server.get("/v2/health/ready").status()).isEqualTo(200);
  }

  @Test
  void infer_modelNotLoaded_is503() {
    assertProblem(server.post(inferPath(), lstm.v2FlatRequest()), 503, LSTM, "not loaded");
  }

  @Test
  void load_modelNotLoaded_servesIt() {
    var load = server.post("/v2/repository/models/" + LSTM + "/load", "");
    assertThat(load.status()).as("%s", load).isEqualTo(200);

    var r = server.post(inferPath(), lstm.v2FlatRequest());

    assertThat(r.status()).as("%s", r).isEqualTo(200);
    lstm.assertOutput("output", V2ProtocolIT.output(r.json(), "output").path("data"));
  }

  @Test
  void load_modelNotInRepository_is404() {
    assertProblem(server.post("/v2/repository/models/nope/load", ""), 404, "'nope'");
  }

  @Test
  void unload_loadedModel_stopsServingIt() {
    assertThat(server.post("/v2/repository/models/" + LSTM + "/load", "").status()).isEqualTo(200);
    assertThat(server.post(inferPath(), lstm.v2FlatRequest()).status()).isEqualTo(200);

    var unload = server.post("/v2/repository/models/" + LSTM + "/unload", "");

    assertThat(unload.status()).as("%s", unload).isEqualTo(200);
    assertProblem(server.post(inferPath(), lstm.v2FlatRequest()), 503, LSTM, "unloaded");
    assertThat(server.get("/v2/models/" + LSTM + "/ready").status()).isEqualTo(503);
  }

  @Test
  void unload_thenLoad_servesAgain() {
    assertThat(server.post("/v2/repository/models/" + RF + "/unload", "").status()).isEqualTo(200);
    assertThat(server.post("/v2/repository/models/" + RF + "/load", "").status()).isEqualTo(200);

    var r = server.post("/v2/models/" + RF + "/infer", Fixture.load(RF).v2FlatRequest());

    assertThat(r.status()).as("%s", r).isEqualTo(200);
  }

  private static String inferPath() {
    return "/v2/models/" + LSTM + "/infer";
  }

  static JsonNode entry(JsonNode index, String name) {
    for (JsonNode n : index) {
      if (n.path("name").asText().equals(name)) {
        return n;
      }
    }
    throw new AssertionError("no " + name + " in " + index);
  }
}
