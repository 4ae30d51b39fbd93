package dev.kiln.server;

import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo ensemble over real members of two runtimes: breast-cancer-rf (ONNX Runtime) and
 * breast-cancer-xgb (kiln-trees), combined by mean over {@code probabilities}. Each member matches
 * its own reference in its own tests; here the ensemble must equal the mean of what the members
 * answer over HTTP for the same rows.
 */
class EnsembleIT {
  private static final String ENSEMBLE = "breast-cancer-ensemble";
  private static final String XGB = "breast-cancer-xgb";

  @TempDir Path repository;

  private static double[] output(JsonNode reply, String name) {
    for (JsonNode o : reply.get("outputs")) {
      if (o.get("name").asText().equals(name)) {
        return Fixture.flatten(o.get("data"));
      }
    }
    throw new AssertionError("no output " + name + " in " + reply);
  }

  private static JsonNode infer(TestServer server, String model, Fixture rows) {
    TestServer.Reply r =
        server.post(
            "/v2/models/" + model + "/infer", Fixture.v2Request(rows.inputShape(), rows.input()));
    assertThat(r.status()).as("%s: %s", model, r.text()).isEqualTo(200);
    return r.json();
  }

  @Test
  void infer_meanEnsemble_equalsTheMeanOfItsMembersAnswers() {
    Fixture rows = Fixture.load(Fixture.RF);
    try (var server = TestServer.withModels(repository, Map.of(), Fixture.RF, XGB, ENSEMBLE)) {
      double[] rf = output(infer(server, Fixture.RF, rows), "probabilities");
      double[] xgb = output(infer(server, XGB, rows), "probabilities");
      JsonNode ensemble = infer(server, ENSEMBLE, rows);

      double[] mean = output(ensemble, "probabilities");
      double[] label = output(ensemble, "label");
      assertThat(mean).hasSize(2 * rows.rows());
      for (int i = 0; i < mean.length; i++) {
        assertThat(mean[i]).isCloseTo((rf[i] + xgb[i]) / 2, within(1e-6));
      }
      for (int r = 0; r < rows.rows(); r++) {
        assertThat(label[r]).isEqualTo(mean[2 * r + 1] > mean[2 * r] ? 1.0 : 0.0);
      }
    }
  }

  @Test
  void metadata_ensemble_describesTheWhole() {
    try (var server = TestServer.withModels(repository, Map.of(), Fixture.RF, XGB, ENSEMBLE)) {
      JsonNode meta = server.get("/v2/models/" + ENSEMBLE).json();

      assertThat(meta.get("platform").asText()).isEqualTo("ensemble");
      assertThat(meta.get("inputs").get(0).get("name").asText()).isEqualTo("input");
      assertThat(meta.get("inputs").get(0).get("shape").toString()).isEqualTo("[-1,30]");
      assertThat(meta.get("outputs").findValuesAsText("name"))
          .containsExactly("probabilities", "label");
      assertThat(server.get("/v2/health/ready").status()).isEqualTo(200);
    }
  }

  @Test
  void infer_memberUnloaded_failsNamingTheMember() {
    Fixture rows = Fixture.load(Fixture.RF);
    var explicit = Map.of("repository.model-control", "explicit", "repository.load-models", "*");
    try (var server = TestServer.withModels(repository, explicit, Fixture.RF, XGB, ENSEMBLE)) {
      infer(server, ENSEMBLE, rows);
      assertThat(server.post("/v2/repository/models/" + XGB + "/unload", "").status())
          .isEqualTo(200);

      TestServer.Reply r =
          server.post(
              "/v2/models/" + ENSEMBLE + "/infer",
              Fixture.v2Request(rows.inputShape(), rows.input()));

      assertProblem(r, 503, "member '" + XGB + "'", "not ready");
    }
  }
}
