package dev.kiln.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class V2CodecTest {
  private static V2Codec.Decoded decode(String json) {
    return V2Codec.decode(json.getBytes(StandardCharsets.UTF_8), -1);
  }

  private static KilnException invalid(String json) {
    Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> decode(json));
    assertThat(t).isInstanceOf(KilnException.class);
    KilnException e = (KilnException) t;
    assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    return e;
  }

  @Test
  void decode_flatData_readsFloatsInOrder() {
    var d =
        decode(
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,2],\"datatype\":\"FP32\",\"data\":[1,2.5,3,4]}]}");

    Tensor x = d.request().inputs().get("x");
    assertThat(x.datatype()).isEqualTo(DataType.FP32);
    assertThat(x.shape()).containsExactly(2, 2);
    assertThat(x.floats()).containsExactly(1f, 2.5f, 3f, 4f);
  }

  @Test
  void decode_nestedData_isFlattenedRowMajor() {
    var d =
        decode(
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,2],\"datatype\":\"FP64\",\"data\":[[1,2],[3,4]]}]}");

    assertThat(d.request().inputs().get("x").doubles()).containsExactly(1, 2, 3, 4);
  }

  @Test
  void decode_dataBeforeDatatype_isAccepted() {
    var d =
        decode(
            "{\"inputs\":[{\"data\":[7,8],\"name\":\"x\",\"datatype\":\"INT64\",\"shape\":[2]}]}");

    assertThat(d.request().inputs().get("x").longs()).containsExactly(7L, 8L);
  }

  @Test
  void decode_int64BeyondDoublePrecision_keepsAllBits() {
    var d =
        decode(
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[9007199254740993]}]}");

    assertThat(d.request().inputs().get("x").longs()).containsExactly(9007199254740993L);
  }

  @Test
  void decode_bytesAndBool_readAsUtf8AndBooleans() {
    var d =
        decode(
            "{\"inputs\":[{\"name\":\"s\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"héllo\",\"\"]},"
                + "{\"name\":\"b\",\"shape\":[2],\"datatype\":\"BOOL\",\"data\":[true,false]}]}");

    assertThat(new String(d.request().inputs().get("s").bytes()[0], StandardCharsets.UTF_8))
        .isEqualTo("héllo");
    assertThat(d.request().inputs().get("b").booleans()).containsExactly(true, false);
  }

  @Test
  void decode_idOutputsAndParameters_areKept() {
    var d =
        decode(
            "{\"id\":\"r1\",\"parameters\":{\"binary_data_output\":true,\"p\":3},"
                + "\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
                + "\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":false}}]}");

    assertThat(d.request().id()).isEqualTo("r1");
    assertThat(d.request().outputs()).containsExactly("y");
    assertThat(d.request().parameters()).containsEntry("p", 3L);
    assertThat(d.binaryDefault()).isTrue();
    assertThat(d.binaryOutputs()).containsEntry("y", false);
  }

  @Test
  void decode_binaryInput_readsLittleEndianAfterHeader() {
    byte[] header =
        ("{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\","
                + "\"parameters\":{\"binary_data_size\":8}}]}")
            .getBytes(StandardCharsets.UTF_8);
    ByteBuffer body = ByteBuffer.allocate(header.length + 8).order(ByteOrder.LITTLE_ENDIAN);
    body.put(header).putFloat(1.5f).putFloat(-2f);

    var d = V2Codec.decode(body.array(), header.length);

    assertThat(d.request().inputs().get("x").floats()).containsExactly(1.5f, -2f);
  }

  @Test
  void decode_binarySizeWrongForShape_namesTheField() {
    byte[] header =
        ("{\"inputs\":[{\"name\":\"x\",\"shape\":[3],\"datatype\":\"FP32\","
                + "\"parameters\":{\"binary_data_size\":8}}]}")
            .getBytes(StandardCharsets.UTF_8);
    byte[] body = new byte[header.length + 8];
    System.arraycopy(header, 0, body, 0, header.length);

    assertThatThrownBy(() -> V2Codec.decode(body, header.length))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("inputs.x.parameters.binary_data_size");
  }

  @Test
  void decode_elementCountMismatch_namesInputAndCounts() {
    assertThat(
            invalid(
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2]}]}")
                .getMessage())
        .contains("inputs.x.data has 2 elements but shape [1, 3] needs 3");
  }

  @Test
  void decode_malformedJson_reportsPosition() {
    assertThat(invalid("{\"inputs\":[{\"name\":").getMessage())
        .startsWith("malformed JSON at line 1");
  }

  @Test
  void decode_stringDataForFp32_namesTheField() {
    assertThat(
            invalid(
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[\"a\"]}]}")
                .getMessage())
        .contains("inputs.x.data");
  }

  @Test
  void decode_decimalsForInt64_areRejected() {
    assertThat(
            invalid(
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1.5]}]}")
                .getMessage())
        .contains("needs integers");
  }

  @Test
  void decode_missingShape_namesTheField() {
    assertThat(
            invalid("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"data\":[1]}]}")
                .getMessage())
        .contains("inputs.x.shape is required");
  }

  @Test
  void decode_noInputs_isRejected() {
    assertThat(invalid("{\"inputs\":[]}").getMessage()).contains("at least one input");
  }

  @Test
  void decode_nanLiteral_parsesAsNan() {
    var d =
        decode(
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[NaN]}]}");

    assertThat(d.request().inputs().get("x").floats()[0]).isNaN();
  }

  @Test
  void decode_nullElement_readsAsMissingNan() {
    var d =
        decode(
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1,null]}]}");

    assertThat(d.request().inputs().get("x").floats()[1]).isNaN();
  }
}
