package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.kiln.core.error.Checks;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads KServe v2 / Open Inference Protocol infer requests, JSON or with Triton's binary tensor
 * extension, straight into primitive arrays with Jackson's streaming parser (no tree, no boxing of
 * tensor data). {@code data} may be flat or nested; it is flattened in row-major order.
 */
final class V2Codec {
  private V2Codec() {}

  /** A decoded request plus what the response must echo or honour. */
  record Decoded(
      InferenceRequest request, Map<String, Boolean> binaryOutputs, boolean binaryDefault) {}

  /**
   * Decodes a body. {@code headerLength} is the Inference-Header-Content-Length, or -1 when the
   * whole body is JSON.
   */
  static Decoded decode(byte[] body, int headerLength) {
    int jsonLength = headerLength < 0 ? body.length : headerLength;
    Checks.requireInput(
        jsonLength <= body.length,
        "Inference-Header-Content-Length %d exceeds the body's %d bytes",
        headerLength,
        body.length);
    Checks.requireInput(jsonLength > 0, "the request body is empty; expected a JSON object");
    List<RawInput> raw = new ArrayList<>();
    Map<String, Boolean> binaryOutputs = new LinkedHashMap<>();
    List<String> outputs = new ArrayList<>();
    Map<String, Object> parameters = Map.of();
    String id = null;
    try (JsonParser p = Json.FACTORY.createParser(body, 0, jsonLength)) {
      expect(p.nextToken() == JsonToken.START_OBJECT, "the request body must be a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "id" -> id = t == JsonToken.VALUE_NULL ? null : p.getValueAsString();
          case "parameters" -> parameters = readParameters(p, "parameters");
          case "inputs" -> {
            expect(t == JsonToken.START_ARRAY, "inputs must be an array");
            while (p.nextToken() != JsonToken.END_ARRAY) {
              raw.add(readInput(p, raw.size()));
            }
          }
          case "outputs" -> {
            expect(t == JsonToken.START_ARRAY, "outputs must be an array");
            int i = 0;
            while (p.nextToken() != JsonToken.END_ARRAY) {
              readOutput(p, i++, outputs, binaryOutputs);
            }
          }
          default -> p.skipChildren();
        }
      }
      expect(p.currentToken() == JsonToken.END_OBJECT, "the request body is not one JSON object");
    } catch (IOException e) {
      throw Json.malformed(e);
    }
    Checks.requireInput(!raw.isEmpty(), "inputs: at least one input is required");
    Map<String, Tensor> inputs = new LinkedHashMap<>();
    ByteBuffer binary = ByteBuffer.wrap(body, jsonLength, body.length - jsonLength).slice();
    binary.order(ByteOrder.LITTLE_ENDIAN);
    for (RawInput in : raw) {
      Tensor tensor = in.binarySize >= 0 ? in.fromBinary(binary) : in.fromJson();
      Checks.requireInput(inputs.put(in.name, tensor) == null, "inputs: '%s' given twice", in.name);
    }
    Checks.requireInput(
        !binary.hasRemaining(),
        "the body has %d bytes of binary data beyond the declared binary_data_size",
        binary.remaining());
    boolean binaryDefault = Boolean.TRUE.equals(parameters.get("binary_data_output"));
    return new Decoded(
        new InferenceRequest(id, inputs, outputs, parameters), binaryOutputs, binaryDefault);
  }

  private static void readOutput(
      JsonParser p, int index, List<String> names, Map<String, Boolean> binary) throws IOException {
    expect(p.currentToken() == JsonToken.START_OBJECT, "outputs[%d] must be an object", index);
    String name = null;
    Boolean bin = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      p.nextToken();
      switch (f) {
        case "name" -> name = p.getValueAsString();
        case "parameters" -> {
          Map<String, Object> params = readParameters(p, "outputs[" + index + "].parameters");
          if (params.get("binary_data") instanceof Boolean b) {
            bin = b;
          }
        }
        default -> p.skipChildren();
      }
    }
    expect(name != null && !name.isEmpty(), "outputs[%d].name is required", index);
    names.add(name);
    if (bin != null) {
      binary.put(name, bin);
    }
  }

  /** Parameters are a flat object of scalars (v2 spec); nested values are kept as strings. */
  static Map<String, Object> readParameters(JsonParser p, String field) throws IOException {
    expect(p.currentToken() == JsonToken.START_OBJECT, "%s must be an object", field);
    Map<String, Object> out = new LinkedHashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String k = p.currentName();
      JsonToken t = p.nextToken();
      Object v =
          switch (t) {
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NUMBER_INT -> p.getLongValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_STRING -> p.getText();
            case VALUE_NULL -> null;
            default -> {
              p.skipChildren();
              yield "<" + t + ">";
            }
          };
      if (v != null) {
        out.put(k, v);
      }
    }
    return out;
  }

  private static RawInput readInput(JsonParser p, int index) throws IOException {
    expect(p.currentToken() == JsonToken.START_OBJECT, "inputs[%d] must be an object", index);
    RawInput in = new RawInput();
    in.field = "inputs[" + index + "]";
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken t = p.nextToken();
      switch (f) {
        case "name" -> {
          in.name = p.getValueAsString();
          in.field = "inputs." + in.name;
        }
        case "datatype" -> in.datatype = p.getValueAsString();
        case "shape" -> {
          expect(t == JsonToken.START_ARRAY, "%s.shape must be an array of integers", in.field);
          List<Long> dims = new ArrayList<>();
          while (p.nextToken() != JsonToken.END_ARRAY) {
            expect(
                p.currentToken() == JsonToken.VALUE_NUMBER_INT && p.getLongValue() >= 0,
                "%s.shape must hold non-negative integers",
                in.field);
            dims.add(p.getLongValue());
          }
          in.shape = dims.stream().mapToLong(Long::longValue).toArray();
        }
        case "parameters" -> {
          Map<String, Object> params = readParameters(p, in.field + ".parameters");
          Object size = params.get("binary_data_size");
          if (size != null) {
            expect(
                size instanceof Long l && l >= 0,
                "%s.parameters.binary_data_size must be a non-negative integer",
                in.field);
            in.binarySize = (Long) size;
          }
        }
        case "data" -> in.data = DataBuffer.read(p, in.field);
        default -> p.skipChildren();
      }
    }
    expect(in.name != null && !in.name.isEmpty(), "inputs[%d].name is required", index);
    return in;
  }

  static void expect(boolean ok, String format, Object... args) {
    Checks.requireInput(ok, format, args);
  }

  /** One input as read, before its datatype and shape turn its data into a tensor. */
  private static final class RawInput {
    String name;
    String field;
    String datatype;
    long[] shape;
    long binarySize = -1;
    DataBuffer data;

    private DataType type() {
      expect(shape != null, "%s.shape is required", field);
      return DataType.parse(datatype, field + ".datatype");
    }

    Tensor fromJson() {
      DataType type = type();
      expect(data != null, "%s.data is required (or binary_data_size for binary data)", field);
      long count = Tensor.elementCount(shape);
      expect(
          count == data.size(),
          "%s.data has %d elements but shape %s needs %d",
          field,
          data.size(),
          Arrays.toString(shape),
          count);
      return new Tensor(name, type, shape, data.toArray(type, field));
    }

    Tensor fromBinary(ByteBuffer buf) {
      DataType type = type();
      expect(data == null, "%s has both data and binary_data_size", field);
      expect(
          binarySize <= buf.remaining(),
          "%s.parameters.binary_data_size is %d but only %d binary bytes remain",
          field,
          binarySize,
          buf.remaining());
      ByteBuffer b = buf.slice(buf.position(), (int) binarySize).order(ByteOrder.LITTLE_ENDIAN);
      buf.position(buf.position() + (int) binarySize);
      long count = Tensor.elementCount(shape);
      expect(count <= Integer.MAX_VALUE, "%s: too many elements", field);
      int n = (int) count;
      if (type != DataType.BYTES) {
        expect(
            binarySize == count * type.sizeBytes(),
            "%s.parameters.binary_data_size is %d but shape %s of %s needs %d bytes",
            field,
            binarySize,
            Arrays.toString(shape),
            type,
            count * type.sizeBytes());
      }
      Object array =
          switch (type) {
            case BOOL -> {
              boolean[] a = new boolean[n];
              for (int i = 0; i < n; i++) {
                a[i] = b.get(i) != 0;
              }
              yield a;
            }
            case INT32 -> {
              int[] a = new int[n];
              b.asIntBuffer().get(a);
              yield a;
            }
            case INT64 -> {
              long[] a = new long[n];
              b.asLongBuffer().get(a);
              yield a;
            }
            case FP32 -> {
              float[] a = new float[n];
              b.asFloatBuffer().get(a);
              yield a;
            }
            case FP64 -> {
              double[] a = new double[n];
              b.asDoubleBuffer().get(a);
              yield a;
            }
            case BYTES -> {
              byte[][] a = new byte[n][];
              for (int i = 0; i < n; i++) {
                expect(b.remaining() >= 4, "%s: binary BYTES element %d has no length", field, i);
                int len = b.getInt();
                expect(
                    len >= 0 && len <= b.remaining(),
                    "%s: binary BYTES element %d claims %d bytes, %d remain",
                    field,
                    i,
                    len,
                    b.remaining());
                a[i] = new byte[len];
                b.get(a[i]);
              }
              expect(!b.hasRemaining(), "%s: binary BYTES data has trailing bytes", field);
              yield a;
            }
          };
      return new Tensor(name, type, shape, array);
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
