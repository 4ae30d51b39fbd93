package dev.kiln.trees;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A minimal reader of the protobuf wire format, enough to read an ONNX {@code ModelProto} without a
 * protobuf dependency. It walks fields one at a time over a {@link ByteBuffer} window; a nested
 * message is read by {@link #message()}, which returns a reader over its bytes only, and fields
 * that are not wanted are skipped without being read (so a large initializer in a memory-mapped
 * file costs nothing).
 *
 * <p>Usage: {@code while (r.next()) switch (r.field()) { case 1 -> r.string(); default -> r.skip();
 * }}. Every value accessor must be called at most once per field, and a field must be consumed or
 * skipped before the next {@link #next}. Malformed input throws {@link IllegalArgumentException}.
 */
final class Protobuf {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LEN = 2;
  static final int FIXED32 = 5;

  private final ByteBuffer buf;
  private int tag;

  Protobuf(ByteBuffer buf) {
    this.buf = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Advances to the next field; false at the end of the message. */
  boolean next() {
    if (!buf.hasRemaining()) {
      return false;
    }
    long t = varint();
    if (t >>> 3 == 0 || t > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("bad protobuf tag " + t);
    }
    tag = (int) t;
    return true;
  }

  int field() {
    return tag >>> 3;
  }

  int wireType() {
    return tag & 7;
  }

  long varint() {
    long result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = get();
      result |= (long) (b & 0x7f) << shift;
      if (b >= 0) {
        return result;
      }
    }
    throw new IllegalArgumentException("varint longer than 10 bytes");
  }

  float fixed32Float() {
    need(4);
    return buf.getFloat();
  }

  /** A length-delimited field's bytes as a reader of their own. */
  Protobuf message() {
    return new Protobuf(bytes());
  }

  String string() {
    ByteBuffer b = bytes();
    byte[] a = new byte[b.remaining()];
    b.get(a);
    return new String(a, StandardCharsets.UTF_8);
  }

  ByteBuffer bytes() {
    expect(LEN);
    long n = varint();
    if (n < 0 || n > buf.remaining()) {
      throw new IllegalArgumentException("length " + n + " past the end of the message");
    }
    ByteBuffer b = buf.slice(buf.position(), (int) n);
    buf.position(buf.position() + (int) n);
    return b;
  }

  /** An int64 field: one varint, or a packed run of them (appended to {@code out}). */
  void int64s(LongList out) {
    if (wireType() == VARINT) {
      out.add(varint());
      return;
    }
    Protobuf packed = new Protobuf(bytes());
    while (packed.buf.hasRemaining()) {
      out.add(packed.varint());
    }
  }

  /** A float field: one fixed32, or a packed run of them. */
  void floats(FloatList out) {
    if (wireType() == FIXED32) {
      out.add(fixed32Float());
      return;
    }
    ByteBuffer b = bytes().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() % 4 != 0) {
      throw new IllegalArgumentException("packed floats of " + b.remaining() + " bytes");
    }
    while (b.hasRemaining()) {
      out.add(b.getFloat());
    }
  }

  void skip() {
    switch (wireType()) {
      case VARINT -> varint();
      case FIXED64 -> advance(8);
      case LEN -> bytes();
      case FIXED32 -> advance(4);
      default -> throw new IllegalArgumentException("unsupported wire type " + wireType());
    }
  }

  private void expect(int wire) {
    if (wireType() != wire) {
      throw new IllegalArgumentException(
          "field " + field() + ": wire type " + wireType() + ", expected " + wire);
    }
  }

  private void advance(int n) {
    need(n);
    buf.position(buf.position() + n);
  }

  private byte get() {
    need(1);
    return buf.get();
  }

  private void need(int n) {
    if (buf.remaining() < n) {
      throw new IllegalArgumentException("truncated protobuf message");
    }
  }

  /** A growable long array. */
  static final class LongList {
    long[] a = new long[8];
    int size;

    void add(long v) {
      if (size == a.length) {
        a = java.util.Arrays.copyOf(a, 2 * size);
      }
      a[size++] = v;
    }

    long[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }
  }

  /** A growable float array. */
  static final class FloatList {
    float[] a = new float[8];
    int size;

    void add(float v) {
      if (size == a.length) {
        a = java.util.Arrays.copyOf(a, 2 * size);
      }
      a[size++] = v;
    }

    float[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }
  }
}
