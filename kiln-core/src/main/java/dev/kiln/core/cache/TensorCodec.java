package dev.kiln.core.cache;

import dev.kiln.core.model.DataType;
import dev.kiln.core.model.Tensor;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A compact, canonical binary form of tensors: the bytes of cache keys and of L2 values. Each
 * tensor is its name, datatype, shape and elements (little-endian), so equal tensors give equal
 * bytes.
 */
final class TensorCodec {
  private TensorCodec() {}

  /** A growable little-endian buffer. */
  static final class Out {
    private ByteBuffer buf;

    Out(int initial) {
      buf = ByteBuffer.allocate(Math.max(64, initial)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void room(int n) {
      if (buf.remaining() < n) {
        int size = Math.max(buf.capacity() * 2, buf.position() + n);
        ByteBuffer next = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        buf.flip();
        next.put(buf);
        buf = next;
      }
    }

    Out i32(int v) {
      room(4);
      buf.putInt(v);
      return this;
    }

    Out i64(long v) {
      room(8);
      buf.putLong(v);
      return this;
    }

    Out bytes(byte[] b) {
      i32(b.length);
      room(b.length);
      buf.put(b);
      return this;
    }

    Out string(String s) {
      return bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    Out tensor(Tensor t) {
      string(t.name());
      i32(t.datatype().ordinal());
      i32(t.shape().length);
      for (long d : t.shape()) {
        i64(d);
      }
      int n = t.size();
      switch (t.datatype()) {
        case FP32 -> {
          room(n * 4);
          buf.asFloatBuffer().put(t.floats());
          buf.position(buf.position() + n * 4);
        }
        case FP64 -> {
          room(n * 8);
          buf.asDoubleBuffer().put(t.doubles());
          buf.position(buf.position() + n * 8);
        }
        case INT64 -> {
          room(n * 8);
          buf.asLongBuffer().put(t.longs());
          buf.position(buf.position() + n * 8);
        }
        case INT32 -> {
          room(n * 4);
          buf.asIntBuffer().put(t.ints());
          buf.position(buf.position() + n * 4);
        }
        case BOOL -> {
          room(n);
          for (boolean b : t.booleans()) {
            buf.put((byte) (b ? 1 : 0));
          }
        }
        case BYTES -> {
          for (byte[] b : t.bytes()) {
            bytes(b);
          }
        }
      }
      return this;
    }

    byte[] toByteArray() {
      byte[] out = new byte[buf.position()];
      buf.get(0, out);
      return out;
    }
  }

  /** Outputs in their order. */
  static byte[] encode(Map<String, Tensor> outputs) {
    int estimate = 16;
    for (Tensor t : outputs.values()) {
      estimate += 64 + t.size() * 8;
    }
    Out out = new Out(estimate);
    out.i32(outputs.size());
    outputs.values().forEach(out::tensor);
    return out.toByteArray();
  }

  /** The inverse of {@link #encode}; throws IllegalArgumentException on a malformed value. */
  static Map<String, Tensor> decode(ByteBuffer in) {
    try {
      in.order(ByteOrder.LITTLE_ENDIAN);
      int count = in.getInt();
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (int i = 0; i < count; i++) {
        Tensor t = tensor(in);
        out.put(t.name(), t);
      }
      return out;
    } catch (BufferUnderflowException | IndexOutOfBoundsException | IllegalStateException e) {
      throw new IllegalArgumentException("malformed cached value", e);
    }
  }

  private static byte[] bytes(ByteBuffer in) {
    byte[] b = new byte[in.getInt()];
    in.get(b);
    return b;
  }

  private static Tensor tensor(ByteBuffer in) {
    String name = new String(bytes(in), StandardCharsets.UTF_8);
    DataType type = DataType.values()[in.getInt()];
    long[] shape = new long[in.getInt()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = in.getLong();
    }
    int n = Math.toIntExact(Tensor.elementCount(shape));
    Object data = type.allocate(n);
    switch (type) {
      case FP32 -> {
        in.asFloatBuffer().get((float[]) data);
        in.position(in.position() + n * 4);
      }
      case FP64 -> {
        in.asDoubleBuffer().get((double[]) data);
        in.position(in.position() + n * 8);
      }
      case INT64 -> {
        in.asLongBuffer().get((long[]) data);
        in.position(in.position() + n * 8);
      }
      case INT32 -> {
        in.asIntBuffer().get((int[]) data);
        in.position(in.position() + n * 4);
      }
      case BOOL -> {
        boolean[] b = (boolean[]) data;
        for (int i = 0; i < n; i++) {
          b[i] = in.get() != 0;
        }
      }
      case BYTES -> {
        byte[][] b = (byte[][]) data;
        for (int i = 0; i < n; i++) {
          b[i] = bytes(in);
        }
      }
    }
    return new Tensor(name, type, shape, data);
  }
}
