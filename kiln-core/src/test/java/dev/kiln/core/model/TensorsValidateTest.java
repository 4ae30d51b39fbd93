package dev.kiln.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class TensorsValidateTest {
  /** Two batched inputs, one of which may hold NaN, and a batch limit of 4. */
  private static final ModelSignature SIGNATURE =
      new ModelSignature(
          "test",
          List.of(
              new TensorSpec("features", DataType.FP32, new long[] {-1, 2}),
              new TensorSpec("ids", DataType.INT64, new long[] {-1}),
              new TensorSpec("sparse", DataType.FP32, new long[] {-1})
                  .withDetails(List.of(), List.of(), true)),
          List.of(new TensorSpec("score", DataType.FP32, new long[] {-1})),
          4);

  private static Tensor features(int rows) {
    return Tensor.ofFloats("features", new long[] {rows, 2}, new float[rows * 2]);
  }

  private static Tensor ids(int rows) {
    return new Tensor("ids", DataType.INT64, new long[] {rows}, new long[rows]);
  }

  private static Tensor sparse(int rows) {
    return Tensor.ofFloats("sparse", new long[] {rows}, new float[rows]);
  }

  private static InferenceRequest request(List<String> outputs, Tensor... inputs) {
    Map<String, Tensor> byName = new LinkedHashMap<>();
    for (Tensor t : inputs) {
      byName.put(t.name(), t);
    }
    return new InferenceRequest("r1", byName, outputs, Map.of());
  }

  private static InferenceRequest request(Tensor... inputs) {
    return request(List.of(), inputs);
  }

  private static void assertInvalid(ThrowingCallable call, String... fragments) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            KilnException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
              assertThat(e.getMessage()).contains(fragments);
            });
  }

  @Test
  void validate_matchingRequest_passes() {
    InferenceRequest r = request(List.of("score"), features(2), ids(2), sparse(2));

    assertThatCode(() -> Tensors.validate(r, SIGNATURE)).doesNotThrowAnyException();
  }

  @Test
  void validate_unknownInput_throwsNamingIt() {
    Tensor extra = Tensor.ofFloats("extra", new long[] {2}, new float[2]);
    InferenceRequest r = request(features(2), ids(2), sparse(2), extra);

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "inputs", "'extra'");
  }

  @Test
  void validate_missingInput_throwsNamingIt() {
    InferenceRequest r = request(features(2), sparse(2));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "inputs", "missing", "'ids'");
  }

  @Test
  void validate_wrongDatatype_throwsNamingField() {
    Tensor intIds = new Tensor("ids", DataType.INT32, new long[] {2}, new int[2]);
    InferenceRequest r = request(features(2), intIds, sparse(2));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "inputs.ids.datatype", "INT64", "INT32");
  }

  @Test
  void validate_wrongShape_throwsNamingField() {
    Tensor wide = Tensor.ofFloats("features", new long[] {2, 3}, new float[6]);
    InferenceRequest r = request(wide, ids(2), sparse(2));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "inputs.features.shape", "[2, 3]");
  }

  @Test
  void validate_wrongRank_throwsNamingField() {
    Tensor flat = Tensor.ofFloats("features", new long[] {4}, new float[4]);
    InferenceRequest r = request(flat, ids(2), sparse(2));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "inputs.features.shape");
  }

  @Test
  void validate_batchSizesDifferAcrossInputs_throwsNamingField() {
    InferenceRequest r = request(features(2), ids(3), sparse(2));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "inputs.ids.shape", "batch size 3");
  }

  @Test
  void validate_nanWhereForbidden_throwsNamingElement() {
    Tensor nan = Tensor.ofFloats("features", new long[] {1, 2}, new float[] {0, Float.NaN});
    InferenceRequest r = request(nan, ids(1), sparse(1));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "inputs.features.data[1]", "NaN");
  }

  @Test
  void validate_nanWhereAllowed_passes() {
    Tensor nan = Tensor.ofFloats("sparse", new long[] {2}, new float[] {Float.NaN, 1});
    InferenceRequest r = request(features(2), ids(2), nan);

    assertThatCode(() -> Tensors.validate(r, SIGNATURE)).doesNotThrowAnyException();
  }

  @Test
  void validate_fp64NanWhereForbidden_throwsNamingElement() {
    ModelSignature sig =
        new ModelSignature(
            "test",
            List.of(new TensorSpec("d", DataType.FP64, new long[] {-1})),
            List.of(new TensorSpec("y", DataType.FP64, new long[] {-1})),
            0);
    Tensor nan = new Tensor("d", DataType.FP64, new long[] {2}, new double[] {1, Double.NaN});

    assertInvalid(() -> Tensors.validate(request(nan), sig), "inputs.d.data[1]");
  }

  @Test
  void validate_batchAboveMaxBatchSize_throwsNamingLimit() {
    InferenceRequest r = request(features(5), ids(5), sparse(5));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "batch size 5", "max-batch-size 4");
  }

  @Test
  void validate_batchAtMaxBatchSize_passes() {
    InferenceRequest r = request(features(4), ids(4), sparse(4));

    assertThatCode(() -> Tensors.validate(r, SIGNATURE)).doesNotThrowAnyException();
  }

  @Test
  void validate_unknownRequestedOutput_throwsNamingIt() {
    InferenceRequest r = request(List.of("probability"), features(2), ids(2), sparse(2));

    assertInvalid(() -> Tensors.validate(r, SIGNATURE), "outputs", "'probability'");
  }
}
