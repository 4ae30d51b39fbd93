package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
  /** Writes a file the way the format says: length, JSON header, raw little-endian data. */
  private static Path write(Path dir, String header, byte[] data) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    Path file = dir.resolve("model.safetensors");
    Files.write(file, b.array());
    return file;
  }

  private static byte[] mixed() {
    ByteBuffer d = ByteBuffer.allocate(12 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN);
    d.putFloat(1.5f).putFloat(-2f).putFloat(3.25f); // F32 [3]
    d.putShort((short) (Float.floatToIntBits(0.5f) >>> 16)); // BF16
    d.putShort((short) (Float.floatToIntBits(-6f) >>> 16));
    d.putShort(Float.floatToFloat16(0.25f)).putShort(Float.floatToFloat16(100f)); // F16
    return d.array();
  }

  private static final String HEADER =
      "{\"__metadata__\":{\"format\":\"pt\"},"
          + "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
          + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[12,16]},"
          + "\"c\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]}}";

  @Test
  void open_f32Bf16F16_readsValues(@TempDir Path dir) throws IOException {
    Path file = write(dir, HEADER, mixed());
    try (Arena arena = Arena.ofConfined()) {
      SafeTensors st = SafeTensors.open(file, arena);
      assertThat(st.names()).containsExactly("a", "b", "c");
      assertThat(SafeTensors.toFloats(st.get("a"))).containsExactly(1.5f, -2f, 3.25f);
      assertThat(SafeTensors.toFloats(st.get("b"))).containsExactly(0.5f, -6f);
      assertThat(st.get("b").shape()).containsExactly(1, 2);
      assertThat(SafeTensors.toFloats(st.get("c"))).containsExactly(0.25f, 100f);
    }
  }

  @Test
  void asF32_f32Tensor_isAViewOfTheMapping(@TempDir Path dir) throws IOException {
    Path file = write(dir, HEADER, mixed());
    try (Arena arena = Arena.ofConfined()) {
      SafeTensors.Entry a = SafeTensors.open(file, arena).get("a");
      MemorySegment f32 = SafeTensors.asF32(a, arena);
      assertThat(f32.isMapped()).isTrue();
      assertThat(f32.address()).isEqualTo(a.data().address());
    }
  }

  @Test
  void asF32_bf16Tensor_decodesOffHeap(@TempDir Path dir) throws IOException {
    Path file = write(dir, HEADER, mixed());
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment f32 = SafeTensors.asF32(SafeTensors.open(file, arena).get("b"), arena);
      assertThat(f32.isNative()).isTrue();
      assertThat(f32.getAtIndex(SafeTensors.F32, 1)).isEqualTo(-6f);
    }
  }

  @Test
  void open_offsetsBeyondFile_isInternalError(@TempDir Path dir) throws IOException {
    Path file =
        write(
            dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
    try (Arena arena = Arena.ofConfined()) {
      assertThatThrownBy(() -> SafeTensors.open(file, arena))
          .isInstanceOfSatisfying(
              KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL))
          .hasMessageContaining("data_offsets");
    }
  }

  @Test
  void open_unknownDtype_isUnsupported(@TempDir Path dir) throws IOException {
    Path file =
        write(dir, "{\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]);
    try (Arena arena = Arena.ofConfined()) {
      assertThatThrownBy(() -> SafeTensors.open(file, arena))
          .isInstanceOfSatisfying(
              KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED));
    }
  }

  @Test
  void open_headerLengthTooLarge_isInternalError(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("bad.safetensors");
    Files.write(file, new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
    try (Arena arena = Arena.ofConfined()) {
      assertThatThrownBy(() -> SafeTensors.open(file, arena)).hasMessageContaining("header length");
    }
  }
}
