package dev.kiln.trees;

import static dev.kiln.trees.XgbFixtures.assertClose;
import static dev.kiln.trees.XgbFixtures.floats;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.model.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every fixture, from JSON and from UBJSON, against what XGBoost 1.7.4 predicted for it. */
class XgboostFixtureTest {
  static Stream<Arguments> models() {
    List<Arguments> args = new ArrayList<>();
    for (String name : XgbFixtures.MODELS) {
      args.add(Arguments.of(name, TreeRuntime.JSON_FILE));
      args.add(Arguments.of(name, TreeRuntime.UBJ_FILE));
    }
    return args.stream();
  }

  private static TreeModel load(String name, String file) {
    return new TreeModel(name, TreeRuntime.read(XgbFixtures.dir(name).resolve(file)), false);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("models")
  void execute_fixtureRows_marginsMatchXgboost(String name, String file) {
    JsonNode expected = XgbFixtures.expected(name);
    TreeModel model = load(name, file);

    Tensor margin = run(model, XgbFixtures.rows(expected), Map.of()).get(TreeModel.MARGIN);

    assertClose(margin.floats(), floats(expected.get("margin")), name + " margin");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("models")
  void execute_fixtureRows_predictionsMatchXgboost(String name, String file) {
    JsonNode expected = XgbFixtures.expected(name);
    TreeModel model = load(name, file);

    Map<String, Tensor> out = run(model, XgbFixtures.rows(expected), Map.of());

    assertClose(
        predictOutput(expected.get("objective").asText(), out),
        floats(expected.get("predict")),
        name + " predict");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("models")
  void execute_iterationRange_matchesXgboostIterationRange(String name, String file) {
    JsonNode expected = XgbFixtures.expected(name);
    TreeModel model = load(name, file);

    for (JsonNode range : expected.path("ranges")) {
      String param =
          range.get("iteration_range").get(0) + "," + range.get("iteration_range").get(1);
      Map<String, Tensor> out =
          run(model, XgbFixtures.rows(expected), Map.of(TreeModel.ITERATION_RANGE, param));

      assertClose(
          out.get(TreeModel.MARGIN).floats(), floats(range.get("margin")), name + " " + param);
      assertClose(
          predictOutput(expected.get("objective").asText(), out),
          floats(range.get("predict")),
          name + " predict " + param);
    }
  }

  private static Map<String, Tensor> run(TreeModel model, Tensor rows, Map<String, Object> params) {
    var request = XgbFixtures.request(rows, List.of(), params);
    return model.execute(List.of(request)).getFirst().orThrow();
  }

  /** What Booster.predict returns, taken from Kiln's outputs. */
  static float[] predictOutput(String objective, Map<String, Tensor> out) {
    return switch (objective) {
      case "binary:logistic" -> column(out.get(TreeModel.PROBABILITIES), 1);
      case "binary:logitraw" -> out.get(TreeModel.MARGIN).floats();
      case "multi:softprob" -> out.get(TreeModel.PROBABILITIES).floats();
      case "multi:softmax" -> {
        long[] labels = out.get(TreeModel.LABEL).longs();
        float[] f = new float[labels.length];
        for (int i = 0; i < f.length; i++) {
          f[i] = labels[i];
        }
        yield f;
      }
      default -> out.get(TreeModel.PREDICTION).floats();
    };
  }

  private static float[] column(Tensor t, int c) {
    int k = (int) t.shape()[1];
    float[] out = new float[(int) t.shape()[0]];
    for (int r = 0; r < out.length; r++) {
      out[r] = t.floats()[r * k + c];
    }
    assertThat(out).isNotEmpty();
    return out;
  }
}
