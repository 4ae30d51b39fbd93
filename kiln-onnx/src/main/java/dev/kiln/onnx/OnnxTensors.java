package dev.kiln.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Converts between Kiln's {@link Tensor}s (flat Java arrays) and ONNX Runtime's {@link OnnxTensor}s
 * (native memory). This is the hot path, so it goes through NIO buffers and never through the
 * multi-dimensional Java arrays that {@link OnnxTensor#getValue()} builds: one copy in (ONNX
 * Runtime copies a heap buffer into a direct one) and one copy out (its {@code get*Buffer} methods
 * return a heap buffer whose backing array becomes the Kiln tensor's data as is).
 */
final class OnnxTensors {
  private OnnxTensors() {}

  /** The Kiln type of an ONNX element type, or empty when Kiln does not support it yet. */
  static Optional<DataType> dataType(OnnxTensorType type) {
    return Optional.ofNullable(
        switch (type) {
          case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> DataType.FP32;
          case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> DataType.FP64;
          case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> DataType.INT64;
          case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> DataType.INT32;
          case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> DataType.BOOL;
          case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING -> DataType.BYTES;
          default -> null;
        });
  }

  /** A short name for an ONNX element type in messages: FLOAT16 rather than the C enum name. */
  static String describe(OnnxTensorType type) {
    return type.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "");
  }

  /**
   * A new ONNX Runtime tensor holding a copy of {@code t}; the caller closes it. BYTES elements
   * become strings, decoded as UTF-8: ONNX Runtime's Java API takes string tensors only as {@code
   * String[]}, so bytes that are not UTF-8 do not survive the trip.
   */
  static OnnxTensor toOrt(OrtEnvironment env, Tensor t) throws OrtException {
    long[] shape = t.shape();
    return switch (t.datatype()) {
      case FP32 -> OnnxTensor.createTensor(env, FloatBuffer.wrap(t.floats()), shape);
      case FP64 -> OnnxTensor.createTensor(env, DoubleBuffer.wrap(t.doubles()), shape);
      case INT64 -> OnnxTensor.createTensor(env, LongBuffer.wrap(t.longs()), shape);
      case INT32 -> OnnxTensor.createTensor(env, IntBuffer.wrap(t.ints()), shape);
      case BOOL -> OnnxTensor.createTensor(env, booleans(t.booleans()), shape, OnnxJavaType.BOOL);
      case BYTES -> OnnxTensor.createTensor(env, strings(t.bytes()), shape);
    };
  }

  /** Copies an ONNX Runtime tensor into a Kiln tensor named {@code name}. */
  static Tensor fromOrt(String name, OnnxTensor t) throws OrtException {
    TensorInfo info = t.getInfo();
    DataType type =
        dataType(info.onnxType)
            .orElseThrow(() ->
                KilnException.of(
                    ErrorKind.UNSUPPORTED,
                    "output '%s': element type %s is not supported",
                    name,
                    describe(info.onnxType)));
    Object data =
        switch (type) {
          case FP32 -> floats(t.getFloatBuffer());
          case FP64 -> doubles(t.getDoubleBuffer());
          case INT64 -> longs(t.getLongBuffer());
          case INT32 -> ints(t.getIntBuffer());
          case BOOL -> booleans(t.getByteBuffer());
          case BYTES -> bytes(t.getValue(), Math.toIntExact(info.getNumElements()));
        };
    return new Tensor(name, type, info.getShape(), data);
  }

  /** ONNX booleans are one byte each, 0 or 1; written straight into the direct buffer it uses. */
  private static ByteBuffer booleans(boolean[] values) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(values.length).order(ByteOrder.nativeOrder());
    for (boolean v : values) {
      buffer.put((byte) (v ? 1 : 0));
    }
    return buffer.rewind();
  }

  private static String[] strings(byte[][] values) {
    String[] out = new String[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = new String(values[i], StandardCharsets.UTF_8);
    }
    return out;
  }

  // ONNX Runtime returns each buffer as a fresh heap copy sized to the tensor, so its backing
  // array can be adopted without another copy; the fallback covers any other buffer.

  private static float[] floats(FloatBuffer b) {
    if (b.hasArray()
        && b.arrayOffset() == 0
        && b.position() == 0
        && b.array().length == b.limit()) {
      return b.array();
    }
    float[] out = new float[b.remaining()];
    b.get(out);
    return out;
  }

  private static double[] doubles(DoubleBuffer b) {
    if (b.hasArray()
        && b.arrayOffset() == 0
        && b.position() == 0
        && b.array().length == b.limit()) {
      return b.array();
    }
    double[] out = new double[b.remaining()];
    b.get(out);
    return out;
  }

  private static long[] longs(LongBuffer b) {
    if (b.hasArray()
        && b.arrayOffset() == 0
        && b.position() == 0
        && b.array().length == b.limit()) {
      return b.array();
    }
    long[] out = new long[b.remaining()];
    b.get(out);
    return out;
  }

  private static int[] ints(IntBuffer b) {
    if (b.hasArray()
        && b.arrayOffset() == 0
        && b.position() == 0
        && b.array().length == b.limit()) {
      return b.array();
    }
    int[] out = new int[b.remaining()];
    b.get(out);
    return out;
  }

  private static boolean[] booleans(ByteBuffer b) {
    boolean[] out = new boolean[b.remaining()];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.get(b.position() + i) != 0;
    }
    return out;
  }

  /**
   * Flattens the strings of a string tensor into UTF-8 byte strings. The Java API has no flat
   * accessor for strings: {@link OnnxTensor#getValue()} gives a String for a scalar, a String[] for
   * rank 1 and nested arrays above that, which this walks in row-major order.
   */
  private static byte[][] bytes(Object value, int count) {
    byte[][] out = new byte[count][];
    int n = flatten(value, out, 0);
    if (n != count) {
      throw new IllegalStateException("string tensor holds " + n + " elements, expected " + count);
    }
    return out;
  }

  private static int flatten(Object value, byte[][] out, int at) {
    if (value instanceof String s) {
      out[at] = s.getBytes(StandardCharsets.UTF_8);
      return at + 1;
    }
    for (Object item : (Object[]) value) {
      at = flatten(item, out, at);
    }
    return at;
  }
}
