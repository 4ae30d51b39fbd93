package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /health} on a server whose models all loaded. */
class HealthIT {
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
  void health_allModelsLoaded_isOkWithVersionAndUptime() {
    var r = server.get("/health");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.contentType()).startsWith("application/json");
    JsonNode body = r.json();
    assertThat(body.path("status").asText()).isEqualTo("ok");
    assertThat(body.path("version").asText()).isEqualTo(KilnServer.version()).isNotBlank();
    assertThat(body.path("uptime_seconds").isNumber()).isTrue();
    assertThat(body.path("uptime_seconds").asDouble()).isGreaterThanOrEqualTo(0);
  }

  @Test
  void health_allModelsLoaded_countsThemLoaded() {
    JsonNode models = server.get("/health").json().path("models");
    assertThat(models.path("loaded").asInt()).isEqualTo(2);
    assertThat(models.path("failed").asInt()).isZero();
    var names = new java.util.ArrayList<String>();
    models.path("versions").forEach(v -> names.add(v.path("name").asText()));
    assertThat(names).containsExactlyInAnyOrder(RF, LSTM);
  }

  @Test
  void health_noExternalServices_reportsDependenciesDisabled() {
    JsonNode deps = server.get("/health").json().path("dependencies");
    assertThat(deps.path("redis").asText()).isEqualTo("disabled");
    assertThat(deps.path("database").asText()).isEqualTo("disabled");
  }
}
