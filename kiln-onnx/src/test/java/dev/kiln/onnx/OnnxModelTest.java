package dev.kiln.onnx;

import static dev.kiln.onnx.Fixtures.assertFloats;
import static dev.kiln.onnx.Fixtures.expectedFloats;
import static dev.kiln.onnx.Fixtures.expectedLongs;
import static dev.kiln.onnx.Fixtures.floatRows;
import static dev.kiln.onnx.Fixtures.outputs;
import static dev.kiln.onnx.Fixtures.request;
import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtException.OrtErrorCode;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The demo models through OnnxModel, against the outputs of the libraries that trained them. */
class OnnxModelTest {
  private static OnnxModel forest;
  private static OnnxModel lstm;
  private static JsonNode forestFixture;
  private static JsonNode lstmFixture;

  @BeforeAll
  static void load() {
    forest = Fixtures.load("breast-cancer-rf", Fixtures.demoModel("breast-cancer-rf"));
    lstm = Fixtures.load("stock-lstm", Fixtures.demoModel("stock-lstm"));
    forestFixture = Fixtures.expected("breast-cancer-rf");
    lstmFixture = Fixtures.expected("stock-lstm");
  }

  @AfterAll
  static void close() {
    forest.close();
    lstm.close();
  }

  private static JsonNode rows() {
    return forestFixture.get("inputs").get("input");
  }

  private static double tolerance(JsonNode fixture) {
    return fixture.get("tolerance").asDouble();
  }

  /** Asserts the forest's outputs for fixture rows [from, from + count). */
  private static void assertForestRows(Map<String, Tensor> out, int from, int count) {
    JsonNode expected = forestFixture.get("outputs");
    assertThat(out.get("label").shape()).containsExactly(count);
    assertThat(out.get("label").longs())
        .containsExactly(expectedLongs(expected.get("label"), from, count));
    assertFloats(
        out.get("probabilities"),
        new long[] {count, 2},
        expectedFloats(expected.get("probabilities"), from, count),
        tolerance(forestFixture));
  }

  @Test
  void signature_breastCancerForest_inferredFromFile() {
    ModelSignature s = forest.signature();

    assertThat(s.platform()).isEqualTo("onnxruntime_onnx");
    assertThat(s.maxBatchSize()).isZero();
    assertThat(s.inputs())
        .containsExactly(new TensorSpec("input", DataType.FP32, new long[] {-1, 30}));
    assertThat(s.outputs())
        .containsExactly(
            new TensorSpec("label", DataType.INT64, new long[] {-1}),
            new TensorSpec("probabilities", DataType.FP32, new long[] {-1, 2}));
  }

  @Test
  void signature_stockLstm_inferredFromFile() {
    ModelSignature s = lstm.signature();

    assertThat(s.inputs())
        .containsExactly(new TensorSpec("input", DataType.FP32, new long[] {-1, 30, 1}));
    assertThat(s.outputs())
        .containsExactly(new TensorSpec("output", DataType.FP32, new long[] {-1, 1}));
  }

  @Test
  void execute_breastCancerRowsInOneRequest_matchSklearnProbabilities() {
    int n = rows().size();

    var results = forest.execute(List.of(request("all", floatRows("input", rows(), 0, n))));

    assertThat(results).hasSize(1);
    assertForestRows(outputs(results.get(0)), 0, n);
  }

  @Test
  void execute_breastCancerOneRowPerCall_matchSklearnProbabilities() {
    for (int r = 0; r < rows().size(); r++) {
      var results = forest.execute(List.of(request("r" + r, floatRows("input", rows(), r, 1))));

      assertForestRows(outputs(results.get(0)), r, 1);
    }
  }

  @Test
  void execute_breastCancerRowPerRequestInOneBatch_runsOnceAndMatchesSklearn() {
    List<InferenceRequest> batch = new ArrayList<>();
    for (int r = 0; r < rows().size(); r++) {
      batch.add(request("r" + r, floatRows("input", rows(), r, 1)));
    }
    long runsBefore = forest.sessionRuns();

    var results = forest.execute(batch);

    assertThat(forest.sessionRuns() - runsBefore).isEqualTo(1);
    assertThat(results).hasSize(batch.size());
    for (int r = 0; r < results.size(); r++) {
      assertForestRows(outputs(results.get(r)), r, 1);
    }
  }

  @Test
  void execute_requestsOfDifferentBatchSizes_eachGetsItsOwnRows() {
    var results =
        forest.execute(
            List.of(
                request("a", floatRows("input", rows(), 0, 3)),
                request("b", floatRows("input", rows(), 3, 1)),
                request("c", floatRows("input", rows(), 4, 5))));

    assertForestRows(outputs(results.get(0)), 0, 3);
    assertForestRows(outputs(results.get(1)), 3, 1);
    assertForestRows(outputs(results.get(2)), 4, 5);
  }

  @Test
  void execute_onlyProbabilitiesRequested_returnsOnlyProbabilities() {
    var results =
        forest.execute(
            List.of(request("p", List.of("probabilities"), floatRows("input", rows(), 0, 2))));

    assertThat(outputs(results.get(0))).containsOnlyKeys("probabilities");
  }

  @Test
  void execute_batchWithDifferentRequestedOutputs_eachGetsWhatItAskedFor() {
    var results =
        forest.execute(
            List.of(
                request("label", List.of("label"), floatRows("input", rows(), 0, 2)),
                request("all", floatRows("input", rows(), 2, 2))));

    assertThat(outputs(results.get(0))).containsOnlyKeys("label");
    assertThat(outputs(results.get(0)).get("label").longs())
        .containsExactly(expectedLongs(forestFixture.get("outputs").get("label"), 0, 2));
    assertForestRows(outputs(results.get(1)), 2, 2);
  }

  @Test
  void execute_wrongInnerDimensionInOneRequest_failsOnlyThatRequest() {
    Tensor tooWide = Tensor.ofFloats("input", new long[] {1, 31}, new float[31]);

    var results =
        forest.execute(
            List.of(
                request("ok1", floatRows("input", rows(), 0, 2)),
                request("bad", tooWide),
                request("ok2", floatRows("input", rows(), 2, 1))));

    assertForestRows(outputs(results.get(0)), 0, 2);
    assertThat(results.get(1))
        .isInstanceOfSatisfying(
            InferenceResult.Failure.class,
            f -> {
              assertThat(f.error().kind()).isEqualTo(ErrorKind.INVALID_INPUT);
              assertThat(f.error().getMessage()).startsWith("onnxruntime: ").contains("31");
            });
    assertForestRows(outputs(results.get(2)), 2, 1);
  }

  @Test
  void execute_concurrentCallers_eachGetsItsOwnRows() throws Exception {
    try (var pool = Executors.newFixedThreadPool(4)) {
      List<Future<?>> calls = new ArrayList<>();
      for (int c = 0; c < 40; c++) {
        int from = c % (rows().size() - 2);
        calls.add(
            pool.submit(() -> {
              var batch =
                  List.of(
                      request("x", floatRows("input", rows(), from, 2)),
                      request("y", floatRows("input", rows(), from + 2, 1)));
              var results = forest.execute(batch);
              assertForestRows(outputs(results.get(0)), from, 2);
              assertForestRows(outputs(results.get(1)), from + 2, 1);
            }));
      }
      for (Future<?> call : calls) {
        call.get();
      }
    }
  }

  @Test
  void runError_invalidArgument_isInvalidInput() {
    var e = new OrtException(OrtErrorCode.ORT_INVALID_ARGUMENT, "indices element out of bounds");

    assertThat(OnnxModel.runError(e).kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(OnnxModel.runError(e)).hasMessage("onnxruntime: indices element out of bounds");
  }

  @Test
  void runError_failureMentioningShape_isInvalidInput() {
    var e = new OrtException(OrtErrorCode.ORT_FAIL, "Shape mismatch in node Reshape_3");

    assertThat(OnnxModel.runError(e).kind()).isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void runError_otherFailure_isInternal() {
    var e = new OrtException(OrtErrorCode.ORT_RUNTIME_EXCEPTION, "bad allocation");

    assertThat(OnnxModel.runError(e).kind()).isEqualTo(ErrorKind.INTERNAL);
  }

  @Test
  void execute_stockLstmWindowsInOneRequest_matchTorch() {
    JsonNode windows = lstmFixture.get("inputs").get("input");
    int n = windows.size();

    var results = lstm.execute(List.of(request("all", floatRows("input", windows, 0, n))));

    assertFloats(
        outputs(results.get(0)).get("output"),
        new long[] {n, 1},
        expectedFloats(lstmFixture.get("outputs").get("output"), 0, n),
        tolerance(lstmFixture));
  }

  @Test
  void execute_stockLstmWindowPerRequest_eachMatchesTorch() {
    JsonNode windows = lstmFixture.get("inputs").get("input");
    List<InferenceRequest> batch = new ArrayList<>();
    for (int r = 0; r < windows.size(); r++) {
      batch.add(request("w" + r, floatRows("input", windows, r, 1)));
    }

    var results = lstm.execute(batch);

    for (int r = 0; r < results.size(); r++) {
      assertFloats(
          outputs(results.get(r)).get("output"),
          new long[] {1, 1},
          expectedFloats(lstmFixture.get("outputs").get("output"), r, 1),
          tolerance(lstmFixture));
    }
  }
}
