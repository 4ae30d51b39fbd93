package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.llm.TextGenerator;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * OpenAI's JSON: completions, chat completions, their stream chunks and errors ({@code {"error":
 * {"message", "type", "param", "code"}}}), and the server-sent-event framing.
 */
final class OpenAiWire {
  private OpenAiWire() {}

  /** The fixed part of one answer: id, kind, model, creation time. */
  record Reply(String id, boolean chat, String model, long created) {
    private void head(JsonGenerator g, boolean chunk) throws IOException {
      g.writeStringField("id", id);
      g.writeStringField(
          "object",
          chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
      g.writeNumberField("created", created);
      g.writeStringField("model", model);
      g.writeNullField("system_fingerprint");
    }

    /** The whole answer of a request that did not stream. */
    void writeWhole(JsonGenerator g, TextGenerator.Result r) throws IOException {
      g.writeStartObject();
      head(g, false);
      g.writeArrayFieldStart("choices");
      g.writeStartObject();
      g.writeNumberField("index", 0);
      if (chat) {
        g.writeObjectFieldStart("message");
        g.writeStringField("role", "assistant");
        g.writeStringField("content", r.text());
        g.writeNullField("refusal");
        g.writeEndObject();
      } else {
        g.writeStringField("text", r.text());
      }
      logprobs(g, r.logprobs());
      g.writeStringField("finish_reason", finishReason(r.finish()));
      g.writeEndObject();
      g.writeEndArray();
      usage(g, r);
      timings(g, r);
      g.writeEndObject();
    }

    /**
     * A chunk with a piece of text and the logprobs of the tokens that start in it (null: not asked
     * for); the first chat chunk also names the role.
     */
    void writeChunk(
        JsonGenerator g, String text, List<TextGenerator.TokenLogprob> tokens, boolean first)
        throws IOException {
      writeStreamChoice(g, text, tokens, null, first);
    }

    /** The chunk that ends the choice: no text, the finish reason, and Kiln's timings. */
    void writeFinal(JsonGenerator g, TextGenerator.Result r, boolean first) throws IOException {
      writeStreamChoice(g, null, null, r, first);
    }

    /** One streamed choice: text while generating ({@code end} null), or the end of it. */
    private void writeStreamChoice(
        JsonGenerator g,
        String text,
        List<TextGenerator.TokenLogprob> tokens,
        TextGenerator.Result end,
        boolean first)
        throws IOException {
      g.writeStartObject();
      head(g, true);
      g.writeArrayFieldStart("choices");
      g.writeStartObject();
      g.writeNumberField("index", 0);
      if (chat) {
        g.writeObjectFieldStart("delta");
        if (first) {
          g.writeStringField("role", "assistant");
        }
        if (text != null) {
          g.writeStringField("content", text);
        }
        g.writeEndObject();
      } else {
        g.writeStringField("text", text == null ? "" : text);
      }
      logprobs(g, tokens);
      if (end == null) {
        g.writeNullField("finish_reason");
      } else {
        g.writeStringField("finish_reason", finishReason(end.finish()));
      }
      g.writeEndObject();
      g.writeEndArray();
      if (end != null) {
        timings(g, end);
      }
      g.writeEndObject();
    }

    /** {@code stream_options.include_usage}: a last chunk with no choices and the usage. */
    void writeUsageChunk(JsonGenerator g, TextGenerator.Result r) throws IOException {
      g.writeStartObject();
      head(g, true);
      g.writeArrayFieldStart("choices");
      g.writeEndArray();
      usage(g, r);
      timings(g, r);
      g.writeEndObject();
    }

    /**
     * {@code logprobs}: null when not asked for. Completions: OpenAI's legacy arrays ({@code
     * tokens}, {@code token_logprobs}, {@code top_logprobs} as token -> logprob maps, {@code
     * text_offset} in code points of the completion). Chat: {@code content}, one entry per token
     * with its UTF-8 {@code bytes} and its {@code top_logprobs}.
     */
    private void logprobs(JsonGenerator g, List<TextGenerator.TokenLogprob> tokens)
        throws IOException {
      if (tokens == null) {
        g.writeNullField("logprobs");
        return;
      }
      g.writeObjectFieldStart("logprobs");
      if (chat) {
        g.writeArrayFieldStart("content");
        for (var t : tokens) {
          g.writeStartObject();
          entry(g, t.token(), t.logprob(), t.bytes());
          g.writeArrayFieldStart("top_logprobs");
          for (var top : t.top()) {
            g.writeStartObject();
            entry(g, top.token(), top.logprob(), top.bytes());
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeEndObject();
        }
        g.writeEndArray();
        g.writeNullField("refusal");
      } else {
        g.writeArrayFieldStart("tokens");
        for (var t : tokens) {
          g.writeString(t.token());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("token_logprobs");
        for (var t : tokens) {
          g.writeNumber(t.logprob());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("top_logprobs");
        for (var t : tokens) {
          g.writeStartObject();
          java.util.Set<String> written = new java.util.HashSet<>();
          for (var top : t.top()) {
            if (written.add(top.token())) { // two ids can show as the same text (U+FFFD)
              g.writeNumberField(top.token(), top.logprob());
            }
          }
          g.writeEndObject();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("text_offset");
        for (var t : tokens) {
          g.writeNumber(t.textOffset());
        }
        g.writeEndArray();
      }
      g.writeEndObject();
    }

    private static void entry(JsonGenerator g, String token, float logprob, byte[] bytes)
        throws IOException {
      g.writeStringField("token", token);
      g.writeNumberField("logprob", logprob);
      g.writeArrayFieldStart("bytes");
      for (byte b : bytes) {
        g.writeNumber(b & 0xFF);
      }
      g.writeEndArray();
    }
  }

  static String finishReason(TextGenerator.Finish f) {
    return f == TextGenerator.Finish.LENGTH ? "length" : "stop";
  }

  private static void usage(JsonGenerator g, TextGenerator.Result r) throws IOException {
    g.writeObjectFieldStart("usage");
    g.writeNumberField("prompt_tokens", r.promptTokens());
    g.writeNumberField("completion_tokens", r.completionTokens());
    g.writeNumberField("total_tokens", r.promptTokens() + r.completionTokens());
    g.writeEndObject();
  }

  /**
   * The {@code kiln} extension: queue wait, prompt pass, decode after the first token, time to the
   * first token (from when the model got the request), decode speed (tokens after the first per
   * second of decode; 0 with fewer than two tokens).
   */
  private static void timings(JsonGenerator g, TextGenerator.Result r) throws IOException {
    g.writeObjectFieldStart("kiln");
    g.writeNumberField("queue_ms", millis(r.queueNanos()));
    g.writeNumberField("prefill_ms", millis(r.prefillNanos()));
    g.writeNumberField("decode_ms", millis(r.decodeNanos()));
    g.writeNumberField("ttft_ms", millis(r.firstTokenNanos()));
    double perSecond =
        r.completionTokens() > 1 && r.decodeNanos() > 0
            ? (r.completionTokens() - 1) * 1e9 / r.decodeNanos()
            : 0;
    g.writeNumberField("tokens_per_second", Math.round(perSecond * 10) / 10.0);
    g.writeEndObject();
  }

  private static double millis(long nanos) {
    return Math.round(nanos / 1e3) / 1e3;
  }

  // ---- errors -------------------------------------------------------------------------------

  static String type(int status) {
    return switch (status) {
      case 401 -> "authentication_error";
      case 429 -> "rate_limit_error";
      default -> status >= 500 ? "server_error" : "invalid_request_error";
    };
  }

  static String code(ErrorKind kind) {
    return switch (kind) {
      case MODEL_NOT_FOUND -> "model_not_found";
      case OVERLOADED -> "rate_limit_exceeded";
      case MODEL_NOT_READY -> "model_not_ready";
      case PAYLOAD_TOO_LARGE -> "payload_too_large";
      case DEADLINE_EXCEEDED -> "timeout";
      default -> null;
    };
  }

  static void writeError(JsonGenerator g, KilnException e, String requestId) throws IOException {
    int status = Problems.status(e.kind());
    String message =
        e.kind() == ErrorKind.INTERNAL
            ? "unexpected error; see the server log for request " + requestId
            : e.getMessage();
    writeError(
        g,
        message,
        type(status),
        e.kind() == ErrorKind.MODEL_NOT_FOUND ? "model" : null,
        code(e.kind()));
  }

  private static void writeError(
      JsonGenerator g, String message, String type, String param, String code) throws IOException {
    g.writeStartObject();
    g.writeObjectFieldStart("error");
    g.writeStringField("message", message);
    g.writeStringField("type", type);
    g.writeStringField("param", param);
    g.writeStringField("code", code);
    g.writeEndObject();
    g.writeEndObject();
  }

  /**
   * Answers {@code e} as an OpenAI error with its status; 429 (the model's queue or the server's
   * in-flight cap is full) and 503 (loading, unloading, shutting down) say Retry-After: 1.
   */
  static void sendError(ServerResponse res, KilnException e, String requestId) {
    if (res.isSent()) {
      return;
    }
    if (e.kind() == ErrorKind.OVERLOADED || e.kind() == ErrorKind.MODEL_NOT_READY) {
      res.header(HeaderNames.RETRY_AFTER, "1");
    }
    if (e.kind() == ErrorKind.PAYLOAD_TOO_LARGE) {
      res.header(io.helidon.http.HeaderValues.CONNECTION_CLOSE);
    }
    Json.send(res, Problems.status(e.kind()), g -> writeError(g, e, requestId));
  }

  /** The OpenAI error document for {@code e}, for answers written outside a route. */
  static byte[] errorBody(KilnException e, String requestId) {
    return Json.bytes(g -> writeError(g, e, requestId));
  }

  static void sendError(ServerResponse res, int status, String message, String param, String code) {
    if (!res.isSent()) {
      Json.send(res, status, g -> writeError(g, message, type(status), param, code));
    }
  }

  // ---- server-sent events -------------------------------------------------------------------

  /**
   * {@code data: <json>\n\n} events on the response's output stream, each flushed at once (Helidon
   * sends a chunk per flush). The status and headers go out with the first event. A failed write
   * marks the stream broken: the client has gone and every later event is dropped.
   */
  static final class Sse {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ServerResponse res;
    private OutputStream out;
    private boolean broken;
    private int events;

    Sse(ServerResponse res) {
      this.res = res;
    }

    boolean started() {
      return out != null;
    }

    /** Whether no event has been sent yet. */
    boolean first() {
      return events == 0;
    }

    /** Sends one event; false when the client has gone. */
    boolean event(Json.Writer json) {
      return send(Json.bytes(json));
    }

    void done() {
      send("[DONE]".getBytes(StandardCharsets.US_ASCII));
    }

    private boolean send(byte[] payload) {
      if (broken) {
        return false;
      }
      try {
        if (out == null) {
          res.status(200);
          res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
          res.header(HeaderNames.CACHE_CONTROL, "no-cache");
          out = res.outputStream();
        }
        out.write(DATA);
        out.write(payload);
        out.write(END);
        out.flush();
        events++;
        return true;
      } catch (IOException | UncheckedIOException | CloseConnectionException e) {
        broken = true;
        return false;
      }
    }

    void close() {
      if (out != null) {
        try {
          out.close();
        } catch (IOException | UncheckedIOException | CloseConnectionException e) {
          broken = true;
        }
      }
    }
  }
}
