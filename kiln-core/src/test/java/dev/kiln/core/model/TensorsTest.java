package dev.kiln.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Batch arithmetic: concat and slice. Validation is in {@link TensorsValidateTest}. */
class TensorsTest {
  private static final Tensor A = Tensor.ofFloats("x", new long[] {2, 2}, new float[] {1, 2, 3, 4});
  private static final Tensor B = Tensor.ofFloats("x", new long[] {1, 2}, new float[] {5, 6});

  @Test
  void concat_fp32Parts_joinsRowsInOrder() {
    Tensor joined = Tensors.concat(List.of(A, B));

    assertThat(joined)
        .isEqualTo(Tensor.ofFloats("x", new long[] {3, 2}, new float[] {1, 2, 3, 4, 5, 6}));
  }

  @Test
  void concatThenSlice_fp32_returnsOriginalParts() {
    Tensor joined = Tensors.concat(List.of(A, B));

    assertThat(Tensors.slice(joined, 0, 2)).isEqualTo(A);
    assertThat(Tensors.slice(joined, 2, 1)).isEqualTo(B);
  }

  @Test
  void concatThenSlice_bytes_returnsOriginalParts() {
    Tensor first = TensorTest.bytes("s", "alpha", "");
    Tensor second = TensorTest.bytes("s", "\u00e9t\u00e9");
    Tensor joined = Tensors.concat(List.of(first, second));

    assertThat(joined.shape()).containsExactly(3);
    assertThat(Tensors.slice(joined, 0, 2)).isEqualTo(first);
    assertThat(Tensors.slice(joined, 2, 1)).isEqualTo(second);
  }

  @Test
  void concat_onePart_returnsIt() {
    assertThat(Tensors.concat(List.of(A))).isSameAs(A);
  }

  @Test
  void concat_empty_throws() {
    assertThatThrownBy(() -> Tensors.concat(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void concat_differentTrailingShape_throws() {
    Tensor wide = Tensor.ofFloats("x", new long[] {1, 3}, new float[3]);

    assertThatThrownBy(() -> Tensors.concat(List.of(A, wide)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot batch");
  }

  @Test
  void concat_differentDatatype_throws() {
    Tensor longs = new Tensor("x", DataType.INT64, new long[] {1, 2}, new long[2]);

    assertThatThrownBy(() -> Tensors.concat(List.of(A, longs)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot batch");
  }

  @Test
  void slice_middleRows_copiesThoseRows() {
    Tensor t = Tensor.ofFloats("x", new long[] {3, 2}, new float[] {1, 2, 3, 4, 5, 6});

    assertThat(Tensors.slice(t, 1, 1))
        .isEqualTo(Tensor.ofFloats("x", new long[] {1, 2}, new float[] {3, 4}));
  }

  @Test
  void slice_copy_doesNotAliasSource() {
    Tensor t = Tensor.ofFloats("x", new long[] {3, 2}, new float[] {1, 2, 3, 4, 5, 6});

    Tensor part = Tensors.slice(t, 0, 1);
    part.floats()[0] = 99;

    assertThat(t.floats()[0]).isEqualTo(1f);
  }
}
