package dev.kiln.onnx;

import static dev.kiln.onnx.Fixtures.floatRows;
import static dev.kiln.onnx.Fixtures.outputs;
import static dev.kiln.onnx.Fixtures.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtException.OrtErrorCode;
import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.onnx.OnnxSettings.OptimizationLevel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxRuntimeTest {
  private final OnnxRuntime runtime = new OnnxRuntime();

  @TempDir Path dir;

  @Test
  void serviceLoader_onClassPath_findsOnnxRuntimeByName() {
    assertThat(ServiceLoader.load(ModelRuntime.class).stream().map(p -> p.get().name()))
        .contains("onnxruntime");
  }

  @Test
  void claims_dirWithModelOnnx_isPositive() {
    assertThat(runtime.claims(Fixtures.demoModel("breast-cancer-rf"))).isPositive();
  }

  @Test
  void claims_dirWithoutModelOnnx_isZero() throws IOException {
    Files.writeString(dir.resolve("model.json"), "{}");

    assertThat(runtime.claims(dir)).isZero();
  }

  @Test
  void load_corruptModelFile_failsSayingItIsNotAnOnnxModel() throws IOException {
    Files.writeString(dir.resolve("model.onnx"), "this is not a protobuf, let alone a model");

    assertThatThrownBy(() -> runtime.load(Fixtures.source("broken", dir)))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL))
        .hasMessageStartingWith("model.onnx: not a valid ONNX model: ");
  }

  @Test
  void load_corruptModelFile_reasonDoesNotRevealTheServerPath() throws IOException {
    Files.writeString(dir.resolve("model.onnx"), "this is not a protobuf, let alone a model");

    assertThatThrownBy(() -> runtime.load(Fixtures.source("broken", dir)))
        .message()
        .doesNotContain(dir.toString());
  }

  @Test
  void load_emptyModelFile_failsSayingItIsEmpty() throws IOException {
    Files.write(dir.resolve("model.onnx"), new byte[0]);

    assertThatThrownBy(() -> runtime.load(Fixtures.source("empty", dir)))
        .isInstanceOf(KilnException.class)
        .hasMessageStartingWith("model.onnx: empty file");
  }

  @Test
  void load_noModelFile_failsNamingTheFile() {
    assertThatThrownBy(() -> runtime.load(Fixtures.source("empty", dir)))
        .isInstanceOf(KilnException.class)
        .hasMessageStartingWith("model.onnx: no such file in ");
  }

  @Test
  void load_float16Input_failsUnsupportedNamingTheTensor() {
    assertThatThrownBy(
            () -> runtime.load(Fixtures.source("half", Fixtures.resourceModel("float16"))))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED))
        .hasMessageContaining("input 'half'")
        .hasMessageContaining("FLOAT16");
  }

  @Test
  void load_zipMapOutput_leftOutOfSignatureAndResults() {
    try (LoadedModel model =
        runtime.load(Fixtures.source("zip", Fixtures.resourceModel("zipmap")))) {
      assertThat(model.signature().outputs())
          .containsExactly(new TensorSpec("probabilities", DataType.FP32, new long[] {-1, 2}));

      Tensor scores = Tensor.ofFloats("scores", new long[] {1, 2}, new float[] {0.25f, 0.75f});
      var out = outputs(model.execute(List.of(request("z", scores))).get(0));

      assertThat(out).containsOnlyKeys("probabilities");
      assertThat(out.get("probabilities").floats()).containsExactly(0.25f, 0.75f);
    }
  }

  @Test
  void reason_nativeError_dropsPrefixSourceLocationAndLineBreaks() {
    var e =
        new OrtException(
            OrtErrorCode.ORT_FAIL,
            "Load model from m.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:177"
                + " onnxruntime::Model::Model(onnx::ModelProto&&, const Logger&) ModelProto does"
                + " not have a graph.\n Please fix it.");

    assertThat(OnnxRuntime.reason(e))
        .isEqualTo(
            "Load model from m.onnx failed: ModelProto does not have a graph. Please fix it.");
  }

  @Test
  void settings_configAndParameters_parametersWin() {
    KilnConfig config =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of("onnx.intra-op-threads", "1", "onnx.optimization-level", "basic"));
    ModelSource source =
        Fixtures.source(
            "m", dir, Map.of("inter-op-threads", "2", "optimization-level", "extended"), config);

    assertThat(OnnxRuntime.settings(source))
        .isEqualTo(new OnnxSettings(1, 2, OptimizationLevel.EXTENDED));
  }

  @Test
  void load_threadSettingsFromConfig_loadsAndPredicts() {
    KilnConfig config =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "onnx.intra-op-threads", "1",
                "onnx.inter-op-threads", "2",
                "onnx.optimization-level", "basic"));
    var rows = Fixtures.expected("breast-cancer-rf").get("inputs").get("input");
    var labels = Fixtures.expected("breast-cancer-rf").get("outputs").get("label");
    ModelSource source =
        Fixtures.source("rf", Fixtures.demoModel("breast-cancer-rf"), Map.of(), config);

    try (LoadedModel model = runtime.load(source)) {
      var out =
          outputs(model.execute(List.of(request("r", floatRows("input", rows, 0, 4)))).get(0));

      assertThat(out.get("label").longs()).containsExactly(Fixtures.expectedLongs(labels, 0, 4));
    }
  }

  @Test
  void load_optimizationNoneFromParameters_loadsAndPredicts() {
    var windows = Fixtures.expected("stock-lstm").get("inputs").get("input");
    ModelSource source =
        Fixtures.source(
            "lstm",
            Fixtures.demoModel("stock-lstm"),
            Map.of("optimization-level", "none", "intra-op-threads", "1"),
            KilnConfig.defaults());

    try (LoadedModel model = runtime.load(source)) {
      var out =
          outputs(model.execute(List.of(request("w", floatRows("input", windows, 0, 1)))).get(0));

      assertThat(out.get("output").shape()).containsExactly(1, 1);
    }
  }

  @Test
  void load_unknownParameter_failsNamingIt() {
    ModelSource source =
        Fixtures.source(
            "rf",
            Fixtures.demoModel("breast-cancer-rf"),
            Map.of("intra-op-thread", "1"),
            KilnConfig.defaults());

    assertThatThrownBy(() -> runtime.load(source))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("parameters.intra-op-thread:")
        .hasMessageContaining("intra-op-threads");
  }

  @Test
  void load_negativeThreadsInConfig_failsNamingTheKey() {
    KilnConfig config = ConfigLoader.load(null, Map.of(), Map.of("onnx.intra-op-threads", "-1"));
    ModelSource source =
        Fixtures.source("rf", Fixtures.demoModel("breast-cancer-rf"), Map.of(), config);

    assertThatThrownBy(() -> runtime.load(source))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("config section onnx: intra-op-threads must be >= 0, was -1");
  }
}
