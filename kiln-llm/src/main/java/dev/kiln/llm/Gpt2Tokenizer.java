package dev.kiln.llm;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * GPT-2's byte-level BPE, as OpenAI's {@code encoder.py} and tiktoken's {@code gpt2} encoding do
 * it.
 *
 * <ol>
 *   <li>Pre-tokenise with GPT-2's regex: contractions, runs of letters or digits or other symbols
 *       each with at most one leading space, and whitespace runs (a run followed by a non-space
 *       leaves its last space to the next word).
 *   <li>Take each piece's UTF-8 bytes and spell every byte as one printable character through the
 *       {@code bytes_to_unicode} table, so that every byte sequence has a spelling in the
 *       vocabulary.
 *   <li>Merge adjacent symbols pair by pair, always the pair whose merge came earliest in
 *       merges.txt (lowest rank), until no adjacent pair has a rank; each symbol is then a token.
 * </ol>
 *
 * Decoding concatenates the tokens' spellings, maps each character back to its byte and reads the
 * bytes as UTF-8, so encode-then-decode returns any valid UTF-8 text unchanged. Immutable and
 * thread-safe. {@code <|endoftext|>} in the input text is encoded as plain text, never as the
 * special token, so a prompt cannot forge one.
 */
public final class Gpt2Tokenizer {
  /**
   * GPT-2's pre-tokenisation pattern; {@code \s} means Unicode White_Space, as in the reference.
   */
  static final Pattern PRE_TOKENIZE =
      Pattern.compile(
          "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
          Pattern.UNICODE_CHARACTER_CLASS);

  public static final String END_OF_TEXT = "<|endoftext|>";

  private static final char[] BYTE_TO_CHAR = bytesToUnicode();
  private static final int[] CHAR_TO_BYTE = invert(BYTE_TO_CHAR);

  // The tables are primitive arrays (about 2 MB for GPT-2's 50257 tokens and 50000 merges) rather
  // than String[] and a HashMap<Long, Integer> (about 8 MB of objects, its Long keys colliding
  // into tree bins): they stay on the heap for the server's life.
  private final byte[] tokenBytes; // every token's bytes, in id order
  private final int[] tokenStart; // [size + 1] id -> its bytes' start in tokenBytes; -1: no token
  private final int[] byteToken = new int[256]; // byte -> id of its one-character token
  private final MergeTable mergeRank; // (left id, right id) -> rank
  private final int[] mergeResult; // rank -> id of the merged token
  private final int endOfText;

  /** {@code merges}: each merge's two symbols' spellings, in rank order. */
  private Gpt2Tokenizer(Map<String, Integer> vocab, Iterator<String[]> merges) {
    int size = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    String[] tokens = new String[size];
    vocab.forEach((token, id) -> tokens[id] = token);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(size * 8);
    tokenStart = new int[size + 1];
    for (int id = 0; id < size; id++) {
      tokenStart[id] = tokens[id] == null ? -1 : bytes.size();
      if (tokens[id] != null) {
        spell(tokens[id], bytes);
      }
    }
    tokenStart[size] = bytes.size();
    tokenBytes = bytes.toByteArray();
    for (int b = 0; b < 256; b++) {
      Integer id = vocab.get(String.valueOf(BYTE_TO_CHAR[b]));
      if (id == null) {
        throw bad("the vocabulary lacks the token for byte %d", b);
      }
      byteToken[b] = id;
    }
    mergeRank = new MergeTable(size);
    IntList results = new IntList(size);
    for (int rank = 0; merges.hasNext(); rank++) {
      String[] pair = merges.next();
      Integer left = vocab.get(pair[0]);
      Integer right = vocab.get(pair[1]);
      Integer merged = vocab.get(pair[0] + pair[1]);
      if (left == null || right == null || merged == null) {
        throw bad("merge %d (%s %s) uses tokens not in the vocabulary", rank, pair[0], pair[1]);
      }
      mergeRank.putIfAbsent(key(left, right), rank);
      results.add(merged);
    }
    mergeResult = results.toArray();
    endOfText = vocab.getOrDefault(END_OF_TEXT, -1);
  }

  /** A token's spelling in the byte alphabet back to the bytes it stands for. */
  private static void spell(String token, ByteArrayOutputStream out) {
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
      if (b < 0) {
        // Special tokens such as <|endoftext|> are spelled in plain ASCII.
        out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
      } else {
        out.write(b);
      }
    }
  }

  /**
   * Reads a tokenizer from a directory: {@code tokenizer.json} (Hugging Face tokenizers, its {@code
   * model.vocab} and {@code model.merges}) when present, otherwise {@code vocab.json} and {@code
   * merges.txt}.
   */
  public static Gpt2Tokenizer load(Path directory) {
    Path tokenizerJson = directory.resolve("tokenizer.json");
    try {
      if (Files.isRegularFile(tokenizerJson)) {
        return fromTokenizerJson(tokenizerJson);
      }
      return fromFiles(directory.resolve("vocab.json"), directory.resolve("merges.txt"));
    } catch (IOException e) {
      throw new KilnException(
          ErrorKind.INTERNAL, "cannot read the tokenizer in " + directory + ": " + e, e);
    }
  }

  /** From GPT-2's {@code vocab.json} (token to id) and {@code merges.txt} (one pair per line). */
  public static Gpt2Tokenizer fromFiles(Path vocabJson, Path mergesTxt) throws IOException {
    // Streamed: a JSON tree of the vocabulary and a list of every merge line would be ~20 MB of
    // garbage at load, which a small server heap must otherwise be sized for.
    Map<String, Integer> vocab = readVocab(vocabJson);
    try (Stream<String> lines = Files.lines(mergesTxt, StandardCharsets.UTF_8)) {
      return new Gpt2Tokenizer(
          vocab, lines.filter(Gpt2Tokenizer::isMerge).map(Gpt2Tokenizer::splitMerge).iterator());
    } catch (UncheckedIOException e) { // a read error met while iterating the lines
      throw e.getCause();
    }
  }

  private static boolean isMerge(String line) {
    return !line.startsWith("#version") && !line.isBlank();
  }

  /** vocab.json's {"token": id, ...}, read token by token. */
  private static Map<String, Integer> readVocab(Path vocabJson) throws IOException {
    Map<String, Integer> map = HashMap.newHashMap(1 << 16);
    try (JsonParser p = new JsonFactory().createParser(vocabJson.toFile())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw bad("%s is not a JSON object", vocabJson);
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String token = p.currentName();
        if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
          throw bad("%s: the id of '%s' is not an integer", vocabJson, token);
        }
        map.put(token, p.getIntValue());
      }
    }
    return map;
  }

  /**
   * From a GGUF file's {@code tokenizer.ggml.tokens} (the byte-level strings, index = id) and
   * {@code tokenizer.ggml.merges} ("a b" per merge, in rank order).
   */
  static Gpt2Tokenizer fromLists(List<String> tokens, List<String> merges) {
    Map<String, Integer> vocab = HashMap.newHashMap(tokens.size());
    for (int i = 0; i < tokens.size(); i++) {
      vocab.putIfAbsent(tokens.get(i), i);
    }
    return new Gpt2Tokenizer(vocab, merges.stream().map(Gpt2Tokenizer::splitMerge).iterator());
  }

  private static Gpt2Tokenizer fromTokenizerJson(Path file) throws IOException {
    JsonNode model = new ObjectMapper().readTree(file.toFile()).path("model");
    if (!"BPE".equals(model.path("type").asText("BPE")) || !model.path("vocab").isObject()) {
      throw bad("%s: model is not a BPE with a vocab", file);
    }
    List<String[]> merges = new ArrayList<>();
    for (JsonNode m : model.path("merges")) {
      // Older files write "a b", newer ones ["a", "b"].
      merges.add(
          m.isArray()
              ? new String[] {m.get(0).asText(), m.get(1).asText()}
              : splitMerge(m.asText()));
    }
    return new Gpt2Tokenizer(vocabMap(model.path("vocab")), merges.iterator());
  }

  private static Map<String, Integer> vocabMap(JsonNode vocab) {
    Map<String, Integer> map = HashMap.newHashMap(vocab.size());
    vocab.properties().forEach(e -> map.put(e.getKey(), e.getValue().asInt()));
    return map;
  }

  private static String[] splitMerge(String line) {
    int space = line.indexOf(' ');
    if (space <= 0 || space == line.length() - 1) {
      throw bad("malformed merge line '%s'", line);
    }
    return new String[] {line.substring(0, space), line.substring(space + 1)};
  }

  /** The number of token ids (GPT-2: 50257). */
  public int vocabularySize() {
    return tokenStart.length - 1;
  }

  /** The id of {@code <|endoftext|>}, or -1 when the vocabulary has none. */
  public int endOfText() {
    return endOfText;
  }

  /** Token ids for a text. */
  public int[] encode(String text) {
    IntList out = new IntList(text.length() / 3 + 4);
    Matcher m = PRE_TOKENIZE.matcher(text);
    while (m.find()) {
      bpe(m.group().getBytes(StandardCharsets.UTF_8), out);
    }
    return out.toArray();
  }

  /** Appends the tokens of one pre-tokenised piece, given as its UTF-8 bytes. */
  private void bpe(byte[] piece, IntList out) {
    int[] symbols = new int[piece.length];
    for (int i = 0; i < piece.length; i++) {
      symbols[i] = byteToken[piece[i] & 0xff];
    }
    int n = symbols.length;
    while (n > 1) {
      // Find the adjacent pair merged earliest in training. Merging its leftmost occurrence first
      // equals merging all occurrences at once: a pair that includes the new token ranks later.
      int bestRank = Integer.MAX_VALUE;
      int at = -1;
      for (int i = 0; i + 1 < n; i++) {
        int rank = mergeRank.get(key(symbols[i], symbols[i + 1]));
        if (rank >= 0 && rank < bestRank) {
          bestRank = rank;
          at = i;
        }
      }
      if (at < 0) {
        break;
      }
      symbols[at] = mergeResult[bestRank];
      System.arraycopy(symbols, at + 2, symbols, at + 1, n - at - 2);
      n--;
    }
    for (int i = 0; i < n; i++) {
      out.add(symbols[i]);
    }
  }

  /** The bytes that token ids spell; concatenating tokens may split a character mid-sequence. */
  public byte[] decodeBytes(int[] ids) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
    for (int id : ids) {
      if (id < 0 || id >= vocabularySize() || tokenStart[id] < 0) {
        throw KilnException.invalid("token id %d is not in the vocabulary", id);
      }
      int end = id + 1;
      while (tokenStart[end] < 0) { // the next id that has a token (or the end)
        end++;
      }
      out.write(tokenBytes, tokenStart[id], tokenStart[end] - tokenStart[id]);
    }
    return out.toByteArray();
  }

  /** The text that token ids spell; invalid UTF-8 (a cut character) becomes U+FFFD. */
  public String decode(int[] ids) {
    return new String(decodeBytes(ids), StandardCharsets.UTF_8);
  }

  private static long key(int left, int right) {
    return ((long) left << 32) | (right & 0xffffffffL);
  }

  /**
   * GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the other 68
   * bytes (controls, space, DEL, NBSP, soft hyphen) are spelled U+0100, U+0101, ... in byte order.
   * That is why a leading space shows up as 'Ġ' (U+0120) in the vocabulary.
   */
  static char[] bytesToUnicode() {
    char[] table = new char[256];
    int next = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      table[b] = printable ? (char) b : (char) (256 + next++);
    }
    return table;
  }

  private static int[] invert(char[] table) {
    int[] inverse = new int[512];
    java.util.Arrays.fill(inverse, -1);
    for (int b = 0; b < 256; b++) {
      inverse[table[b]] = b;
    }
    return inverse;
  }

  private static KilnException bad(String format, Object... args) {
    return KilnException.of(ErrorKind.INTERNAL, "tokenizer: " + format, args);
  }

  /**
   * Merge ranks by the pair's key, open addressing with linear probing in primitive arrays: no
   * boxing, and no collisions piling up as with {@code Long.hashCode} of two packed ids (which is
   * {@code left ^ right}). Keys are never negative, so -1 marks a free slot.
   */
  static final class MergeTable {
    private long[] keys;
    private int[] values;
    private int mask;
    private int size;

    MergeTable(int expected) {
      allocate(Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1); // load <= 1/2
    }

    private void allocate(int capacity) {
      keys = new long[capacity];
      values = new int[capacity];
      mask = capacity - 1;
      java.util.Arrays.fill(keys, -1);
    }

    private int slot(long key) {
      long h = key * 0x9E3779B97F4A7C15L; // Fibonacci hashing: the high bits are well mixed
      return (int) (h >>> 40) & mask;
    }

    /** Stores {@code value} unless {@code key} is present (the first, lowest rank wins). */
    void putIfAbsent(long key, int value) {
      if (2 * (size + 1) > keys.length) { // keep the load at most 1/2
        long[] oldKeys = keys;
        int[] oldValues = values;
        allocate(2 * keys.length);
        size = 0;
        for (int j = 0; j < oldKeys.length; j++) {
          if (oldKeys[j] != -1) {
            putIfAbsent(oldKeys[j], oldValues[j]);
          }
        }
      }
      int i = slot(key);
      while (keys[i] != -1) {
        if (keys[i] == key) {
          return;
        }
        i = (i + 1) & mask;
      }
      keys[i] = key;
      values[i] = value;
      size++;
    }

    /** The value for {@code key}, or -1. */
    int get(long key) {
      for (int i = slot(key); keys[i] != -1; i = (i + 1) & mask) {
        if (keys[i] == key) {
          return values[i];
        }
      }
      return -1;
    }
  }

  /** A growable int array, to avoid boxing every token id. */
  private static final class IntList {
    private int[] items;
    private int size;

    IntList(int capacity) {
      items = new int[Math.max(capacity, 4)];
    }

    void add(int v) {
      if (size == items.length) {
        items = java.util.Arrays.copyOf(items, size * 2);
      }
      items[size++] = v;
    }

    int[] toArray() {
      return java.util.Arrays.copyOf(items, size);
    }
  }
}
