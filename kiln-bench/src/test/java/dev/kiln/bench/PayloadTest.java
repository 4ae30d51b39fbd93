package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PayloadTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static JsonNode header(Payload.Binary b) throws IOException {
    return MAPPER.readTree(Arrays.copyOf(b.body(), b.headerLength()));
  }

  private static ByteBuffer data(Payload.Binary b) {
    return ByteBuffer.wrap(b.body(), b.headerLength(), b.body().length - b.headerLength())
        .slice()
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  @Test
  void v2Binary_fp32Rows_jsonHeaderThenLittleEndianFloats() throws IOException {
    var input = new Payload.Input("input", "FP32", List.of(3L, 1L), 3);

    Payload.Binary b = Payload.v2Binary(input, new double[][] {{1.5, -2, 3}, {4, 5, 6.25}});

    JsonNode in = header(b).at("/inputs/0");
    assertThat(in.path("name").asText()).isEqualTo("input");
    assertThat(in.path("datatype").asText()).isEqualTo("FP32");
    assertThat(in.path("shape").toString()).isEqualTo("[2,3,1]");
    assertThat(in.at("/parameters/binary_data_size").asInt()).isEqualTo(24);
    assertThat(header(b).at("/parameters/binary_data_output").asBoolean()).isTrue();
    float[] floats = new float[6];
    data(b).asFloatBuffer().get(floats);
    assertThat(floats).containsExactly(1.5f, -2f, 3f, 4f, 5f, 6.25f);
  }

  @Test
  void v2Binary_int64Rows_roundedLittleEndianLongs() throws IOException {
    var input = new Payload.Input("input_ids", "INT64", List.of(2L), 2);

    Payload.Binary b = Payload.v2Binary(input, new double[][] {{1.4, 255.6}});

    assertThat(header(b).at("/inputs/0/parameters/binary_data_size").asInt()).isEqualTo(16);
    assertThat(data(b).getLong()).isEqualTo(1);
    assertThat(data(b).getLong(8)).isEqualTo(256);
  }

  @Test
  void v2Binary_bytesInput_refusedByName() {
    var input = new Payload.Input("text", "BYTES", List.of(), 1);

    assertThatThrownBy(() -> Payload.v2Binary(input, new double[][] {{1}}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("BYTES");
  }

  @Test
  void promptOfTokens_seeded_exactWordCountAndNoSharedLongPrefix() {
    var random = new java.util.SplittableRandom(42);
    java.util.Set<String> prefixes = new java.util.HashSet<>();
    for (int p = 0; p < Payload.POOL; p++) {
      String prompt = Payload.promptOfTokens(128, random);
      String[] words = prompt.split(" ");
      assertThat(words).hasSize(128);
      prefixes.add(String.join(" ", Arrays.copyOf(words, 6)));
    }
    // no two of the pool share even their first 6 tokens: a prefix cache has nothing to reuse
    assertThat(prefixes).hasSize(Payload.POOL);
    assertThat(Payload.promptOfTokens(8, new java.util.SplittableRandom(7)))
        .isEqualTo(Payload.promptOfTokens(8, new java.util.SplittableRandom(7)));
  }
}
