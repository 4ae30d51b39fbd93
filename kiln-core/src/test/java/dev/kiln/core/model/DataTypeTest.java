package dev.kiln.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class DataTypeTest {
  @ParameterizedTest
  @EnumSource(DataType.class)
  void parse_supportedName_returnsType(DataType type) {
    assertThat(DataType.parse(type.name(), "inputs.x.datatype")).isEqualTo(type);
  }

  @ParameterizedTest
  @ValueSource(strings = {"FP16", "BF16", "UINT8", "INT8", "INT16", "UINT64"})
  void parse_knownButUnsupportedName_throwsUnsupported(String name) {
    assertThatThrownBy(() -> DataType.parse(name, "inputs.x.datatype"))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED))
        .hasMessageContaining("inputs.x.datatype")
        .hasMessageContaining(name);
  }

  @Test
  void parse_unknownName_throwsInvalidInputNamingField() {
    assertThatThrownBy(() -> DataType.parse("FLOAT", "inputs.x.datatype"))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("inputs.x.datatype")
        .hasMessageContaining("'FLOAT'");
  }

  @Test
  void parse_lowerCaseName_throwsInvalidInput() {
    assertThatThrownBy(() -> DataType.parse("fp32", "inputs.x.datatype"))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT));
  }

  @Test
  void parse_null_throwsInvalidInputNamingField() {
    assertThatThrownBy(() -> DataType.parse(null, "inputs.x.datatype"))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("inputs.x.datatype");
  }

  @ParameterizedTest
  @EnumSource(DataType.class)
  void allocate_anyType_returnsItsArrayType(DataType type) {
    assertThat(type.allocate(3)).isInstanceOf(type.arrayType());
  }
}
