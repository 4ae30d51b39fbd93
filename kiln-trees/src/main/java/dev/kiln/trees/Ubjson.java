package dev.kiln.trees;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reader for Universal Binary JSON (ubjson.org, draft 12), the format of XGBoost's {@code .ubj}
 * files. It yields the values {@link Documents} yields for JSON, so one model reader serves both.
 *
 * <p>The format: every value starts with a one-byte marker: {@code Z} null, {@code N} no-op, {@code
 * T}/{@code F} booleans, {@code i U I l L} integers of 1 (signed), 1 (unsigned), 2, 4 and 8 bytes,
 * {@code d D} float32 and float64, {@code H} a high-precision number as text, {@code C} a char,
 * {@code S} a string (an integer length, then UTF-8), {@code [ ]} arrays and <code>{ }</code>
 * objects, whose keys are strings without the {@code S}. Numbers are big-endian. A container may
 * declare {@code $}type (its elements then carry no marker) and {@code #}count (then it has no end
 * marker); XGBoost writes its tree arrays as {@code [$d#L<n>} float32 and {@code [$l#L<n>} int32.
 */
final class Ubjson {
  private final ByteBuffer in;

  private Ubjson(byte[] bytes) {
    this.in = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
  }

  static Object read(byte[] bytes) throws IOException {
    Ubjson r = new Ubjson(bytes);
    try {
      Object value = r.value(r.marker());
      if (r.in.hasRemaining()) {
        throw new IOException("trailing bytes after the document at offset " + r.in.position());
      }
      return value;
    } catch (java.nio.BufferUnderflowException e) {
      throw new IOException("truncated document", e);
    }
  }

  /** Whether a document is an object whose first key is {@code key}; reads only that key. */
  static boolean firstKeyIs(byte[] head, String key) {
    Ubjson r = new Ubjson(head);
    try {
      if (r.marker() != '{') {
        return false;
      }
      byte m = r.marker();
      if (m == '$' || m == '#') {
        return false;
      }
      return key.equals(r.string(m));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** The next marker, skipping no-ops. */
  private byte marker() {
    byte m = in.get();
    while (m == 'N') {
      m = in.get();
    }
    return m;
  }

  private Object value(byte marker) throws IOException {
    return switch (marker) {
      case 'Z' -> null;
      case 'T' -> Boolean.TRUE;
      case 'F' -> Boolean.FALSE;
      case 'i', 'U', 'I', 'l', 'L' -> integer(marker);
      case 'd' -> in.getFloat();
      case 'D' -> in.getDouble();
      case 'H' -> highPrecision();
      case 'C' -> String.valueOf((char) (in.get() & 0xff));
      case 'S' -> string(marker());
      case '[' -> array();
      case '{' -> object();
      default ->
          throw new IOException(
              String.format(
                  "unknown marker 0x%02x at offset %d", marker & 0xff, in.position() - 1));
    };
  }

  private long integer(byte marker) throws IOException {
    return switch (marker) {
      case 'i' -> in.get();
      case 'U' -> in.get() & 0xff;
      case 'I' -> in.getShort();
      case 'l' -> in.getInt();
      case 'L' -> in.getLong();
      default ->
          throw new IOException(
              String.format(
                  "expected an integer marker, got 0x%02x at offset %d",
                  marker & 0xff, in.position() - 1));
    };
  }

  private Object highPrecision() throws IOException {
    String text = string(marker());
    return text.contains(".") || text.contains("e") || text.contains("E")
        ? (Object) Double.parseDouble(text)
        : (Object) Long.parseLong(text);
  }

  /** A string body: its length (an integer value with its marker), then UTF-8 bytes. */
  private String string(byte lengthMarker) throws IOException {
    int n = length(integer(lengthMarker));
    String s = new String(in.array(), in.position(), n, StandardCharsets.UTF_8);
    in.position(in.position() + n);
    return s;
  }

  private int length(long n) throws IOException {
    if (n < 0 || n > in.remaining()) {
      throw new IOException("bad length " + n + " at offset " + in.position());
    }
    return (int) n;
  }

  private Object array() throws IOException {
    byte type = 0;
    long count = -1;
    byte m = marker();
    if (m == '$') {
      type = in.get();
      m = in.get();
      if (m != '#') {
        throw new IOException("typed array without a count at offset " + in.position());
      }
    }
    if (m == '#') {
      count = integer(in.get());
      // Every element takes at least one byte, except in arrays of null/true/false.
      if (count < 0 || (type != 'Z' && type != 'T' && type != 'F' && count > in.remaining())) {
        throw new IOException("bad array count " + count + " at offset " + in.position());
      }
    }
    if (type != 0) {
      return typedArray(type, (int) count);
    }
    List<Object> items = new ArrayList<>();
    if (count >= 0) {
      for (long i = 0; i < count; i++) {
        items.add(value(marker()));
      }
    } else {
      for (; m != ']'; m = marker()) {
        items.add(value(m));
      }
    }
    return Documents.compact(items);
  }

  private Object typedArray(byte type, int count) throws IOException {
    switch (type) {
      case 'd' -> {
        float[] a = new float[count];
        in.asFloatBuffer().get(a);
        in.position(in.position() + 4 * count);
        return a;
      }
      case 'D' -> {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
          a[i] = (float) in.getDouble();
        }
        return a;
      }
      case 'i', 'U', 'I', 'l', 'L' -> {
        long[] a = new long[count];
        for (int i = 0; i < count; i++) {
          a[i] = integer(type);
        }
        return a;
      }
      default -> {
        List<Object> items = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
          items.add(value(type));
        }
        return Documents.compact(items);
      }
    }
  }

  private Object object() throws IOException {
    byte type = 0;
    long count = -1;
    byte m = marker();
    if (m == '$') {
      type = in.get();
      m = in.get();
      if (m != '#') {
        throw new IOException("typed object without a count at offset " + in.position());
      }
    }
    if (m == '#') {
      count = integer(in.get());
    }
    Map<String, Object> map = new LinkedHashMap<>();
    if (count >= 0) {
      for (long i = 0; i < count; i++) {
        String key = string(marker());
        map.put(key, value(type != 0 ? type : marker()));
      }
    } else {
      for (; m != '}'; m = marker()) {
        String key = string(m);
        map.put(key, value(marker()));
      }
    }
    return map;
  }
}
