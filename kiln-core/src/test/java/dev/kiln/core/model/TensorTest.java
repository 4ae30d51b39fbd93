package dev.kiln.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TensorTest {
  @Test
  void new_dataMatchesShape_holdsElements() {
    Tensor t = Tensor.ofFloats("x", new long[] {2, 3}, new float[6]);

    assertThat(t.size()).isEqualTo(6);
    assertThat(t.batchSize()).isEqualTo(2);
  }

  @Test
  void new_elementCountDiffersFromShape_throwsNamingTensor() {
    assertThatThrownBy(() -> Tensor.ofFloats("x", new long[] {2, 3}, new float[5]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tensor x")
        .hasMessageContaining("6 elements")
        .hasMessageContaining("has 5");
  }

  @Test
  void new_arrayOfWrongType_throwsNamingExpectedType() {
    assertThatThrownBy(() -> new Tensor("x", DataType.FP32, new long[] {2}, new int[2]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tensor x")
        .hasMessageContaining("float[]");
  }

  @Test
  void new_bytesWithStringArray_throws() {
    assertThatThrownBy(() -> new Tensor("s", DataType.BYTES, new long[] {1}, new String[] {"a"}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("byte[][]");
  }

  @Test
  void new_nullData_throws() {
    assertThatThrownBy(() -> new Tensor("x", DataType.INT64, new long[] {1}, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tensor x");
  }

  @Test
  void new_negativeDimension_throws() {
    assertThatThrownBy(() -> Tensor.ofFloats("x", new long[] {-1, 2}, new float[2]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("negative dimension");
  }

  @Test
  void new_scalarShape_holdsOneElementWithBatchOne() {
    Tensor t = new Tensor("s", DataType.INT32, new long[] {}, new int[] {7});

    assertThat(t.batchSize()).isEqualTo(1);
  }

  @Test
  void equals_sameBytesContent_isEqual() {
    Tensor a = bytes("s", "hi", "there");
    Tensor b = bytes("s", "hi", "there");

    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
  }

  @Test
  void equals_differentShapeSameData_isNotEqual() {
    Tensor a = Tensor.ofFloats("x", new long[] {2, 2}, new float[4]);
    Tensor b = Tensor.ofFloats("x", new long[] {4, 1}, new float[4]);

    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void rename_newName_keepsElements() {
    Tensor t = Tensor.ofFloats("x", new long[] {2}, new float[] {1, 2});

    assertThat(t.rename("y")).isEqualTo(Tensor.ofFloats("y", new long[] {2}, new float[] {1, 2}));
  }

  static Tensor bytes(String name, String... items) {
    byte[][] data = new byte[items.length][];
    for (int i = 0; i < items.length; i++) {
      data[i] = items[i].getBytes(StandardCharsets.UTF_8);
    }
    return new Tensor(name, DataType.BYTES, new long[] {items.length}, data);
  }
}
