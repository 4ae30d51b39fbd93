package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A demo model's reference inputs and outputs, as the tool that trained it (scikit-learn, torch)
 * computed them: {@code tools/fixtures/expected/<model>.json}.
 */
record Fixture(String model, double tolerance, JsonNode inputs, JsonNode outputs) {
  static final String RF = "breast-cancer-rf";
  static final String LSTM = "stock-lstm";

  static Fixture load(String model) {
    var file = TestServer.kilnRoot().resolve("tools/fixtures/expected/" + model + ".json");
    try {
      JsonNode root = TestServer.MAPPER.readTree(file.toFile());
      return new Fixture(
          model, root.get("tolerance").asDouble(), root.get("inputs"), root.get("outputs"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The one input's rows, nested as the fixture holds them. */
  JsonNode input() {
    return inputs.get("input");
  }

  int rows() {
    return input().size();
  }

  /** The shape of the nested input array, e.g. [20, 30] or [8, 30, 1]. */
  long[] inputShape() {
    List<Long> dims = new ArrayList<>();
    for (JsonNode n = input(); n.isArray(); n = n.get(0)) {
      dims.add((long) n.size());
    }
    return dims.stream().mapToLong(Long::longValue).toArray();
  }

  float[] flatInput() {
    double[] d = flatten(input());
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  /** The expected elements of an output, flattened in row-major order. */
  double[] expected(String output) {
    return flatten(outputs.get(output));
  }

  /** Asserts that a flat or nested JSON {@code data} equals the reference within tolerance. */
  void assertOutput(String output, JsonNode data) {
    assertThat(flatten(data)).containsExactly(expected(output), within(tolerance));
  }

  void assertOutput(String output, double[] actual) {
    assertThat(actual).containsExactly(expected(output), within(tolerance));
  }

  static double[] flatten(JsonNode n) {
    List<Double> out = new ArrayList<>();
    flattenInto(n, out);
    return out.stream().mapToDouble(Double::doubleValue).toArray();
  }

  private static void flattenInto(JsonNode n, List<Double> out) {
    if (n.isArray()) {
      n.forEach(c -> flattenInto(c, out));
    } else {
      out.add(n.asDouble());
    }
  }

  /** A v2 infer request with one FP32 input named {@code input} holding the given data. */
  static ObjectNode v2Request(long[] shape, JsonNode data) {
    ObjectNode req = TestServer.MAPPER.createObjectNode();
    ObjectNode in = req.putArray("inputs").addObject();
    in.put("name", "input").put("datatype", "FP32");
    ArrayNode s = in.putArray("shape");
    for (long d : shape) {
      s.add(d);
    }
    in.set("data", data);
    return req;
  }

  /** This fixture's inputs as a v2 request, data flattened. */
  ObjectNode v2FlatRequest() {
    ArrayNode flat = TestServer.MAPPER.createArrayNode();
    for (float f : flatInput()) {
      flat.add(f);
    }
    return v2Request(inputShape(), flat);
  }

  /** This fixture's inputs as a v2 request, data nested as in the fixture. */
  ObjectNode v2NestedRequest() {
    return v2Request(inputShape(), input().deepCopy());
  }

  static byte[] littleEndian(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return b.array();
  }

  static float[] floatsLittleEndian(byte[] bytes, int from, int length) {
    float[] out = new float[length / 4];
    ByteBuffer.wrap(bytes, from, length)
        .slice()
        .order(ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer()
        .get(out);
    return out;
  }

  static long[] longsLittleEndian(byte[] bytes, int from, int length) {
    long[] out = new long[length / 8];
    ByteBuffer.wrap(bytes, from, length)
        .slice()
        .order(ByteOrder.LITTLE_ENDIAN)
        .asLongBuffer()
        .get(out);
    return out;
  }

  static double[] toDoubles(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  static double[] toDoubles(long[] l) {
    double[] d = new double[l.length];
    for (int i = 0; i < l.length; i++) {
      d[i] = l[i];
    }
    return d;
  }
}
