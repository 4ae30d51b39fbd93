package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UbjsonTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  private UbjsonTest put(char... markers) {
    for (char c : markers) {
      out.write(c);
    }
    return this;
  }

  private UbjsonTest key(String k) {
    byte[] b = k.getBytes(StandardCharsets.UTF_8);
    put('i');
    out.write(b.length);
    out.writeBytes(b);
    return this;
  }

  private UbjsonTest bytes(ByteBuffer b) {
    out.writeBytes(b.array());
    return this;
  }

  @Test
  void read_typedFloatAndIntArrays_becomePrimitiveArrays() throws IOException {
    put('{').key("f").put('[', '$', 'd', '#', 'i').put((char) 2);
    bytes(ByteBuffer.allocate(8).putFloat(1.5f).putFloat(-2.25f));
    key("n").put('[', '$', 'l', '#', 'U').put((char) 2);
    bytes(ByteBuffer.allocate(8).putInt(-1).putInt(70000));
    put('}');

    Object doc = Ubjson.read(out.toByteArray());

    assertThat(doc).isInstanceOf(Map.class);
    assertThat((float[]) ((Map<?, ?>) doc).get("f")).containsExactly(1.5f, -2.25f);
    assertThat((long[]) ((Map<?, ?>) doc).get("n")).containsExactly(-1L, 70000L);
  }

  @Test
  void read_untypedArrayOfMixedValues_isList() throws IOException {
    put('[', 'S').key("ab").put('T', 'Z', 'N', 'F', 'I').put((char) 1, (char) 2).put(']');

    Object doc = Ubjson.read(out.toByteArray());

    assertThat(doc).isEqualTo(java.util.Arrays.asList("ab", true, null, false, 258L));
  }

  @Test
  void read_countedObjectAndHighPrecision_readsAll() throws IOException {
    put('{', '#', 'i').put((char) 2).key("x").put('H').key("1.5").key("y").put('D');
    bytes(ByteBuffer.allocate(8).putDouble(0.25));

    Object doc = Ubjson.read(out.toByteArray());

    assertThat(doc).isEqualTo(Map.of("x", 1.5, "y", 0.25));
  }

  @Test
  void read_untypedIntegers_becomeLongArray() throws IOException {
    put('[', 'i').put((char) 0xff).put('U').put((char) 0xff).put('L');
    bytes(ByteBuffer.allocate(8).putLong(1L << 40));
    put(']');

    assertThat((long[]) Ubjson.read(out.toByteArray())).containsExactly(-1L, 255L, 1L << 40);
  }

  @Test
  void read_unknownMarker_failsWithOffset() {
    put('[', 'Q', ']');

    assertThatThrownBy(() -> Ubjson.read(out.toByteArray()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("offset 1");
  }

  @Test
  void read_hugeCount_failsInsteadOfAllocating() {
    put('[', '$', 'd', '#', 'l').bytes(ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE));

    assertThatThrownBy(() -> Ubjson.read(out.toByteArray())).isInstanceOf(IOException.class);
  }

  @Test
  void firstKeyIs_objectStartingWithLearner_isTrue() {
    put('{').key("learner").put('{', '}', '}');

    assertThat(Ubjson.firstKeyIs(out.toByteArray(), "learner")).isTrue();
    assertThat(Ubjson.firstKeyIs(out.toByteArray(), "version")).isFalse();
  }

  @Test
  void readJson_floatsAndInts_becomePrimitiveArraysParsedAsFloat32() throws IOException {
    String json = "{\"a\": [0.1, 2], \"b\": [1, 2], \"c\": [\"x\", 1], \"d\": []}";

    Map<?, ?> doc = (Map<?, ?>) Documents.readJson(new ByteArrayInputStream(json.getBytes()));

    assertThat((float[]) doc.get("a")).containsExactly(0.1f, 2f);
    assertThat((long[]) doc.get("b")).containsExactly(1L, 2L);
    assertThat(doc.get("c")).isEqualTo(List.of("x", 1L));
    assertThat((long[]) doc.get("d")).isEmpty();
  }
}
