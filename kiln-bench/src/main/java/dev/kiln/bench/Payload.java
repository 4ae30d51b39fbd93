package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Request bodies, built once before the run so the generator spends its CPU on sending: a pool of
 * up to {@value #POOL} distinct prepared requests, used round-robin. Rows come from a CSV file, or
 * are uniform random numbers in [min, max]. For v2 the input's name, datatype and shape come from
 * the model's metadata ({@code GET /v2/models/NAME}).
 */
final class Payload {
  static final int POOL = 64;

  /**
   * Distinct prompts of an {@code --input-tokens} step, each sent once until a step has sent this
   * many: a prompt seen again could be served from a server's prompt cache (llama-server keeps
   * gigabytes of them in RAM, {@code --cache-ram}), skipping its prefill.
   */
  static final int PROMPT_POOL = 4096;

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final URI uri;
  private final List<byte[]> bodies;
  private final int jsonHeaderLength;
  private final int rowsPerRequest;
  private final String description;

  private Payload(
      URI uri, List<byte[]> bodies, int jsonHeaderLength, int rowsPerRequest, String description) {
    this.uri = uri;
    this.bodies = List.copyOf(bodies);
    this.jsonHeaderLength = jsonHeaderLength;
    this.rowsPerRequest = rowsPerRequest;
    this.description = description;
  }

  private Payload(URI uri, List<byte[]> bodies, int rowsPerRequest, String description) {
    this(uri, bodies, -1, rowsPerRequest, description);
  }

  /** A payload of the given bodies, for tests of the transports. */
  static Payload forTest(URI uri, List<byte[]> bodies) {
    return new Payload(uri, bodies, 1, "test");
  }

  /** Where every request goes (POST). */
  URI uri() {
    return uri;
  }

  /** The distinct request bodies, sent round-robin. */
  List<byte[]> bodies() {
    return bodies;
  }

  String contentType() {
    return jsonHeaderLength < 0 ? "application/json" : "application/octet-stream";
  }

  /**
   * The {@code Inference-Header-Content-Length} of every body (Triton's binary tensor extension:
   * that many bytes of JSON, then the tensors' raw bytes), or -1 when the bodies are all JSON.
   */
  int jsonHeaderLength() {
    return jsonHeaderLength;
  }

  int rowsPerRequest() {
    return rowsPerRequest;
  }

  String description() {
    return description;
  }

  /** The model input a v2 request fills. */
  record Input(String name, String datatype, List<Long> innerShape, int features) {}

  /**
   * Single-token words (with their leading space) in GPT-2's and most BPE vocabularies, drawn to
   * make a prompt of about N tokens; the server's usage.prompt_tokens reports the exact count.
   */
  private static final String[] WORDS = {
    " the", " of", " and", " to", " in", " is", " that", " for", " it", " as", " was", " with",
    " be", " by", " on", " not", " he", " this", " are", " or", " his", " from", " at", " which"
  };

  /**
   * A prompt of {@code tokens} words drawn at random, each one token in GPT-2's vocabulary: the
   * prompts of a pool share no long prefix, so a server's prefix cache (llama-server's {@code
   * cache_prompt}, vLLM's automatic prefix caching) cannot skip their prefill, as with vLLM's
   * random dataset.
   */
  static String promptOfTokens(int tokens, SplittableRandom random) {
    StringBuilder sb = new StringBuilder(tokens * 5);
    for (int i = 0; i < tokens; i++) {
      sb.append(WORDS[random.nextInt(WORDS.length)]);
    }
    return sb.substring(1); // no leading space: "the of and ..."
  }

  /** The payload of one step: {@code step.batch()} rows, or a prompt of its input length. */
  static Payload create(BenchConfig cfg, HttpClient client, BenchConfig.Step step)
      throws IOException {
    URI uri = cfg.target().resolve(cfg.protocol().path(cfg.model()));
    if (cfg.body() != null) {
      byte[] b = Files.readAllBytes(cfg.body());
      return new Payload(
          uri,
          List.of(b),
          step.batch(),
          "body from " + cfg.body() + " (" + b.length + " bytes), " + step.batch() + " row(s)");
    }
    if (cfg.protocol() == Protocol.OPENAI) {
      // --input-tokens: a pool of distinct seeded prompts, sent in turn, other ones in each step
      // of a sweep; else the one --prompt
      SplittableRandom random = new SplittableRandom(cfg.seed() * 31 + step.label().hashCode());
      List<byte[]> bodies = new ArrayList<>();
      String prompt = cfg.prompt();
      java.util.Set<String> drawn = new java.util.HashSet<>();
      for (int p = 0; p < (step.inputTokens() > 0 ? PROMPT_POOL : 1); p++) {
        // redrawn when already in the pool, as long as short prompts leave room for new ones
        for (int attempt = 0; step.inputTokens() > 0 && attempt < 16; attempt++) {
          prompt = promptOfTokens(step.inputTokens(), random);
          if (drawn.add(prompt)) {
            break;
          }
        }
        java.util.Map<String, Object> request = new java.util.LinkedHashMap<>();
        request.put("model", cfg.model());
        request.put("prompt", prompt);
        request.put("max_tokens", cfg.maxTokens());
        request.put("stream", cfg.stream());
        if (cfg.stream()) {
          request.put("stream_options", java.util.Map.of("include_usage", true));
        }
        bodies.add(MAPPER.writeValueAsString(request).getBytes(StandardCharsets.UTF_8));
      }
      return new Payload(
          uri,
          bodies,
          1,
          (step.inputTokens() > 0
                  ? PROMPT_POOL + " prompts of " + step.inputTokens() + " random one-token words"
                  : "prompt of " + prompt.length() + " chars")
              + ", max_tokens "
              + cfg.maxTokens());
    }
    List<double[]> csvRows = cfg.csv() == null ? null : readCsv(cfg);
    Input input = null;
    if (cfg.protocol() == Protocol.V2 || (cfg.features() == null && csvRows == null)) {
      input = metadata(cfg, client, cfg.protocol() == Protocol.V2);
    }
    int features =
        cfg.features() != null
            ? cfg.features()
            : csvRows != null ? csvRows.getFirst().length : input.features();
    if (csvRows != null && csvRows.getFirst().length != features) {
      throw new IllegalArgumentException(
          "the CSV has " + csvRows.getFirst().length + " columns but the model takes " + features);
    }
    boolean integers = input != null && input.datatype().matches("U?INT\\d+|BOOL");
    SplittableRandom random = new SplittableRandom(cfg.seed());
    int batch = step.batch();
    int pool = csvRows == null ? POOL : Math.max(1, Math.min(POOL, csvRows.size() / batch));
    List<byte[]> requests = new ArrayList<>(pool);
    int headerLength = -1;
    int next = 0;
    for (int p = 0; p < pool; p++) {
      double[][] rows = new double[batch][];
      for (int r = 0; r < batch; r++) {
        if (csvRows != null) {
          rows[r] = csvRows.get(next++ % csvRows.size());
        } else {
          rows[r] = new double[features];
          for (int f = 0; f < features; f++) {
            rows[r][f] = cfg.min() + random.nextDouble() * (cfg.max() - cfg.min());
          }
        }
      }
      if (cfg.binary()) {
        Binary b = v2Binary(input, rows);
        headerLength = b.headerLength();
        requests.add(b.body());
      } else {
        requests.add(json(cfg.protocol(), input, rows, integers));
      }
    }
    String source =
        csvRows != null
            ? csvRows.size() + " CSV rows from " + cfg.csv()
            : "random rows in [" + cfg.min() + ", " + cfg.max() + "]";
    return new Payload(
        uri,
        requests,
        headerLength,
        batch,
        batch
            + " row(s) x "
            + features
            + " features per request, "
            + source
            + (cfg.binary() ? ", binary tensor data" : ""));
  }

  /** A v1 {"instances": [...]} or v2 JSON body of these rows. */
  private static byte[] json(Protocol protocol, Input input, double[][] rows, boolean integers) {
    StringBuilder sb = new StringBuilder(rows.length * rows[0].length * 8);
    for (int r = 0; r < rows.length; r++) {
      if (r > 0) {
        sb.append(',');
      }
      appendRow(sb, rows[r], integers, protocol == Protocol.V1);
    }
    String body =
        protocol == Protocol.V1
            ? "{\"instances\":[" + sb + "]}"
            : v2Body(input, rows.length, sb.toString());
    return body.getBytes(StandardCharsets.UTF_8);
  }

  /** A binary-tensor body and the length of its JSON header. */
  record Binary(byte[] body, int headerLength) {}

  /**
   * A v2 body in Triton's binary tensor format: a JSON header naming the input with its {@code
   * binary_data_size} and asking for binary outputs ({@code binary_data_output}), then the rows as
   * little-endian values of the input's datatype (integer types rounded, as the JSON bodies are).
   */
  static Binary v2Binary(Input input, double[][] rows) {
    int width =
        switch (input.datatype()) {
          case "FP32", "INT32" -> 4;
          case "FP64", "INT64" -> 8;
          default ->
              throw new IllegalArgumentException(
                  "--binary sends FP32, FP64, INT32 or INT64 inputs; the model's input is "
                      + input.datatype());
        };
    int count = rows.length * rows[0].length;
    ByteBuffer data = ByteBuffer.allocate(count * width).order(ByteOrder.LITTLE_ENDIAN);
    for (double[] row : rows) {
      for (double v : row) {
        switch (input.datatype()) {
          case "FP32" -> data.putFloat((float) v);
          case "FP64" -> data.putDouble(v);
          case "INT32" -> data.putInt((int) Math.round(v));
          default -> data.putLong(Math.round(v));
        }
      }
    }
    StringBuilder shape = new StringBuilder().append(rows.length);
    input.innerShape().forEach(d -> shape.append(',').append(d));
    byte[] header =
        ("{\"inputs\":[{\"name\":"
                + quote(input.name())
                + ",\"shape\":["
                + shape
                + "],\"datatype\":"
                + quote(input.datatype())
                + ",\"parameters\":{\"binary_data_size\":"
                + data.capacity()
                + "}}],\"parameters\":{\"binary_data_output\":true}}")
            .getBytes(StandardCharsets.UTF_8);
    byte[] body = Arrays.copyOf(header, header.length + data.capacity());
    System.arraycopy(data.array(), 0, body, header.length, data.capacity());
    return new Binary(body, header.length);
  }

  private static String v2Body(Input input, int batch, String rows) {
    StringBuilder shape = new StringBuilder().append(batch);
    input.innerShape().forEach(d -> shape.append(',').append(d));
    return "{\"inputs\":[{\"name\":"
        + quote(input.name())
        + ",\"shape\":["
        + shape
        + "],\"datatype\":"
        + quote(input.datatype())
        + ",\"data\":["
        + rows.replace("[", "").replace("]", "")
        + "]}]}";
  }

  private static void appendRow(StringBuilder sb, double[] row, boolean integers, boolean nested) {
    if (nested) {
      sb.append('[');
    }
    for (int f = 0; f < row.length; f++) {
      if (f > 0) {
        sb.append(',');
      }
      if (integers) {
        sb.append(Math.round(row[f]));
      } else {
        // Four decimals keep bodies small; the server parses them as FP32 anyway.
        sb.append(Math.round(row[f] * 1e4) / 1e4);
      }
    }
    if (nested) {
      sb.append(']');
    }
  }

  private static String quote(String s) {
    try {
      return MAPPER.writeValueAsString(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Learns the first input's name, datatype and shape from {@code GET /v2/models/NAME}. */
  static Input metadata(BenchConfig cfg, HttpClient client, boolean v2) throws IOException {
    String encoded = Protocol.V2.path(cfg.model()).replace("/infer", "");
    URI uri = cfg.target().resolve(encoded);
    HttpResponse<byte[]> res;
    try {
      res =
          client.send(
              HttpRequest.newBuilder(uri).timeout(cfg.timeout()).GET().build(),
              HttpResponse.BodyHandlers.ofByteArray());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    String hint = v2 ? "" : " (v1 has no metadata: pass --features N or --csv FILE)";
    if (res.statusCode() != 200) {
      throw new IOException(
          "GET " + uri + " answered " + res.statusCode() + "; cannot learn the input shape" + hint);
    }
    JsonNode in = MAPPER.readTree(res.body()).path("inputs").path(0);
    if (in.isMissingNode()) {
      throw new IOException("GET " + uri + " lists no inputs" + hint);
    }
    List<Long> inner = new ArrayList<>();
    JsonNode shape = in.path("shape");
    int features = 1;
    for (int i = 1; i < shape.size(); i++) {
      long d = shape.get(i).asLong();
      long dim = d > 0 ? d : cfg.features() == null ? 1 : cfg.features();
      inner.add(dim);
      features *= (int) dim;
    }
    if (cfg.features() != null && cfg.features() != features && shape.size() == 2) {
      inner.set(0, (long) cfg.features());
      features = cfg.features();
    }
    return new Input(
        in.path("name").asText("input"), in.path("datatype").asText("FP32"), inner, features);
  }

  /** Numeric CSV rows; a first line that does not parse as numbers is a header and is skipped. */
  static List<double[]> readCsv(BenchConfig cfg) throws IOException {
    List<double[]> rows = new ArrayList<>();
    int lineNo = 0;
    for (String line : Files.readAllLines(cfg.csv())) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      String[] cells = line.split(",");
      double[] row = new double[cells.length];
      try {
        for (int i = 0; i < cells.length; i++) {
          row[i] = Double.parseDouble(cells[i].trim());
        }
      } catch (NumberFormatException e) {
        if (rows.isEmpty() && lineNo == 1) {
          continue;
        }
        throw new IOException(cfg.csv() + ":" + lineNo + ": not a number: " + e.getMessage(), e);
      }
      rows.add(row);
    }
    if (rows.isEmpty()) {
      throw new IOException(cfg.csv() + " has no data rows");
    }
    return rows;
  }
}
