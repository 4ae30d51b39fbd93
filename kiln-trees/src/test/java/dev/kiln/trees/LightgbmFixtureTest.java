package dev.kiln.trees;

import static dev.kiln.trees.XgbFixtures.floats;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.model.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every LightGBM fixture ({@code tools/fixtures/lightgbm/MakeLightgbmFixtures.java}, lightgbmlib
 * 3.3.510) against the raw scores and predictions of the library itself.
 */
class LightgbmFixtureTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Path dir(String name) {
    try {
      return Path.of(LightgbmFixtureTest.class.getResource("/lightgbm/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static JsonNode expected(String name) {
    try {
      return JSON.readTree(dir(name).resolve("expected.json").toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static LightgbmModel load(String name) {
    return new LightgbmModel(
        name, TreeRuntime.readLightgbm(dir(name).resolve(TreeRuntime.LIGHTGBM_FILE)));
  }

  static Map<String, Tensor> run(LightgbmModel model, Tensor rows) {
    return model.execute(List.of(XgbFixtures.request(rows))).getFirst().orThrow();
  }

  /** 1e-6 relative (absolute below 1), against LightGBM's doubles. */
  static void assertClose(float[] actual, JsonNode expected, String what) {
    float[] e = floats(expected);
    double[] d = new double[e.length];
    for (int i = 0; i < d.length; i++) {
      d[i] = expected.get(i).asDouble();
    }
    assertThat(actual).as("%s length", what).hasSize(d.length);
    for (int i = 0; i < d.length; i++) {
      assertThat((double) actual[i])
          .as("%s[%d]", what, i)
          .isCloseTo(d[i], within(1e-6 * Math.max(1.0, Math.abs(d[i]))));
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "binary_breast_cancer",
        "multiclass_iris",
        "regression_diabetes",
        "regression_l1_diabetes",
        "categorical"
      })
  void execute_fixtureRows_rawScoresMatchLightgbm(String name) {
    JsonNode expected = expected(name);

    Tensor margin = run(load(name), XgbFixtures.rows(expected)).get(TreeModel.MARGIN);

    assertClose(margin.floats(), expected.get("raw"), name + " raw");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "binary_breast_cancer",
        "multiclass_iris",
        "regression_diabetes",
        "regression_l1_diabetes",
        "categorical"
      })
  void execute_fixtureRows_predictionsMatchLightgbm(String name) {
    JsonNode expected = expected(name);
    LightgbmModel model = load(name);

    Map<String, Tensor> out = run(model, XgbFixtures.rows(expected));

    float[] predicted =
        switch (model.model().objective().kind()) {
          case REGRESSION -> out.get(TreeModel.PREDICTION).floats();
          case MULTI -> out.get(TreeModel.PROBABILITIES).floats();
          case BINARY -> {
            float[] p = out.get(TreeModel.PROBABILITIES).floats();
            float[] p1 = new float[p.length / 2];
            for (int i = 0; i < p1.length; i++) {
              p1[i] = p[2 * i + 1];
            }
            yield p1;
          }
        };
    assertClose(predicted, expected.get("predict"), name + " predict");
  }

  @ParameterizedTest
  @ValueSource(strings = {"binary_breast_cancer", "multiclass_iris"})
  void execute_classifier_labelIsArgmaxOfProbabilities(String name) {
    JsonNode expected = expected(name);
    Map<String, Tensor> out = run(load(name), XgbFixtures.rows(expected));

    float[] p = out.get(TreeModel.PROBABILITIES).floats();
    long[] labels = out.get(TreeModel.LABEL).longs();
    int k = p.length / labels.length;
    for (int r = 0; r < labels.length; r++) {
      assertThat(labels[r]).as("row %d", r).isEqualTo(Objective.argmax(p, r * k, k));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"binary_breast_cancer", "regression_diabetes", "categorical"})
  void fixtures_exerciseMissingValues(String name) {
    // The fixtures are only a test of missing handling if their rows and splits have some.
    JsonNode rows = expected(name).get("rows");
    boolean hasMissing = false;
    for (JsonNode row : rows) {
      for (JsonNode v : row) {
        hasMissing |= v.isNull() || (name.startsWith("regression") && v.asDouble() == 0.0);
      }
    }
    assertThat(hasMissing).isTrue();
  }
}
