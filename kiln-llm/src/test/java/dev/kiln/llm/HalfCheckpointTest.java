package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A Hugging Face checkpoint saved in F16 (as many are) loads to the same model as an F32 one
 * holding the same values: the tiny fixture's weights rounded to fp16 are written both ways, and
 * the two load paths (an F16 tensor widened into a scratch copy, then transposed or converted; an
 * F32 tensor copied from the mapping) must give the same logits.
 */
class HalfCheckpointTest {
  static Path f16Dir;
  static Path f32Dir;

  @BeforeAll
  static void writeCheckpoints(@TempDir Path dir) throws IOException {
    f16Dir = Files.createDirectories(dir.resolve("f16"));
    f32Dir = Files.createDirectories(dir.resolve("f32"));
    Path tiny = Fixtures.tinyModelDir();
    Files.copy(tiny.resolve("config.json"), f16Dir.resolve("config.json"));
    Files.copy(tiny.resolve("config.json"), f32Dir.resolve("config.json"));
    try (Arena arena = Arena.ofConfined()) {
      SafeTensors st = SafeTensors.open(tiny.resolve("model.safetensors"), arena);
      List<String> names = new ArrayList<>(new TreeSet<>(st.names()));
      List<float[]> rounded = new ArrayList<>();
      for (String n : names) {
        float[] v = SafeTensors.toFloats(st.get(n));
        for (int i = 0; i < v.length; i++) {
          v[i] = Float.float16ToFloat(Float.floatToFloat16(v[i]));
        }
        rounded.add(v);
      }
      write(f16Dir.resolve("model.safetensors"), st, names, rounded, true);
      write(f32Dir.resolve("model.safetensors"), st, names, rounded, false);
    }
  }

  /** A safetensors file: 8-byte little-endian header length, the JSON header, the data. */
  static void write(
      Path file, SafeTensors src, List<String> names, List<float[]> values, boolean f16)
      throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode header = json.createObjectNode();
    long offset = 0;
    int size = f16 ? 2 : 4;
    for (int k = 0; k < names.size(); k++) {
      long bytes = (long) values.get(k).length * size;
      ObjectNode t = header.putObject(names.get(k));
      t.put("dtype", f16 ? "F16" : "F32");
      var shape = t.putArray("shape");
      for (long d : src.get(names.get(k)).shape()) {
        shape.add(d);
      }
      t.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] head = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    ByteBuffer out =
        ByteBuffer.allocate(8 + head.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(head.length).put(head);
    for (float[] v : values) {
      for (float x : v) {
        if (f16) {
          out.putShort(Float.floatToFloat16(x));
        } else {
          out.putFloat(x);
        }
      }
    }
    Files.write(file, out.array());
  }

  @ParameterizedTest
  @EnumSource(
      value = Gpt2Weights.Precision.class,
      names = {"AUTO", "BF16", "Q8_0"})
  void f16Checkpoint_sameLogitsAsF32CheckpointOfTheSameValues(Gpt2Weights.Precision precision) {
    int[] ids = Fixtures.ints(firstCase().path("ids"));
    try (Gpt2Model half = Gpt2Model.load(f16Dir, Fixtures.tokenizerDir(), 2, 4, 2, precision);
        Gpt2Model full = Gpt2Model.load(f32Dir, Fixtures.tokenizerDir(), 2, 4, 2, precision)) {
      float[] expected = GgufModelTest.prefill(full, ids);
      // bit for bit, except at fp32, whose head keeps the row layout and its lane sums: those may
      // add in another order once compiled than interpreted, and the two models run at different
      // points of the JIT's warm-up
      float tolerance = precision == Gpt2Weights.Precision.AUTO ? 1e-5f : 0f;
      assertThat(GgufModelTest.prefill(half, ids)).containsExactly(expected, within(tolerance));
      assertThat(half.engine().weights().describe()).isEqualTo(full.engine().weights().describe());
    }
  }

  static JsonNode firstCase() {
    return Fixtures.json("tiny-gpt2/reference.json").path("cases").get(0);
  }
}
