package dev.kiln.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A {@code /v1/completions} or {@code /v1/chat/completions} body, validated. Chat messages are
 * rendered with the chat template for base models (see kiln-llm/README.md):
 *
 * <pre>
 * System: {system or developer content}
 * User: {user content}
 * Assistant: {assistant content}
 * Assistant:
 * </pre>
 *
 * and {@code "\nUser:"} and {@code "\nSystem:"} are added to the stop strings, so that a base model
 * stops where it would start writing the next turn.
 */
record OpenAiRequest(
    String model,
    boolean chat,
    String prompt,
    Integer maxTokens, // null: 16 for completions, the rest of the context for chat
    float temperature,
    int topK,
    float topP,
    long seed,
    List<String> stop,
    boolean stream,
    boolean includeUsage,
    float repetitionPenalty,
    float presencePenalty,
    float frequencyPenalty,
    int logprobs) { // -1: none; completions' logprobs N, or chat's top_logprobs (0 without)
  static final int DEFAULT_MAX_TOKENS = 16;
  static final List<String> CHAT_STOPS = List.of("\nUser:", "\nSystem:");

  /** A client error naming the offending parameter, as OpenAI's {@code error.param}. */
  static final class Invalid extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String param;
    final String code;

    Invalid(String param, String code, String message) {
      super(message, null, false, false);
      this.param = param;
      this.code = code;
    }
  }

  static Invalid invalid(String param, String format, Object... args) {
    return new Invalid(param, null, String.format(Locale.ROOT, format, args));
  }

  static OpenAiRequest parse(JsonNode root, boolean chat) {
    if (root == null || !root.isObject()) {
      throw invalid(null, "the request body must be a JSON object");
    }
    String model = text(root, "model");
    if (model == null || model.isEmpty()) {
      throw invalid("model", "'model' is required");
    }
    String prompt = chat ? chatPrompt(root.get("messages")) : prompt(root.get("prompt"));
    unsupported(root, "n", n -> !(n.isInt() && n.asInt() == 1), "only n=1 is supported");
    unsupported(root, "best_of", n -> !(n.isInt() && n.asInt() == 1), "best_of is not supported");
    unsupported(root, "echo", JsonNode::asBoolean, "echo is not supported yet");
    unsupported(root, "suffix", n -> true, "suffix is not supported");
    int logprobs = chat ? chatLogprobs(root) : completionLogprobs(root);
    unsupported(root, "tools", n -> !n.isEmpty(), "tools are not supported");
    unsupported(root, "logit_bias", n -> !n.isEmpty(), "logit_bias is not supported yet");
    float presence = (float) number(root, "presence_penalty", 0, -2, 2);
    float frequency = (float) number(root, "frequency_penalty", 0, -2, 2);
    float repetition = (float) number(root, "repetition_penalty", 1, 0, 10);
    if (repetition == 0) {
      throw invalid("repetition_penalty", "repetition_penalty must be > 0");
    }
    Integer maxTokens = integer(root, chat ? "max_completion_tokens" : "max_tokens", 1);
    if (maxTokens == null) {
      maxTokens = integer(root, "max_tokens", 1);
    }
    if (maxTokens == null && !chat) {
      maxTokens = DEFAULT_MAX_TOKENS;
    }
    float temperature = (float) number(root, "temperature", 1, 0, 2);
    float topP = (float) number(root, "top_p", 1, 0, 1);
    if (topP == 0) {
      throw invalid("top_p", "top_p must be in (0, 1]");
    }
    Integer topK = integer(root, "top_k", 0);
    JsonNode seedNode = root.get("seed");
    long seed;
    if (seedNode == null || seedNode.isNull()) {
      seed = ThreadLocalRandom.current().nextLong();
    } else if (seedNode.canConvertToLong() && seedNode.isIntegralNumber()) {
      seed = seedNode.asLong();
    } else {
      throw invalid("seed", "seed must be an integer");
    }
    List<String> stop = new ArrayList<>(stops(root.get("stop")));
    if (chat) {
      stop.addAll(CHAT_STOPS);
    }
    boolean stream = bool(root, "stream");
    JsonNode options = root.get("stream_options");
    boolean includeUsage = false;
    if (options != null && !options.isNull()) {
      if (!stream) {
        throw invalid("stream_options", "stream_options is only allowed when stream is true");
      }
      includeUsage = bool(options, "include_usage");
    }
    return new OpenAiRequest(
        model,
        chat,
        prompt,
        maxTokens,
        temperature,
        topK == null ? 0 : topK,
        topP,
        seed,
        stop,
        stream,
        includeUsage,
        repetition,
        presence,
        frequency,
        logprobs);
  }

  /** The most top logprobs a request may ask for (OpenAI: 5 for completions, 20 for chat). */
  static final int MAX_LOGPROBS = 20;

  /** Completions: {@code logprobs} null or an integer N in [0, 20]. */
  private static int completionLogprobs(JsonNode root) {
    unsupported(root, "top_logprobs", n -> true, "top_logprobs is a chat parameter; use logprobs");
    Integer n = integer(root, "logprobs", 0);
    if (n != null && n > MAX_LOGPROBS) {
      throw invalid("logprobs", "logprobs must be in [0, %d]", MAX_LOGPROBS);
    }
    return n == null ? -1 : n;
  }

  /** Chat: {@code logprobs} true, with {@code top_logprobs} N in [0, 20] (only with logprobs). */
  private static int chatLogprobs(JsonNode root) {
    boolean on = bool(root, "logprobs");
    Integer top = integer(root, "top_logprobs", 0);
    if (top != null && top > MAX_LOGPROBS) {
      throw invalid("top_logprobs", "top_logprobs must be in [0, %d]", MAX_LOGPROBS);
    }
    if (top != null && !on) {
      throw invalid("top_logprobs", "top_logprobs requires logprobs to be true");
    }
    return on ? (top == null ? 0 : top) : -1;
  }

  private static String prompt(JsonNode p) {
    if (p == null || p.isNull()) {
      throw invalid("prompt", "'prompt' is required");
    }
    if (p.isTextual()) {
      return p.asText();
    }
    if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
      return p.get(0).asText();
    }
    throw invalid(
        "prompt",
        "prompt must be a string or an array of one string (batches and token ids are"
            + " not supported yet)");
  }

  private static String chatPrompt(JsonNode messages) {
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      throw invalid("messages", "'messages' must be a non-empty array");
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String param = "messages[" + i + "]";
      String role = m.isObject() ? text(m, "role") : null;
      String label =
          switch (role == null ? "" : role) {
            case "system", "developer" -> "System";
            case "user" -> "User";
            case "assistant" -> "Assistant";
            default ->
                throw invalid(
                    param + ".role",
                    "role must be system, developer, user or assistant, was '%s'",
                    role);
          };
      out.append(label).append(": ").append(content(m.get("content"), param)).append('\n');
    }
    return out.append("Assistant:").toString();
  }

  /** A message's content: a string, or an array of {"type": "text", "text": ...} parts. */
  private static String content(JsonNode c, String param) {
    if (c == null || c.isNull()) {
      return "";
    }
    if (c.isTextual()) {
      return c.asText();
    }
    if (c.isArray()) {
      StringBuilder text = new StringBuilder();
      for (JsonNode part : c) {
        if (!"text".equals(text(part, "type")) || !part.path("text").isTextual()) {
          throw invalid(param + ".content", "only text content parts are supported");
        }
        text.append(part.get("text").asText());
      }
      return text.toString();
    }
    throw invalid(param + ".content", "content must be a string or an array of text parts");
  }

  private static List<String> stops(JsonNode s) {
    if (s == null || s.isNull()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (s.isTextual()) {
      out.add(s.asText());
    } else if (s.isArray() && s.size() <= 4) {
      s.forEach(e -> out.add(e.isTextual() ? e.asText() : null));
    } else {
      throw invalid("stop", "stop must be a string or an array of up to 4 strings");
    }
    if (out.contains(null) || out.contains("")) {
      throw invalid("stop", "stop sequences must be non-empty strings");
    }
    return out;
  }

  private interface Test {
    boolean bad(JsonNode value);
  }

  private static void unsupported(JsonNode root, String key, Test test, String message) {
    JsonNode v = root.get(key);
    if (v != null && !v.isNull() && test.bad(v)) {
      throw invalid(key, "%s", message);
    }
  }

  private static String text(JsonNode o, String key) {
    JsonNode v = o.get(key);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw invalid(key, "'%s' must be a string", key);
    }
    return v.asText();
  }

  private static boolean bool(JsonNode o, String key) {
    JsonNode v = o.get(key);
    if (v == null || v.isNull()) {
      return false;
    }
    if (!v.isBoolean()) {
      throw invalid(key, "'%s' must be a boolean", key);
    }
    return v.asBoolean();
  }

  private static Integer integer(JsonNode o, String key, int min) {
    JsonNode v = o.get(key);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min) {
      throw invalid(key, "'%s' must be an integer >= %d", key, min);
    }
    return v.asInt();
  }

  private static double number(JsonNode o, String key, double fallback, double min, double max) {
    JsonNode v = o.get(key);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
      throw invalid(key, "'%s' must be a number in [%s, %s]", key, min, max);
    }
    return v.asDouble();
  }
}
