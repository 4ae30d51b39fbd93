package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * scikit-learn forests converted by {@code tools/fixtures/sk2onnx_trees.py} (fixtures from {@code
 * tools/fixtures/sklearn_onnx_trees.py}) and the breast-cancer-rf demo model, against sklearn's own
 * outputs at 1e-5 relative.
 */
class OnnxTreeFixtureTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final TreeRuntime runtime = new TreeRuntime();

  static Path fixture(String name) {
    try {
      return Path.of(OnnxTreeFixtureTest.class.getResource("/sklearn/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static Path root() {
    String root = System.getProperty("kiln.root");
    assertThat(root).as("system property kiln.root").isNotNull();
    return Path.of(root);
  }

  static LoadedModel load(Path dir) {
    return new TreeRuntime().load(new ModelSource("m", 1, dir, Map.of(), KilnConfig.defaults()));
  }

  /** Runs the expected file's inputs and compares every expected output at 1e-5 relative. */
  static void assertMatches(LoadedModel model, JsonNode expected) {
    JsonNode rows = expected.get("inputs").get("input");
    int n = rows.size();
    int f = rows.get(0).size();
    float[] x = new float[n * f];
    for (int r = 0; r < n; r++) {
      for (int c = 0; c < f; c++) {
        x[r * f + c] = (float) rows.get(r).get(c).asDouble();
      }
    }
    var request =
        new InferenceRequest(
            "r", Map.of("input", Tensor.ofFloats("input", new long[] {n, f}, x)), List.of(), null);
    Map<String, Tensor> out = model.execute(List.of(request)).getFirst().orThrow();
    Iterator<Map.Entry<String, JsonNode>> fields = expected.get("outputs").fields();
    assertThat(fields.hasNext()).isTrue();
    while (fields.hasNext()) {
      var e = fields.next();
      Tensor t = out.get(e.getKey());
      assertThat(t).as("output %s", e.getKey()).isNotNull();
      float[] want = XgbFixtures.floats(e.getValue());
      if (t.datatype() == DataType.INT64) {
        long[] got = t.longs();
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
          assertThat(got[i]).as("%s[%d]", e.getKey(), i).isEqualTo((long) want[i]);
        }
      } else {
        float[] got = t.floats();
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
          double exact = flatten(e.getValue()).get(i).asDouble();
          assertThat((double) got[i])
              .as("%s[%d]", e.getKey(), i)
              .isCloseTo(exact, within(1e-5 * Math.max(1.0, Math.abs(exact))));
        }
      }
    }
  }

  private static List<JsonNode> flatten(JsonNode node) {
    List<JsonNode> out = new java.util.ArrayList<>();
    if (node.isArray()) {
      node.forEach(n -> out.addAll(flatten(n)));
    } else {
      out.add(node);
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "rf_clf_breast_cancer",
        "et_clf_iris",
        "rf_clf_iris",
        "rf_reg_diabetes",
        "et_reg_diabetes",
        "gb_reg_diabetes"
      })
  void execute_sklearnFixture_matchesSklearn(String name) throws IOException {
    JsonNode expected = JSON.readTree(fixture(name).resolve("expected.json").toFile());

    assertMatches(load(fixture(name)), expected);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "rf_clf_breast_cancer",
        "et_clf_iris",
        "rf_clf_iris",
        "rf_reg_diabetes",
        "et_reg_diabetes",
        "gb_reg_diabetes"
      })
  void claims_sklearnTreeEnsemble_isAboveOnnxRuntime(String name) {
    assertThat(runtime.claims(fixture(name))).isEqualTo(TreeRuntime.ONNX_CLAIM).isGreaterThan(10);
  }

  @Test
  void claims_gradientBoostingClassifierWithSoftmaxNode_isZero() {
    assertThat(runtime.claims(fixture("gb_clf_iris"))).isZero();
  }

  @Test
  void claims_lstmOnnxModel_isZero() {
    assertThat(runtime.claims(root().resolve("models/stock-lstm/1"))).isZero();
  }

  @Test
  void claims_breastCancerDemo_isAboveOnnxRuntime() {
    assertThat(runtime.claims(root().resolve("models/breast-cancer-rf/1"))).isEqualTo(15);
  }

  @Test
  void execute_breastCancerDemo_matchesSklearnFixture() throws IOException {
    JsonNode expected =
        JSON.readTree(root().resolve("tools/fixtures/expected/breast-cancer-rf.json").toFile());

    assertMatches(load(root().resolve("models/breast-cancer-rf/1")), expected);
  }

  @Test
  void signature_breastCancerDemo_keepsTheGraphsNamesAndTypes() {
    var signature = load(root().resolve("models/breast-cancer-rf/1")).signature();

    assertThat(signature.platform()).isEqualTo("kiln_trees_onnx");
    assertThat(signature.inputs())
        .containsExactly(new TensorSpec("input", DataType.FP32, new long[] {-1, 30}));
    assertThat(signature.outputs())
        .containsExactly(
            new TensorSpec("label", DataType.INT64, new long[] {-1}),
            new TensorSpec("probabilities", DataType.FP32, new long[] {-1, 2}));
  }

  @Test
  void execute_requestForOneOutput_returnsOnlyIt() {
    LoadedModel model = load(fixture("rf_clf_iris"));
    var request =
        new InferenceRequest(
            "r",
            Map.of("input", Tensor.ofFloats("input", new long[] {1, 4}, new float[] {5, 3, 1, 0})),
            List.of("label"),
            null);

    Map<String, Tensor> out = model.execute(List.of(request)).getFirst().orThrow();

    assertThat(out).containsOnlyKeys("label");
  }
}
