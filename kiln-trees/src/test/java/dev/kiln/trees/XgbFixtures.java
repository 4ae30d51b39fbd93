package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The fixtures that {@code tools/fixtures/xgboost/make_xgboost_fixtures.py} made with XGBoost
 * 1.7.4: {@code src/test/resources/xgboost/<name>/} holds model.json, model.ubj and expected.json.
 */
final class XgbFixtures {
  static final List<String> MODELS =
      List.of(
          "binary_logistic",
          "binary_logitraw",
          "reg_logistic",
          "reg_squarederror",
          "count_poisson",
          "reg_tweedie",
          "multi_softprob",
          "multi_softmax",
          "multi_forest",
          "dart",
          "missing",
          "early_stopping",
          "categorical");

  private static final ObjectMapper JSON = new ObjectMapper();

  private XgbFixtures() {}

  static Path dir(String name) {
    URL url = XgbFixtures.class.getResource("/xgboost/" + name);
    assertThat(url).as("test resource xgboost/%s", name).isNotNull();
    try {
      return Path.of(url.toURI());
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

  static ModelSource source(Path dir) {
    return source(dir, Map.of());
  }

  static ModelSource source(Path dir, Map<String, String> parameters) {
    return new ModelSource("xgb", 1, dir, parameters, KilnConfig.defaults());
  }

  /** The expected file's rows as one FP32 [n, features] tensor; null becomes NaN. */
  static Tensor rows(JsonNode expected) {
    JsonNode rows = expected.get("rows");
    int n = rows.size();
    int f = rows.get(0).size();
    float[] data = new float[n * f];
    for (int r = 0; r < n; r++) {
      for (int c = 0; c < f; c++) {
        JsonNode v = rows.get(r).get(c);
        data[r * f + c] = v.isNull() ? Float.NaN : (float) v.asDouble();
      }
    }
    return Tensor.ofFloats(TreeModel.INPUT, new long[] {n, f}, data);
  }

  /** Nested or flat numbers, flattened in row-major order. */
  static float[] floats(JsonNode node) {
    List<Float> out = new java.util.ArrayList<>();
    collect(node, out);
    float[] a = new float[out.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = out.get(i);
    }
    return a;
  }

  private static void collect(JsonNode node, List<Float> out) {
    if (node.isArray()) {
      node.forEach(n -> collect(n, out));
    } else {
      out.add((float) node.asDouble());
    }
  }

  static InferenceRequest request(Tensor input, List<String> outputs, Map<String, Object> params) {
    return new InferenceRequest("r", Map.of(TreeModel.INPUT, input), outputs, params);
  }

  static InferenceRequest request(Tensor input, String... outputs) {
    return request(input, List.of(outputs), Map.of());
  }

  /** 1e-6 relative, or 1e-6 absolute for values below 1 in magnitude. */
  static void assertClose(float[] actual, float[] expected, String what) {
    assertThat(actual).as("%s length", what).hasSize(expected.length);
    for (int i = 0; i < expected.length; i++) {
      double tolerance = 1e-6 * Math.max(1.0, Math.abs(expected[i]));
      assertThat((double) actual[i])
          .as("%s[%d]", what, i)
          .isCloseTo(expected[i], org.assertj.core.api.Assertions.within(tolerance));
    }
  }
}
