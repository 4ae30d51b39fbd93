package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.model.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TreeRuntimeTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final TreeRuntime runtime = new TreeRuntime();

  @TempDir Path dir;

  private static void assertKind(Runnable r, ErrorKind kind, String... messageParts) {
    assertThatThrownBy(r::run)
        .isInstanceOfSatisfying(
            KilnException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(kind);
              assertThat(e.getMessage()).contains(messageParts);
            });
  }

  private void copy(String fixture, String file) throws IOException {
    Files.copy(XgbFixtures.dir(fixture).resolve(file), dir.resolve(file));
  }

  @Test
  void serviceLoader_onClassPath_findsKilnTreesByName() {
    assertThat(ServiceLoader.load(ModelRuntime.class).stream().map(p -> p.get().name()))
        .contains("kiln-trees");
  }

  @Test
  void claims_xgboostJson_isAboveOnnx() throws IOException {
    copy("binary_logistic", "model.json");

    assertThat(runtime.claims(dir)).isEqualTo(20);
  }

  @Test
  void claims_xgboostUbjOnly_isPositive() throws IOException {
    copy("binary_logistic", "model.ubj");

    assertThat(runtime.claims(dir)).isEqualTo(20);
  }

  @Test
  void claims_otherJsonNamedModelJson_isZero() throws IOException {
    Files.writeString(
        dir.resolve("model.json"), "{\"architectures\": [\"GPT2LMHeadModel\"], \"n_embd\": 768}");

    assertThat(runtime.claims(dir)).isZero();
  }

  @Test
  void claims_emptyDirectory_isZero() {
    assertThat(runtime.claims(dir)).isZero();
  }

  @Test
  void load_gblinear_isUnsupportedNamingTheBooster() {
    Path gblinear = XgbFixtures.dir("gblinear");

    assertKind(
        () -> runtime.load(XgbFixtures.source(gblinear)),
        ErrorKind.UNSUPPORTED,
        "model.json",
        "gblinear");
  }

  @Test
  void load_categoricalSplitWithoutCategorySet_isUnsupportedNamingTheFeature() throws IOException {
    ObjectNode doc =
        (ObjectNode)
            JSON.readTree(XgbFixtures.dir("binary_logistic").resolve("model.json").toFile());
    JsonNode tree = doc.at("/learner/gradient_booster/model/trees/3");
    ((ArrayNode) tree.get("split_type")).set(0, 1);
    int feature = tree.get("split_indices").get(0).asInt();
    String name = doc.at("/learner/feature_names").get(feature).asText();
    JSON.writeValue(dir.resolve("model.json").toFile(), doc);

    assertKind(
        () -> runtime.load(XgbFixtures.source(dir)),
        ErrorKind.UNSUPPORTED,
        "without a category set",
        "'" + name + "'");
  }

  @Test
  void load_unknownObjective_isUnsupported() throws IOException {
    ObjectNode doc =
        (ObjectNode)
            JSON.readTree(XgbFixtures.dir("reg_squarederror").resolve("model.json").toFile());
    ((ObjectNode) doc.at("/learner/objective")).put("name", "rank:pairwise");
    JSON.writeValue(dir.resolve("model.json").toFile(), doc);

    assertKind(() -> runtime.load(XgbFixtures.source(dir)), ErrorKind.UNSUPPORTED, "rank:pairwise");
  }

  @Test
  void load_truncatedUbj_isInternalNamingTheFile() throws IOException {
    byte[] bytes = Files.readAllBytes(XgbFixtures.dir("dart").resolve("model.ubj"));
    Files.write(dir.resolve("model.ubj"), Arrays.copyOf(bytes, bytes.length / 2));

    assertKind(() -> runtime.load(XgbFixtures.source(dir)), ErrorKind.INTERNAL, "model.ubj");
  }

  @Test
  void load_jsonWithoutLearner_isInternal() throws IOException {
    Files.writeString(dir.resolve("model.json"), "{\"version\": [1, 7, 4]}");

    assertKind(() -> runtime.load(XgbFixtures.source(dir)), ErrorKind.INTERNAL, "no learner");
  }

  @Test
  void load_emptyDirectory_isInternal() {
    assertKind(() -> runtime.load(XgbFixtures.source(dir)), ErrorKind.INTERNAL, "model.json");
  }

  @Test
  void signature_classifierWithFeatureNames_declaresConvention() {
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("binary_logistic")));

    TensorSpec input = model.signature().input("input").orElseThrow();
    assertThat(model.signature().platform()).isEqualTo("kiln_xgboost");
    assertThat(input.shape()).containsExactly(-1, 30);
    assertThat(input.allowNan()).isTrue();
    assertThat(input.features()).hasSize(30).contains("mean_radius");
    assertThat(model.signature().outputs())
        .extracting(TensorSpec::name)
        .containsExactly("probabilities", "label", "margin");
    assertThat(model.signature().output("probabilities").orElseThrow().shape())
        .containsExactly(-1, 2);
  }

  @Test
  void signature_multiClass_hasMarginPerClass() {
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("multi_softprob")));

    assertThat(model.signature().output("margin").orElseThrow().shape()).containsExactly(-1, 3);
    assertThat(model.signature().output("probabilities").orElseThrow().shape())
        .containsExactly(-1, 3);
  }

  @Test
  void signature_regression_hasPredictionAndMargin() {
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("count_poisson")));

    assertThat(model.signature().outputs())
        .extracting(TensorSpec::name)
        .containsExactly("prediction", "margin");
  }

  @Test
  void execute_severalRequestsInOneBatch_eachGetsItsOwnRows() {
    JsonNode expected = XgbFixtures.expected("multi_softprob");
    Tensor all = XgbFixtures.rows(expected);
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("multi_softprob")));
    var first = XgbFixtures.request(Tensors.slice(all, 0, 5));
    var second = XgbFixtures.request(Tensors.slice(all, 5, 1), "label");
    var third = XgbFixtures.request(Tensors.slice(all, 6, 20));

    List<InferenceResult> results = model.execute(List.of(first, second, third));

    float[] margins = XgbFixtures.floats(expected.get("margin"));
    assertThat(results).hasSize(3);
    XgbFixtures.assertClose(
        results.get(0).orThrow().get("margin").floats(),
        Arrays.copyOfRange(margins, 0, 15),
        "first");
    assertThat(results.get(1).orThrow()).containsOnlyKeys("label");
    XgbFixtures.assertClose(
        results.get(2).orThrow().get("margin").floats(),
        Arrays.copyOfRange(margins, 18, 78),
        "third");
  }

  @Test
  void execute_badRequestInBatch_failsOnlyItself() {
    JsonNode expected = XgbFixtures.expected("count_poisson");
    Tensor rows = XgbFixtures.rows(expected);
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("count_poisson")));
    Tensor wrongWidth = Tensor.ofFloats("input", new long[] {1, 3}, new float[3]);

    List<InferenceResult> results =
        model.execute(List.of(XgbFixtures.request(wrongWidth), XgbFixtures.request(rows)));

    assertThat(results.get(0)).isInstanceOf(InferenceResult.Failure.class);
    assertThat(((InferenceResult.Failure) results.get(0)).error().kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(results.get(1).orThrow().get("prediction").shape()).containsExactly(rows.shape()[0]);
  }

  @Test
  void execute_onlyLabelRequested_returnsOnlyLabel() {
    Tensor rows = XgbFixtures.rows(XgbFixtures.expected("binary_logistic"));
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("binary_logistic")));

    var out = model.execute(List.of(XgbFixtures.request(rows, "label"))).getFirst().orThrow();

    assertThat(out).containsOnlyKeys("label");
    assertThat(out.get("label").datatype()).isEqualTo(DataType.INT64);
  }

  @Test
  void execute_binaryProbabilities_sumToOneWithLabelFromP() {
    Tensor rows = XgbFixtures.rows(XgbFixtures.expected("binary_logistic"));
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("binary_logistic")));

    var out = model.execute(List.of(XgbFixtures.request(rows))).getFirst().orThrow();

    float[] p = out.get("probabilities").floats();
    long[] label = out.get("label").longs();
    for (int r = 0; r < label.length; r++) {
      assertThat(p[2 * r] + p[2 * r + 1])
          .isCloseTo(1f, org.assertj.core.api.Assertions.within(1e-6f));
      assertThat(label[r]).isEqualTo(p[2 * r + 1] > 0.5f ? 1L : 0L);
    }
  }

  @Test
  void execute_iterationRangeOutsideModel_isInvalidInput() {
    Tensor rows = XgbFixtures.rows(XgbFixtures.expected("binary_logistic"));
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("binary_logistic")));
    var request = XgbFixtures.request(rows, List.of(), Map.of("iteration_range", "0,31"));

    InferenceResult result = model.execute(List.of(request)).getFirst();

    assertThat(result).isInstanceOf(InferenceResult.Failure.class);
    assertThat(((InferenceResult.Failure) result).error().kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void load_useBestIteration_evaluatesUpToBestIterationOnly() {
    JsonNode expected = XgbFixtures.expected("early_stopping");
    Tensor rows = XgbFixtures.rows(expected);
    var source =
        XgbFixtures.source(XgbFixtures.dir("early_stopping"), Map.of("use-best-iteration", "true"));
    LoadedModel model = runtime.load(source);

    var out = model.execute(List.of(XgbFixtures.request(rows, "margin"))).getFirst().orThrow();

    // The fixture's only range is (0, best_iteration + 1).
    XgbFixtures.assertClose(
        out.get("margin").floats(),
        XgbFixtures.floats(expected.get("ranges").get(0).get("margin")),
        "best iteration margin");
  }

  @Test
  void load_defaultSettings_evaluatesAllTreesLikeBoosterPredict() {
    JsonNode expected = XgbFixtures.expected("early_stopping");
    LoadedModel model = runtime.load(XgbFixtures.source(XgbFixtures.dir("early_stopping")));

    var out =
        model
            .execute(List.of(XgbFixtures.request(XgbFixtures.rows(expected), "margin")))
            .getFirst()
            .orThrow();

    XgbFixtures.assertClose(
        out.get("margin").floats(), XgbFixtures.floats(expected.get("margin")), "all trees");
  }
}
