package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.kiln.core.model.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes tensor elements as JSON and as Triton's little-endian binary tensor data. */
final class TensorJson {
  private TensorJson() {}

  /** Writes elements {@code [from, to)} as a flat JSON array. */
  static void writeData(JsonGenerator g, Tensor t, int from, int to) throws IOException {
    g.writeStartArray();
    switch (t.datatype()) {
      case FP32 -> {
        float[] a = t.floats();
        for (int i = from; i < to; i++) {
          writeFloat(g, a[i]);
        }
      }
      case FP64 -> {
        double[] a = t.doubles();
        for (int i = from; i < to; i++) {
          writeDouble(g, a[i]);
        }
      }
      case INT64 -> {
        long[] a = t.longs();
        for (int i = from; i < to; i++) {
          g.writeNumber(a[i]);
        }
      }
      case INT32 -> {
        int[] a = t.ints();
        for (int i = from; i < to; i++) {
          g.writeNumber(a[i]);
        }
      }
      case BOOL -> {
        boolean[] a = t.booleans();
        for (int i = from; i < to; i++) {
          g.writeBoolean(a[i]);
        }
      }
      case BYTES -> {
        byte[][] a = t.bytes();
        for (int i = from; i < to; i++) {
          g.writeString(new String(a[i], StandardCharsets.UTF_8));
        }
      }
    }
    g.writeEndArray();
  }

  /** Writes one element as a JSON scalar. */
  static void writeElement(JsonGenerator g, Tensor t, int i) throws IOException {
    switch (t.datatype()) {
      case FP32 -> writeFloat(g, t.floats()[i]);
      case FP64 -> writeDouble(g, t.doubles()[i]);
      case INT64 -> g.writeNumber(t.longs()[i]);
      case INT32 -> g.writeNumber(t.ints()[i]);
      case BOOL -> g.writeBoolean(t.booleans()[i]);
      case BYTES -> g.writeString(new String(t.bytes()[i], StandardCharsets.UTF_8));
    }
  }

  // JSON has no NaN or infinity; outputs that hold them are written as null, as Triton does not
  // define them either and every JSON parser accepts null.
  private static void writeFloat(JsonGenerator g, float v) throws IOException {
    if (Float.isFinite(v)) {
      g.writeNumber(v);
    } else {
      g.writeNull();
    }
  }

  private static void writeDouble(JsonGenerator g, double v) throws IOException {
    if (Double.isFinite(v)) {
      g.writeNumber(v);
    } else {
      g.writeNull();
    }
  }

  /** The tensor's elements in Triton's binary format (BYTES: 4-byte length, then the bytes). */
  static byte[] binary(Tensor t) {
    int n = t.size();
    ByteBuffer b;
    switch (t.datatype()) {
      case BYTES -> {
        int total = 0;
        for (byte[] s : t.bytes()) {
          total += 4 + s.length;
        }
        b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] s : t.bytes()) {
          b.putInt(s.length).put(s);
        }
      }
      case BOOL -> {
        b = ByteBuffer.allocate(n);
        for (boolean v : t.booleans()) {
          b.put((byte) (v ? 1 : 0));
        }
      }
      default -> {
        b = ByteBuffer.allocate(n * t.datatype().sizeBytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.datatype()) {
          case FP32 -> b.asFloatBuffer().put(t.floats());
          case FP64 -> b.asDoubleBuffer().put(t.doubles());
          case INT64 -> b.asLongBuffer().put(t.longs());
          case INT32 -> b.asIntBuffer().put(t.ints());
          default -> throw new IllegalStateException();
        }
      }
    }
    return b.array();
  }

  static void writeShape(JsonGenerator g, long[] shape) throws IOException {
    g.writeStartArray();
    for (long d : shape) {
      g.writeNumber(d);
    }
    g.writeEndArray();
  }
}
