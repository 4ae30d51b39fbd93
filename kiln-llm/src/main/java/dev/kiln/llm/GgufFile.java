package dev.kiln.llm;

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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (version 2 or 3, little-endian), memory-mapped: the magic {@code GGUF}, a u32
 * version, u64 tensor and key-value counts, the typed key-values (strings are a u64 length and
 * UTF-8 bytes; arrays a u32 element type, a u64 count and the elements), then per tensor its name,
 * u32 dimension count, u64 dimensions (ne[0] first: the contiguous one), u32 ggml type and u64
 * offset, and finally the tensor data, aligned to {@code general.alignment} (default 32). Tensors
 * are views into the mapping; nothing is copied onto the heap. Metadata values become Long, Double,
 * Boolean, String or a List of them.
 */
final class GgufFile {
  private static final ValueLayout.OfInt U32 =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong U64 =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

  /** The ggml tensor types this reader maps (ids from ggml.h). */
  enum Type {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q8_0(8, 32, 34),
    BF16(30, 1, 2);

    final int id;
    final int blockSize; // elements per block
    final int blockBytes;

    Type(int id, int blockSize, int blockBytes) {
      this.id = id;
      this.blockSize = blockSize;
      this.blockBytes = blockBytes;
    }

    static Type of(int id) {
      for (Type t : values()) {
        if (t.id == id) {
          return t;
        }
      }
      return null;
    }
  }

  /** One tensor: type, dimensions in GGUF order (ne[0] contiguous) and its bytes in the mapping. */
  record Tensor(String name, Type type, long[] ne, MemorySegment data) {
    long elements() {
      long n = 1;
      for (long d : ne) {
        n *= d;
      }
      return n;
    }

    @Override
    public String toString() {
      return name + " " + type + " " + Arrays.toString(ne);
    }
  }

  private final Path file;
  private final Map<String, Object> metadata;
  private final Map<String, Tensor> tensors;

  private GgufFile(Path file, Map<String, Object> metadata, Map<String, Tensor> tensors) {
    this.file = file;
    this.metadata = metadata;
    this.tensors = tensors;
  }

  /** Maps {@code file} into {@code arena} and parses it. */
  static GgufFile open(Path file, Arena arena) {
    MemorySegment all;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
    } catch (IOException e) {
      throw new KilnException(ErrorKind.INTERNAL, file + ": cannot map it: " + e, e);
    }
    Reader r = new Reader(all, file.getFileName().toString());
    if (all.byteSize() < 24 || r.u32() != MAGIC) {
      throw r.bad("no GGUF magic");
    }
    int version = r.u32();
    if (version != 2 && version != 3) {
      throw r.bad("version " + version + " (kiln-llm reads GGUF 2 and 3)");
    }
    long tensorCount = r.count(r.u64());
    long kvCount = r.count(r.u64());
    Map<String, Object> metadata = new LinkedHashMap<>();
    for (long i = 0; i < kvCount; i++) {
      String key = r.string();
      metadata.put(key, r.value(r.u32()));
    }
    record Info(String name, long[] ne, int type, long offset) {}
    List<Info> infos = new ArrayList<>();
    for (long i = 0; i < tensorCount; i++) {
      String name = r.string();
      int dims = r.u32();
      if (dims < 1 || dims > 4) {
        throw r.bad("tensor " + name + " has " + dims + " dimensions");
      }
      long[] ne = new long[dims];
      for (int d = 0; d < dims; d++) {
        ne[d] = r.count(r.u64());
      }
      infos.add(new Info(name, ne, r.u32(), r.u64()));
    }
    long alignment =
        metadata.get("general.alignment") instanceof Long a && a > 0 && Long.bitCount(a) == 1
            ? a
            : 32;
    long base = (r.pos + alignment - 1) / alignment * alignment;
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (Info info : infos) {
      Type type = Type.of(info.type());
      if (type == null) {
        throw KilnException.of(
            ErrorKind.UNSUPPORTED,
            "%s: tensor %s has ggml type %d; kiln-llm reads F32, F16, BF16 and Q8_0",
            r.file,
            info.name(),
            info.type());
      }
      Tensor probe = new Tensor(info.name(), type, info.ne(), MemorySegment.NULL);
      long elements = probe.elements();
      if (info.ne()[0] % type.blockSize != 0) {
        throw r.bad("tensor " + info.name() + " rows are not whole " + type + " blocks");
      }
      long bytes = elements / type.blockSize * type.blockBytes;
      long start = base + info.offset();
      if (info.offset() < 0 || start + bytes > all.byteSize()) {
        throw r.bad("tensor " + info.name() + " lies outside the file");
      }
      tensors.put(info.name(), new Tensor(info.name(), type, info.ne(), all.asSlice(start, bytes)));
    }
    return new GgufFile(file, metadata, tensors);
  }

  Path file() {
    return file;
  }

  Map<String, Object> metadata() {
    return metadata;
  }

  /** The tensor called {@code name}, or null. */
  Tensor tensor(String name) {
    return tensors.get(name);
  }

  /** A required integer key. */
  long integer(String key) {
    if (metadata.get(key) instanceof Long n) {
      return n;
    }
    throw KilnException.of(ErrorKind.INTERNAL, "%s: no integer %s", file.getFileName(), key);
  }

  /** A string key, or null. */
  String string(String key) {
    return metadata.get(key) instanceof String s ? s : null;
  }

  /** A string-array key, or null. */
  List<String> strings(String key) {
    if (!(metadata.get(key) instanceof List<?> list)) {
      return null;
    }
    List<String> out = new ArrayList<>(list.size());
    for (Object o : list) {
      out.add(String.valueOf(o));
    }
    return out;
  }

  /** A cursor over the header, with bounds checks that name the file. */
  private static final class Reader {
    final MemorySegment s;
    final String file;
    long pos;

    Reader(MemorySegment s, String file) {
      this.s = s;
      this.file = file;
    }

    private void need(long n) {
      if (n < 0 || pos + n > s.byteSize()) {
        throw bad("truncated header at byte " + pos);
      }
    }

    int u32() {
      need(4);
      int v = s.get(U32, pos);
      pos += 4;
      return v;
    }

    long u64() {
      need(8);
      long v = s.get(U64, pos);
      pos += 8;
      return v;
    }

    /** A count or size from the header: non-negative and not absurd for this file. */
    long count(long n) {
      if (n < 0 || n > s.byteSize() * 32) {
        throw bad("count " + n + " at byte " + (pos - 8) + " does not fit the file");
      }
      return n;
    }

    String string() {
      long n = count(u64());
      need(n);
      byte[] b = s.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
      pos += n;
      return new String(b, StandardCharsets.UTF_8);
    }

    Object value(int type) {
      return switch (type) {
        case 0 -> {
          need(1);
          yield (long) (s.get(ValueLayout.JAVA_BYTE, pos++) & 0xff);
        }
        case 1 -> {
          need(1);
          yield (long) s.get(ValueLayout.JAVA_BYTE, pos++);
        }
        case 2, 3 -> {
          need(2);
          short v = s.get(SafeTensors.U16, pos);
          pos += 2;
          yield type == 2 ? (long) (v & 0xffff) : (long) v;
        }
        case 4 -> u32() & 0xffffffffL;
        case 5 -> (long) u32();
        case 6 -> (double) Float.intBitsToFloat(u32());
        case 7 -> {
          need(1);
          yield s.get(ValueLayout.JAVA_BYTE, pos++) != 0;
        }
        case 8 -> string();
        case 9 -> {
          int elementType = u32();
          long n = count(u64());
          List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 20));
          for (long i = 0; i < n; i++) {
            list.add(value(elementType));
          }
          yield list;
        }
        case 10, 11 -> u64();
        case 12 -> Double.longBitsToDouble(u64());
        default -> throw bad("metadata value type " + type + " at byte " + (pos - 4));
      };
    }

    KilnException bad(String what) {
      return KilnException.of(ErrorKind.INTERNAL, "%s: not a valid GGUF file: %s", file, what);
    }
  }
}
