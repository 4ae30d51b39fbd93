package dev.kiln.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A {@code .safetensors} file, memory-mapped: an 8-byte little-endian header length N, N bytes of
 * JSON {@code {name: {dtype, shape, data_offsets: [begin, end]}}} (plus an optional {@code
 * __metadata__}), then the tensors' raw little-endian bytes, offsets counted from the end of the
 * header. Tensors are views into the mapping; nothing is copied onto the heap. The mapping lives
 * until the arena passed to {@link #open} is closed.
 */
final class SafeTensors {
  static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfShort U16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** Element types this reader understands. */
  enum DType {
    F32(4),
    F16(2),
    BF16(2);

    final int sizeBytes;

    DType(int sizeBytes) {
      this.sizeBytes = sizeBytes;
    }
  }

  /** One tensor: its type, shape and bytes (a slice of the mapping). */
  record Entry(String name, DType dtype, long[] shape, MemorySegment data) {
    long elementCount() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    @Override
    public String toString() {
      return name + " " + dtype + " " + Arrays.toString(shape);
    }
  }

  private final Path file;
  private final Map<String, Entry> entries;

  private SafeTensors(Path file, Map<String, Entry> entries) {
    this.file = file;
    this.entries = entries;
  }

  /** Maps a file into {@code arena} and parses its header. */
  static SafeTensors open(Path file, Arena arena) {
    MemorySegment all;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
    } catch (IOException e) {
      throw new KilnException(ErrorKind.INTERNAL, file + ": cannot map it: " + e, e);
    }
    String name = file.getFileName().toString();
    if (all.byteSize() < 8) {
      throw bad(name, "too short for a header");
    }
    long headerLength =
        all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
    if (headerLength <= 0 || headerLength > all.byteSize() - 8 || headerLength > 100_000_000) {
      throw bad(name, "header length " + headerLength + " does not fit the file");
    }
    byte[] json = all.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
    MemorySegment data = all.asSlice(8 + headerLength);
    JsonNode header;
    try {
      header = new ObjectMapper().readTree(new String(json, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw bad(name, "header is not JSON: " + e.getMessage());
    }
    Map<String, Entry> entries = new LinkedHashMap<>();
    for (var field : header.properties()) {
      if (field.getKey().equals("__metadata__")) {
        continue;
      }
      entries.put(field.getKey(), entry(name, field.getKey(), field.getValue(), data));
    }
    return new SafeTensors(file, entries);
  }

  private static Entry entry(String file, String tensor, JsonNode node, MemorySegment data) {
    DType dtype;
    try {
      dtype = DType.valueOf(node.path("dtype").asText());
    } catch (IllegalArgumentException e) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "%s: tensor %s has dtype %s; kiln-llm reads F32, F16 and BF16",
          file,
          tensor,
          node.path("dtype").asText());
    }
    JsonNode shapeNode = node.path("shape");
    long[] shape = new long[shapeNode.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = shapeNode.get(i).asLong();
      count *= shape[i];
    }
    long begin = node.path("data_offsets").path(0).asLong(-1);
    long end = node.path("data_offsets").path(1).asLong(-1);
    if (begin < 0
        || end < begin
        || end > data.byteSize()
        || end - begin != count * dtype.sizeBytes) {
      throw bad(
          file,
          "tensor "
              + tensor
              + " has data_offsets ["
              + begin
              + ", "
              + end
              + "] that "
              + "do not fit its shape "
              + Arrays.toString(shape)
              + " or the file");
    }
    return new Entry(tensor, dtype, shape, data.asSlice(begin, end - begin));
  }

  Set<String> names() {
    return entries.keySet();
  }

  /** The tensor called {@code name}, or null. */
  Entry get(String name) {
    return entries.get(name);
  }

  Path file() {
    return file;
  }

  /** Element {@code i} of a tensor as a float, whatever its stored type. */
  static float read(Entry e, long i) {
    return switch (e.dtype()) {
      case F32 -> e.data().get(F32, i * 4);
      case BF16 -> Float.intBitsToFloat((e.data().get(U16, i * 2) & 0xffff) << 16);
      case F16 -> Float.float16ToFloat(e.data().get(U16, i * 2));
    };
  }

  /** A tensor's elements as floats on the heap: for the small vectors (biases, norms). */
  static float[] toFloats(Entry e) {
    float[] out = new float[Math.toIntExact(e.elementCount())];
    for (int i = 0; i < out.length; i++) {
      out[i] = read(e, i);
    }
    return out;
  }

  /**
   * A tensor as little-endian F32 bytes: the mapping itself for F32 (no copy), otherwise decoded
   * once into {@code arena}, off the heap, until kernels that read BF16/F16 directly exist.
   */
  static MemorySegment asF32(Entry e, Arena arena) {
    if (e.dtype() == DType.F32) {
      return e.data();
    }
    long n = e.elementCount(); // a product over the shape: not once per element
    MemorySegment out = arena.allocate(n * 4, 64);
    for (long i = 0; i < n; i++) {
      out.set(F32, i * 4, read(e, i));
    }
    return out;
  }

  private static KilnException bad(String file, String what) {
    return KilnException.of(ErrorKind.INTERNAL, "%s: not a valid safetensors file: %s", file, what);
  }
}
