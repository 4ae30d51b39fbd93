package dev.kiln.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class V1InstancesTest {
  private static final ModelSignature NAMED =
      new ModelSignature(
          "test",
          List.of(
              new TensorSpec(
                  "input", DataType.FP32, new long[] {-1, 2}, List.of("a", "b"), List.of(), false)),
          List.of(new TensorSpec("y", DataType.FP32, new long[] {-1})),
          0);

  private static final ModelSignature SEQUENCE =
      new ModelSignature(
          "test",
          List.of(new TensorSpec("input", DataType.FP32, new long[] {-1, 3, 1})),
          List.of(new TensorSpec("y", DataType.FP32, new long[] {-1, 1})),
          0);

  private static JsonNode json(String s) throws Exception {
    return Json.MAPPER.readTree(s);
  }

  @Test
  void toTensors_arrayRows_batchAlongFirstDimension() throws Exception {
    Map<String, Tensor> t = V1Instances.toTensors(json("[[1,2],[3,4],[5,6]]"), NAMED);

    assertThat(t.get("input").shape()).containsExactly(3, 2);
    assertThat(t.get("input").floats()).containsExactly(1, 2, 3, 4, 5, 6);
  }

  @Test
  void toTensors_namedFeatures_placedInDeclaredOrder() throws Exception {
    Map<String, Tensor> t = V1Instances.toTensors(json("[{\"b\":2,\"a\":1}]"), NAMED);

    assertThat(t.get("input").floats()).containsExactly(1, 2);
  }

  @Test
  void toTensors_oneFlatRow_isOneInstance() throws Exception {
    Map<String, Tensor> t = V1Instances.toTensors(json("[1,2]"), NAMED);

    assertThat(t.get("input").shape()).containsExactly(1, 2);
  }

  @Test
  void toTensors_nestedSequenceRows_keepInnerShape() throws Exception {
    Map<String, Tensor> t = V1Instances.toTensors(json("[[[1],[2],[3]],[[4],[5],[6]]]"), SEQUENCE);

    assertThat(t.get("input").shape()).containsExactly(2, 3, 1);
  }

  @Test
  void toTensors_unknownFeature_isNamed() {
    assertThatThrownBy(() -> V1Instances.toTensors(json("[{\"a\":1,\"b\":2,\"c\":3}]"), NAMED))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("unknown feature 'c'");
  }

  @Test
  void toTensors_missingFeature_isNamed() {
    assertThatThrownBy(() -> V1Instances.toTensors(json("[{\"a\":1}]"), NAMED))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("missing feature 'b'");
  }

  @Test
  void toTensors_rowsOfUnequalLength_nameTheRow() {
    assertThatThrownBy(() -> V1Instances.toTensors(json("[[1],[2,3,4]]"), NAMED))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("instances[0]");
  }
}
