package dev.kiln.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CacheKeyTest {
  private static InferenceRequest request(
      String id, float[] data, List<String> outputs, Map<String, Object> params) {
    return new InferenceRequest(
        id,
        Map.of("input", Tensor.ofFloats("input", new long[] {1, data.length}, data)),
        outputs,
        params);
  }

  @Test
  void of_sameInputsOtherId_equal() {
    var a = CacheKey.of("m", 1, request("a", new float[] {1, 2}, List.of(), Map.of()));
    var b = CacheKey.of("m", 1, request("b", new float[] {1, 2}, List.of(), Map.of()));

    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
    assertThat(a.sha256()).isEqualTo(b.sha256());
  }

  @Test
  void of_otherData_notEqual() {
    var a = CacheKey.of("m", 1, request("a", new float[] {1, 2}, List.of(), Map.of()));
    var b = CacheKey.of("m", 1, request("a", new float[] {1, 3}, List.of(), Map.of()));

    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void of_otherShapeSameElements_notEqual() {
    var flat = CacheKey.of("m", 1, request("a", new float[] {1, 2}, List.of(), Map.of()));
    var column =
        CacheKey.of(
            "m",
            1,
            new InferenceRequest(
                "a",
                Map.of("input", Tensor.ofFloats("input", new long[] {2, 1}, new float[] {1, 2})),
                List.of(),
                Map.of()));

    assertThat(flat).isNotEqualTo(column);
  }

  @Test
  void of_otherOutputsOrParameters_notEqual() {
    var base = CacheKey.of("m", 1, request("a", new float[] {1}, List.of(), Map.of()));

    assertThat(base)
        .isNotEqualTo(CacheKey.of("m", 1, request("a", new float[] {1}, List.of("p"), Map.of())))
        .isNotEqualTo(
            CacheKey.of("m", 1, request("a", new float[] {1}, List.of(), Map.of("k", 1L))));
  }

  @Test
  void of_timeoutParameter_ignored() {
    var base = CacheKey.of("m", 1, request("a", new float[] {1}, List.of(), Map.of()));

    assertThat(CacheKey.of("m", 1, request("a", new float[] {1}, List.of(), Map.of("timeout", 5L))))
        .isEqualTo(base);
  }

  @Test
  void of_otherModelOrVersion_notEqual() {
    var r = request("a", new float[] {1}, List.of(), Map.of());

    assertThat(CacheKey.of("m", 1, r))
        .isNotEqualTo(CacheKey.of("n", 1, r))
        .isNotEqualTo(CacheKey.of("m", 2, r));
  }
}
