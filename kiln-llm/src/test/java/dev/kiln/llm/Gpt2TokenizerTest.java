package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class Gpt2TokenizerTest {
  static Stream<Arguments> referenceCases() {
    List<Arguments> cases = new ArrayList<>();
    for (JsonNode c : Fixtures.json("tokenizer/reference.json").path("cases")) {
      cases.add(Arguments.of(c.path("text").asText(), Fixtures.ints(c.path("ids"))));
    }
    return cases.stream();
  }

  @ParameterizedTest
  @MethodSource("referenceCases")
  void encode_referenceText_matchesTiktoken(String text, int[] ids) {
    assertThat(Fixtures.tokenizer().encode(text)).containsExactly(ids);
  }

  @ParameterizedTest
  @MethodSource("referenceCases")
  void decode_referenceIds_givesTextBack(String text, int[] ids) {
    assertThat(Fixtures.tokenizer().decode(ids)).isEqualTo(text);
  }

  @Test
  void referenceCorpus_isVaried() {
    assertThat(referenceCases().count()).isGreaterThanOrEqualTo(40);
  }

  @Test
  void vocabulary_isGpt2s() {
    assertThat(Fixtures.tokenizer().vocabularySize()).isEqualTo(50257);
    assertThat(Fixtures.tokenizer().endOfText()).isEqualTo(50256);
  }

  @Test
  void bytesToUnicode_spellsSpaceAsGdot_andIsABijection() {
    char[] table = Gpt2Tokenizer.bytesToUnicode();
    assertThat(table[' ']).isEqualTo('\u0120');
    assertThat(table['A']).isEqualTo('A');
    assertThat(new String(table).chars().distinct().count()).isEqualTo(256);
  }

  @Test
  void encodeDecode_randomUnicode_roundTrips() {
    Random random = new Random(7);
    Gpt2Tokenizer t = Fixtures.tokenizer();
    for (int n = 0; n < 200; n++) {
      StringBuilder sb = new StringBuilder();
      int len = random.nextInt(40);
      for (int i = 0; i < len; i++) {
        int cp;
        do {
          cp =
              switch (random.nextInt(4)) {
                case 0 -> 0x20 + random.nextInt(0x5f);
                case 1 -> random.nextInt(0x800);
                case 2 -> random.nextInt(0x10000);
                default -> 0x1F300 + random.nextInt(0x300);
              };
        } while (Character.isSurrogate((char) cp) && cp < 0x10000);
        sb.appendCodePoint(cp);
      }
      String text = sb.toString();
      assertThat(t.decode(t.encode(text))).isEqualTo(text);
    }
  }

  @Test
  void encode_endOfTextMarker_isPlainText() {
    int[] ids = Fixtures.tokenizer().encode("<|endoftext|>");
    assertThat(ids).doesNotContain(50256).hasSizeGreaterThan(1);
  }

  @Test
  void decodeBytes_cutCharacter_givesRawBytes() {
    Gpt2Tokenizer t = Fixtures.tokenizer();
    byte[] utf8 = "😀".getBytes(StandardCharsets.UTF_8);
    int[] ids = t.encode("😀");
    assertThat(ids.length).isGreaterThan(1); // an emoji is several byte-level tokens
    assertThat(t.decodeBytes(ids)).isEqualTo(utf8);
    assertThat(t.decode(new int[] {ids[0]})).contains("\uFFFD");
  }

  @Test
  void load_tokenizerJson_encodesLikeVocabAndMerges(@TempDir Path dir) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.set("vocab", mapper.readTree(Fixtures.tokenizerDir().resolve("vocab.json").toFile()));
    ArrayNode merges = model.putArray("merges");
    List<String> lines = Files.readAllLines(Fixtures.tokenizerDir().resolve("merges.txt"));
    for (String line : lines.subList(1, lines.size())) {
      if (line.isBlank()) {
        continue;
      }
      String[] pair = line.split(" ");
      if (merges.size() % 2 == 0) {
        merges.add(line); // the older "a b" form
      } else {
        merges.addArray().add(pair[0]).add(pair[1]); // the newer ["a", "b"] form
      }
    }
    mapper.writeValue(dir.resolve("tokenizer.json").toFile(), root);
    Gpt2Tokenizer fromJson = Gpt2Tokenizer.load(dir);
    String text = "In the beginning, café 中文 😀 it's 12345!";
    assertThat(fromJson.encode(text)).containsExactly(Fixtures.tokenizer().encode(text));
  }

  @Test
  void mergeTable_keysThatLongHashCodeCollides_allFoundAndFirstRankKept() {
    // Long.hashCode of (left << 32 | right) is left ^ right: these 5000 keys all hash to 0 there.
    var table = new Gpt2Tokenizer.MergeTable(5000);
    for (int i = 0; i < 5000; i++) {
      table.putIfAbsent(((long) i << 32) | i, i);
    }
    table.putIfAbsent((7L << 32) | 7, 99); // a later merge of the same pair keeps the first rank
    for (int i = 0; i < 5000; i++) {
      assertThat(table.get(((long) i << 32) | i)).isEqualTo(i);
    }
    assertThat(table.get((1L << 32) | 2)).isEqualTo(-1);
  }

  @Test
  void mergeTable_moreKeysThanExpected_growsAndKeepsEveryRank() {
    var table = new Gpt2Tokenizer.MergeTable(4);
    for (int i = 0; i < 1000; i++) {
      table.putIfAbsent(((long) i << 32) | (i * 7L), i);
    }
    for (int i = 0; i < 1000; i++) {
      assertThat(table.get(((long) i << 32) | (i * 7L))).isEqualTo(i);
    }
  }
}
