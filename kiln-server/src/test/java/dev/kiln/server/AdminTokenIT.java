package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With {@code server.admin-token} set, repository load and unload need the bearer token. */
class AdminTokenIT {
  private static final String LOAD = "/v2/repository/models/" + LSTM + "/load";

  @TempDir static Path repository;
  static TestServer server;

  @BeforeAll
  static void start() {
    server =
        TestServer.withModels(
            repository,
            Map.of(
                "repository.model-control", "explicit",
                "repository.load-models", RF,
                "server.admin-token", "s3cret"),
            RF,
            LSTM);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void load_withoutAuthorization_is401() {
    assertProblem(server.post(LOAD, ""), 401, "Authorization");
  }

  @Test
  void load_wrongToken_is401() {
    assertProblem(server.send(load("Bearer wrong")), 401, "Authorization");
  }

  @Test
  void load_tokenWithoutBearerScheme_is401() {
    assertProblem(server.send(load("s3cret")), 401, "Authorization");
  }

  @Test
  void unload_withoutAuthorization_is401AndModelKeepsServing() {
    assertProblem(server.post("/v2/repository/models/" + RF + "/unload", ""), 401);
    assertThat(server.get("/v2/models/" + RF + "/ready").status()).isEqualTo(200);
  }

  @Test
  void load_bearerToken_is200() {
    var r = server.send(load("Bearer s3cret"));
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(server.get("/v2/models/" + LSTM + "/ready").status()).isEqualTo(200);
  }

  private static HttpRequest.Builder load(String authorization) {
    return server
        .request(LOAD)
        .header("Authorization", authorization)
        .POST(HttpRequest.BodyPublishers.noBody());
  }
}
