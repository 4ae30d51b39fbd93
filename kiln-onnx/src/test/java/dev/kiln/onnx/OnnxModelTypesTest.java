package dev.kiln.onnx;

import static dev.kiln.onnx.Fixtures.outputs;
import static dev.kiln.onnx.Fixtures.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every supported element type through ONNX Runtime and back, with the Identity graphs of {@code
 * types/model.onnx}, and a run-time failure inside ONNX Runtime with {@code lookup/model.onnx}.
 */
class OnnxModelTypesTest {
  private static OnnxModel types;
  private static OnnxModel lookup;

  @BeforeAll
  static void load() {
    types = Fixtures.load("types", Fixtures.resourceModel("types"));
    lookup = Fixtures.load("lookup", Fixtures.resourceModel("lookup"));
  }

  @AfterAll
  static void close() {
    types.close();
    lookup.close();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** One request's worth of every type, {@code rows} rows, values varying with {@code seed}. */
  private static Tensor[] inputs(int rows, int seed) {
    double[] f64 = new double[rows * 2];
    int[] i32 = new int[rows];
    long[] i64 = new long[rows * 3];
    boolean[] flag = new boolean[rows];
    byte[][] text = new byte[rows][];
    for (int r = 0; r < rows; r++) {
      f64[2 * r] = seed + r + 0.1;
      f64[2 * r + 1] = -(seed + r) * 1e300;
      i32[r] = Integer.MIN_VALUE + seed + r;
      for (int c = 0; c < 3; c++) {
        i64[3 * r + c] = Long.MAX_VALUE - seed * 10L - r * 3L - c;
      }
      flag[r] = (seed + r) % 2 == 0;
      text[r] = r == 0 ? new byte[0] : utf8("héllo 日本 " + seed + "/" + r);
    }
    return new Tensor[] {
      new Tensor("f64", DataType.FP64, new long[] {rows, 2}, f64),
      new Tensor("i32", DataType.INT32, new long[] {rows}, i32),
      new Tensor("i64", DataType.INT64, new long[] {rows, 3}, i64),
      new Tensor("flag", DataType.BOOL, new long[] {rows}, flag),
      new Tensor("text", DataType.BYTES, new long[] {rows}, text)
    };
  }

  private static void assertRoundTrip(Map<String, Tensor> out, Tensor[] in) {
    assertThat(out).hasSize(in.length);
    for (Tensor t : in) {
      assertThat(out.get(t.name() + "_out")).isEqualTo(t.rename(t.name() + "_out"));
    }
  }

  @Test
  void signature_typesModel_mapsEveryElementType() {
    assertThat(types.signature().inputs())
        .containsExactly(
            new TensorSpec("f64", DataType.FP64, new long[] {-1, 2}),
            new TensorSpec("i32", DataType.INT32, new long[] {-1}),
            new TensorSpec("i64", DataType.INT64, new long[] {-1, 3}),
            new TensorSpec("flag", DataType.BOOL, new long[] {-1}),
            new TensorSpec("text", DataType.BYTES, new long[] {-1}));
    assertThat(types.signature().outputs())
        .extracting(TensorSpec::name)
        .containsExactly("f64_out", "i32_out", "i64_out", "flag_out", "text_out");
  }

  @Test
  void execute_everyElementType_roundTripsUnchanged() {
    Tensor[] in = inputs(3, 0);

    var results = types.execute(List.of(request("one", in)));

    assertRoundTrip(outputs(results.get(0)), in);
  }

  @Test
  void execute_severalRequestsOfEveryElementType_eachGetsItsOwnRows() {
    Tensor[] a = inputs(2, 1);
    Tensor[] b = inputs(1, 2);
    Tensor[] c = inputs(4, 3);
    long runsBefore = types.sessionRuns();

    var results = types.execute(List.of(request("a", a), request("b", b), request("c", c)));

    assertThat(types.sessionRuns() - runsBefore).isEqualTo(1);
    assertRoundTrip(outputs(results.get(0)), a);
    assertRoundTrip(outputs(results.get(1)), b);
    assertRoundTrip(outputs(results.get(2)), c);
  }

  @Test
  void execute_emptyBatchDimension_returnsEmptyOutputs() {
    Tensor[] in = inputs(0, 0);

    var results = types.execute(List.of(request("empty", in)));

    assertRoundTrip(outputs(results.get(0)), in);
  }

  private static Tensor index(long... values) {
    return new Tensor("index", DataType.INT64, new long[] {values.length}, values);
  }

  @Test
  void execute_indexOutOfRangeInOneRequest_failsOnlyThatRequest() {
    var results =
        lookup.execute(
            List.of(
                request("ok1", index(0, 1)), request("bad", index(99)), request("ok2", index(9))));

    assertThat(outputs(results.get(0)).get("value").floats()).containsExactly(0f, 1.5f);
    assertThat(results.get(1))
        .isInstanceOfSatisfying(
            InferenceResult.Failure.class,
            f -> {
              assertThat(f.error().kind()).isEqualTo(ErrorKind.INVALID_INPUT);
              assertThat(f.error().getMessage()).startsWith("onnxruntime: ").contains("99");
            });
    assertThat(outputs(results.get(2)).get("value").floats()).containsExactly(13.5f);
  }
}
