package dev.kiln.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** The wire protocols kiln bench speaks. */
enum Protocol {
  /** KServe v2 / Open Inference Protocol: POST /v2/models/M/infer with JSON FP32 rows. */
  V2,
  /** TensorFlow-Serving style: POST /v1/models/M:predict with {"instances": [...]}. */
  V1,
  /** OpenAI completions, non-streaming: POST /v1/completions, counting usage.completion_tokens. */
  OPENAI;

  private static final JsonFactory JSON = new JsonFactory();

  static Protocol parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("protocol '" + s + "': use v2, v1 or openai", e);
    }
  }

  String path(String model) {
    String m = URLEncoder.encode(model, StandardCharsets.UTF_8).replace("+", "%20");
    return switch (this) {
      case V2 -> "/v2/models/" + m + "/infer";
      case V1 -> "/v1/models/" + m + ":predict";
      case OPENAI -> "/v1/completions";
    };
  }

  /** What a response tells about the server's side: its timings and generated tokens. */
  record ServerSide(
      double queueMillis, double computeMillis, long completionTokens, long promptTokens) {
    static final ServerSide NONE = new ServerSide(Double.NaN, Double.NaN, 0, 0);

    ServerSide(double queueMillis, double computeMillis, long completionTokens) {
      this(queueMillis, computeMillis, completionTokens, 0);
    }
  }

  /**
   * Picks {@code queue_time_ms}, {@code compute_time_ms} (v2 {@code parameters}, v1 top level) and
   * {@code completion_tokens} (OpenAI {@code usage}) out of a JSON response by streaming over its
   * tokens, without building a tree of the (possibly large) outputs.
   */
  static ServerSide parse(byte[] body) {
    if (body.length == 0 || body[0] != '{') {
      return ServerSide.NONE;
    }
    double queue = Double.NaN;
    double compute = Double.NaN;
    long tokens = 0;
    long prompt = 0;
    try (JsonParser p = JSON.createParser(body)) {
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        if (t == JsonToken.END_OBJECT && p.getParsingContext().inRoot()) {
          break; // the end of the JSON; binary tensor data may follow
        }
        if (t != JsonToken.FIELD_NAME) {
          continue;
        }
        String name = p.currentName();
        switch (name) {
          case "queue_time_ms" -> queue = number(p);
          case "compute_time_ms" -> compute = number(p);
          case "completion_tokens" -> tokens = (long) number(p);
          case "prompt_tokens" -> prompt = (long) number(p);
          default -> {}
        }
      }
    } catch (IOException e) {
      return new ServerSide(queue, compute, tokens, prompt);
    }
    return new ServerSide(queue, compute, tokens, prompt);
  }

  private static double number(JsonParser p) throws IOException {
    JsonToken v = p.nextToken();
    return v != null && v.isNumeric() ? p.getDoubleValue() : Double.NaN;
  }
}
