package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Times one streamed OpenAI completion as its server-sent events arrive: time to first token (TTFT,
 * from the send to the first event carrying text), the gap before each later text event
 * (inter-token latency, ITL, one value per chunk) and time per output token (TPOT: from the first
 * to the last text event, divided by the tokens after the first, so the prefill is excluded).
 * Tokens come from the {@code usage} event the server sends when asked with {@code
 * stream_options.include_usage}; without it, each text event counts as one token.
 *
 * <p>Times are when the bytes arrived (one read from the socket), so events that arrived in one
 * read share a time and show a gap of zero: that is what the client saw.
 */
final class StreamTimer implements ResponseReader.BodyListener {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final long sentNanos;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private final StringBuilder data = new StringBuilder();
  private long[] arrivals = new long[64];
  private int textEvents;
  private long usageTokens = -1;
  private long promptTokens;

  StreamTimer(long sentNanos) {
    this.sentNanos = sentNanos;
  }

  @Override
  public void body(byte[] b, int off, int len, long arrivedNanos) {
    for (int i = off; i < off + len; i++) {
      if (b[i] == '\n') {
        byte[] l = line.toByteArray();
        int n = l.length > 0 && l[l.length - 1] == '\r' ? l.length - 1 : l.length;
        line(new String(l, 0, n, StandardCharsets.UTF_8), arrivedNanos);
        line.reset();
      } else {
        line.write(b[i]);
      }
    }
  }

  /** SSE: "data:" lines accumulate; a blank line ends the event; other fields are ignored. */
  private void line(String l, long t) {
    if (l.isEmpty()) {
      if (!data.isEmpty()) {
        event(data.toString(), t);
        data.setLength(0);
      }
    } else if (l.startsWith("data:")) {
      if (!data.isEmpty()) {
        data.append('\n');
      }
      data.append(l, l.startsWith("data: ") ? 6 : 5, l.length());
    }
  }

  private void event(String payload, long t) {
    if (payload.equals("[DONE]")) {
      return;
    }
    JsonNode n;
    try {
      n = MAPPER.readTree(payload);
    } catch (IOException e) {
      return; // not JSON: not an OpenAI event
    }
    JsonNode tokens = n.path("usage").path("completion_tokens");
    if (tokens.isNumber()) {
      usageTokens = tokens.asLong();
    }
    JsonNode prompt = n.path("usage").path("prompt_tokens");
    if (prompt.isNumber()) {
      promptTokens = prompt.asLong();
    }
    JsonNode choice = n.path("choices").path(0);
    String text = choice.path("text").asText(choice.path("delta").path("content").asText(""));
    if (!text.isEmpty()) {
      if (textEvents == arrivals.length) {
        arrivals = Arrays.copyOf(arrivals, arrivals.length * 2);
      }
      arrivals[textEvents++] = t;
    }
  }

  /** Events that carried text. */
  int textEvents() {
    return textEvents;
  }

  /** Completion tokens: from the usage event, else the number of text events. */
  long tokens() {
    return usageTokens >= 0 ? usageTokens : textEvents;
  }

  /** Prompt tokens from the usage event, 0 without one. */
  long promptTokens() {
    return promptTokens;
  }

  /** Send to first text event, or -1 when none came. */
  long ttftNanos() {
    return textEvents == 0 ? -1 : arrivals[0] - sentNanos;
  }

  /** (last text event - first) / (tokens - 1), or -1 with fewer than two tokens. */
  long tpotNanos() {
    long tokens = tokens();
    return textEvents == 0 || tokens < 2
        ? -1
        : (arrivals[textEvents - 1] - arrivals[0]) / (tokens - 1);
  }

  /** The gap before each text event after the first. */
  long[] interTokenNanos() {
    long[] gaps = new long[Math.max(0, textEvents - 1)];
    for (int i = 1; i < textEvents; i++) {
      gaps[i - 1] = arrivals[i] - arrivals[i - 1];
    }
    return gaps;
  }
}
