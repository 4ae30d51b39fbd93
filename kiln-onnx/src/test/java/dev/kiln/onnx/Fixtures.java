package dev.kiln.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The real fixtures: the demo models under {@code <repo>/models}, their expected outputs from
 * sklearn and torch under {@code <repo>/tools/fixtures/expected}, and the tiny type models that
 * {@code src/test/resources/make_types_model.py} builds.
 */
final class Fixtures {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Fixtures() {}

  /** The repository root; surefire passes it as {@code -Dkiln.root}. */
  static Path root() {
    String root = System.getProperty("kiln.root");
    assertThat(root).as("system property kiln.root (set by surefire)").isNotNull();
    return Path.of(root);
  }

  /** Version 1 of a demo model under {@code <repo>/models}. */
  static Path demoModel(String name) {
    return root().resolve("models").resolve(name).resolve("1");
  }

  /** A directory under {@code src/test/resources} that holds a model.onnx. */
  static Path resourceModel(String name) {
    URL url = Fixtures.class.getResource("/" + name + "/model.onnx");
    assertThat(url).as("test resource %s/model.onnx", name).isNotNull();
    try {
      return Path.of(url.toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static ModelSource source(String model, Path dir) {
    return source(model, dir, Map.of(), KilnConfig.defaults());
  }

  static ModelSource source(
      String model, Path dir, Map<String, String> parameters, KilnConfig config) {
    return new ModelSource(model, 1, dir, parameters, config);
  }

  /** Loads a model through the runtime, as the registry does. */
  static OnnxModel load(String model, Path dir) {
    return (OnnxModel) new OnnxRuntime().load(source(model, dir));
  }

  /** {@code tools/fixtures/expected/<model>.json}. */
  static JsonNode expected(String model) {
    Path file = root().resolve("tools/fixtures/expected").resolve(model + ".json");
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Rows {@code [from, from + count)} of nested JSON rows as one FP32 tensor. */
  static Tensor floatRows(String name, JsonNode rows, int from, int count) {
    List<Double> values = new ArrayList<>();
    long[] shape = null;
    for (int r = from; r < from + count; r++) {
      long[] rowShape = flatten(rows.get(r), values);
      if (shape == null) {
        shape = new long[rowShape.length + 1];
        System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
      }
    }
    shape[0] = count;
    float[] data = new float[values.size()];
    for (int i = 0; i < data.length; i++) {
      // The fixture writes each float32 as its exact double, so the cast restores it bit for bit.
      data[i] = (float) (double) values.get(i);
    }
    return Tensor.ofFloats(name, shape, data);
  }

  private static long[] flatten(JsonNode node, List<Double> out) {
    if (!node.isArray()) {
      out.add(node.asDouble());
      return new long[0];
    }
    long[] inner = new long[0];
    for (JsonNode item : node) {
      inner = flatten(item, out);
    }
    long[] shape = new long[inner.length + 1];
    shape[0] = node.size();
    System.arraycopy(inner, 0, shape, 1, inner.length);
    return shape;
  }

  /** Rows {@code [from, from + count)} of nested JSON rows, flattened. */
  static float[] expectedFloats(JsonNode rows, int from, int count) {
    List<Double> values = new ArrayList<>();
    for (int r = from; r < from + count; r++) {
      flatten(rows.get(r), values);
    }
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) (double) values.get(i);
    }
    return out;
  }

  static long[] expectedLongs(JsonNode rows, int from, int count) {
    long[] out = new long[count];
    for (int i = 0; i < count; i++) {
      out[i] = rows.get(from + i).asLong();
    }
    return out;
  }

  static InferenceRequest request(String id, Tensor... inputs) {
    return request(id, List.of(), inputs);
  }

  static InferenceRequest request(String id, List<String> outputs, Tensor... inputs) {
    var map = new java.util.LinkedHashMap<String, Tensor>();
    for (Tensor t : inputs) {
      map.put(t.name(), t);
    }
    return new InferenceRequest(id, map, outputs, Map.of());
  }

  /** The outputs of a result that must have succeeded. */
  static Map<String, Tensor> outputs(InferenceResult result) {
    assertThat(result).isInstanceOf(InferenceResult.Success.class);
    return result.orThrow();
  }

  static void assertFloats(Tensor actual, long[] shape, float[] expected, double tolerance) {
    assertThat(actual.shape()).as("%s shape", actual.name()).containsExactly(shape);
    assertThat(actual.floats())
        .as("%s vs %s", actual.name(), Arrays.toString(expected))
        .containsExactly(expected, within((float) tolerance));
  }
}
