package dev.kiln.server;

import static dev.kiln.server.OpenaiSdk.MODEL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sampling and serving on the OpenAI routes: logprobs and penalties against the torch reference
 * (kiln-llm's tiny-gpt2/sampling-reference.json), the KV budget's 400, OpenAI-shaped server errors,
 * cancellation on disconnect, and the kiln_llm_* metrics. The model runs with a KV budget of 100
 * positions (kv-cache-bytes 100 KB; a position is 1 KB on the tiny model) and max-in-flight 1.
 */
@Timeout(120)
class OpenaiServingIT {
  @TempDir static Path repository;
  static TestServer server;
  static JsonNode reference;

  @BeforeAll
  static void start() throws IOException {
    TestServer.copyModels(repository, MODEL);
    Files.writeString(
        repository.resolve(MODEL).resolve("config.yaml"), "parameters:\n  kv-cache-bytes: 100KB\n");
    server = TestServer.start(repository, Map.of("server.max-in-flight", "1"));
    reference =
        TestServer.MAPPER
            .readTree(
                TestServer.kilnRoot()
                    .resolve("kiln-llm/src/test/resources/tiny-gpt2/sampling-reference.json")
                    .toFile())
            .path("cases");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static JsonNode referenceCase(String prompt, String setting) {
    for (JsonNode c : reference) {
      if (c.path("prompt").asText().equals(prompt) && c.path("name").asText().equals(setting)) {
        return c;
      }
    }
    throw new AssertionError("no reference case " + prompt + " " + setting);
  }

  private static String completion(String prompt, int maxTokens, String extra) {
    return "{\"model\": \""
        + MODEL
        + "\", \"prompt\": "
        + TestServer.MAPPER.valueToTree(prompt)
        + ", \"max_tokens\": "
        + maxTokens
        + ", \"temperature\": 0"
        + extra
        + "}";
  }

  @Test
  void completion_logprobs_equalTorchLogSoftmaxWithOffsets() {
    JsonNode ref = referenceCase("The LORD is my shepherd;", "greedy");
    var reply =
        server.post(
            "/v1/completions", completion("The LORD is my shepherd;", 12, ", \"logprobs\": 3"));
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    JsonNode choice = reply.json().path("choices").get(0);
    JsonNode lp = choice.path("logprobs");
    String text = choice.path("text").asText();
    StringBuilder joined = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      JsonNode step = ref.path("steps").get(i);
      assertThat(lp.path("token_logprobs").get(i).asDouble())
          .isCloseTo(step.path("logprob").asDouble(), within(2e-4));
      assertThat(lp.path("top_logprobs").get(i).size()).isEqualTo(3);
      assertThat(lp.path("text_offset").get(i).asInt()).isEqualTo(joined.length());
      joined.append(lp.path("tokens").get(i).asText());
    }
    assertThat(joined).hasToString(text);
    // The most likely token's logprob is the first of the reference's top list.
    double top0 = ref.path("steps").get(0).path("top_logprobs").get(0).asDouble();
    assertThat(lp.path("top_logprobs").get(0).elements().next().asDouble())
        .isCloseTo(top0, within(2e-4));
  }

  @Test
  void chat_logprobs_haveTokenBytesAndTopLogprobs() {
    String body =
        "{\"model\": \""
            + MODEL
            + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
            + " \"max_tokens\": 5, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 2}";
    var reply = server.post("/v1/chat/completions", body);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    JsonNode choice = reply.json().path("choices").get(0);
    JsonNode content = choice.path("logprobs").path("content");
    StringBuilder text = new StringBuilder();
    for (JsonNode t : content) {
      byte[] bytes = new byte[t.path("bytes").size()];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = (byte) t.path("bytes").get(i).asInt();
      }
      assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo(t.path("token").asText());
      assertThat(t.path("top_logprobs")).hasSize(2);
      assertThat(t.path("logprob").asDouble())
          .isLessThanOrEqualTo(t.path("top_logprobs").get(0).path("logprob").asDouble());
      text.append(t.path("token").asText());
    }
    assertThat(text).hasToString(choice.path("message").path("content").asText());
  }

  @Test
  void completionStream_logprobs_chunksTogetherEqualTheWholeAnswer() {
    String whole =
        server
            .post("/v1/completions", completion("And God said,", 12, ", \"logprobs\": 1"))
            .json()
            .path("choices")
            .get(0)
            .path("logprobs")
            .path("token_logprobs")
            .toString();
    var reply =
        server.post(
            "/v1/completions",
            completion("And God said,", 12, ", \"logprobs\": 1, \"stream\": true"));
    List<Double> streamed = new ArrayList<>();
    for (String line : reply.text().split("\n")) {
      if (line.startsWith("data: {")) {
        JsonNode lp = json(line.substring(6)).path("choices").get(0).path("logprobs");
        lp.path("token_logprobs").forEach(v -> streamed.add(v.asDouble()));
      }
    }
    assertThat(TestServer.MAPPER.valueToTree(streamed).toString()).isEqualTo(whole);
  }

  @Test
  void completion_repetitionPenalty_equalsTransformersRule() {
    JsonNode ref = referenceCase("The LORD is my shepherd;", "repetition");
    var reply =
        server.post(
            "/v1/completions",
            completion("The LORD is my shepherd;", 12, ", \"repetition_penalty\": 1.3"));
    assertThat(reply.json().path("choices").get(0).path("text").asText())
        .isEqualTo(OpenaiSdk.tokenizer().decode(ints(ref.path("tokens"))));
  }

  @Test
  void completion_presenceAndFrequencyPenalties_equalOpenAiRule() {
    JsonNode ref = referenceCase("And God said,", "presence_frequency");
    var reply =
        server.post(
            "/v1/completions",
            completion(
                "And God said,", 12, ", \"presence_penalty\": 0.7, \"frequency_penalty\": 0.9"));
    assertThat(reply.json().path("choices").get(0).path("text").asText())
        .isEqualTo(OpenaiSdk.tokenizer().decode(ints(ref.path("tokens"))));
  }

  @Test
  void completion_moreThanTheKvBudget_isOpenAiShaped400NamingIt() {
    var reply = server.post("/v1/completions", completion("And God said,", 120, ""));
    assertThat(reply.status()).isEqualTo(400);
    JsonNode error = reply.json().path("error");
    assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.path("message").asText()).contains("kv-cache-bytes").contains("100 positions");
  }

  @Test
  void completion_badLogprobs_isOpenAiShaped400() {
    var reply = server.post("/v1/completions", completion("x", 1, ", \"logprobs\": 21"));
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.json().path("error").path("param").asText()).isEqualTo("logprobs");
  }

  @Test
  void completions_wrongMethod_isOpenAiShaped405AllowingPost() {
    var reply = server.get("/v1/completions");
    assertThat(reply.status()).isEqualTo(405);
    assertThat(reply.headers().firstValue("Allow")).hasValue("POST");
    assertThat(reply.contentType()).startsWith("application/json");
    assertThat(reply.json().path("error").path("message").asText()).contains("GET /v1/completions");
  }

  @Test
  void completion_serverInFlightCapFull_isOpenAiShaped429WithRetryAfter() throws Exception {
    // A request whose body never finishes holds the only in-flight place (max-in-flight 1). Wait
    // for it to be the one in flight before asking: a request of ours dispatched first would
    // have had the held one refused instead, and one left from an earlier test would too.
    awaitInFlight(0);
    try (Socket held = new Socket("127.0.0.1", server.port())) {
      OutputStream out = held.getOutputStream();
      out.write(
          ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Content-Length: 1000\r\n\r\n{\"model\": ")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      awaitInFlight(1);
      TestServer.Reply refused = server.post("/v1/completions", completion("x", 1, ""));
      assertThat(refused.status()).as("a 429 while the in-flight place is held").isEqualTo(429);
      assertThat(refused.contentType()).startsWith("application/json");
      assertThat(refused.headers().firstValue("Retry-After")).contains("1");
      JsonNode error = refused.json().path("error");
      assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
      assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
      assertThat(error.path("message").asText()).contains("server.max-in-flight");
    }
  }

  @Test
  void completionStream_clientDisconnects_sequenceLeavesAndKvIsFreed() throws Exception {
    double aborted = metric("kiln_llm_requests_finished_total", "finish_reason=\"abort\"");
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      byte[] body =
          completion("And God said,", 90, ", \"stream\": true").getBytes(StandardCharsets.UTF_8);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Content-Length: "
                  + body.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      var in =
          new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      for (String line = in.readLine(); !line.startsWith("data: "); line = in.readLine()) {
        assertThat(line).isNotNull();
      }
      s.setSoLinger(true, 0); // close with a reset: the server's next write fails at once
    }
    while (metric("kiln_llm_requests_finished_total", "finish_reason=\"abort\"") == aborted) {
      Thread.sleep(5);
    }
    while (metric("kiln_llm_requests_running", "") != 0) {
      Thread.sleep(5);
    }
    assertThat(metric("kiln_llm_kv_cache_used_bytes", "")).isZero();
    assertThat(metric("kiln_llm_kv_cache_budget_bytes", "")).isEqualTo(100 * 1024);
    assertThat(metric("kiln_llm_requests_waiting", "")).isZero();
  }

  @Test
  void metrics_afterGeneration_haveLlmHistogramsAndPassPromtool() throws Exception {
    server.post("/v1/completions", completion("And God said,", 8, ""));
    var metrics = server.get("/metrics");
    String text = metrics.text();
    assertThat(text)
        .contains("kiln_llm_time_to_first_token_seconds_bucket{model=\"" + MODEL)
        .contains("kiln_llm_inter_token_latency_seconds_count{model=\"" + MODEL)
        .contains("kiln_llm_e2e_request_latency_seconds_sum{model=\"" + MODEL)
        .contains("kiln_llm_request_queue_time_seconds_count{model=\"" + MODEL)
        .contains("kiln_llm_prompt_tokens_total{model=\"" + MODEL)
        .contains("kiln_llm_generation_tokens_total{model=\"" + MODEL)
        .contains("kiln_llm_kv_cache_usage_ratio{model=\"" + MODEL);
    assertThat(metric("kiln_llm_generation_tokens_total", "")).isGreaterThanOrEqualTo(8);
    Promtool.Result check = Promtool.run(metrics.body(), "check", "metrics");
    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).isBlank();
  }

  /** The value of the first sample of {@code name} whose labels contain {@code label}. */
  /** Waits until {@code kiln_in_flight_requests} reads {@code n}. */
  private static void awaitInFlight(int n) throws InterruptedException {
    Pattern gauge = Pattern.compile("(?m)^kiln_in_flight_requests (\\S+)$");
    for (int i = 0; ; i++) {
      Matcher m = gauge.matcher(server.get("/metrics").text());
      if (m.find() && Double.parseDouble(m.group(1)) == n) {
        return;
      }
      assertThat(i).as("kiln_in_flight_requests never read %d", n).isLessThan(1000);
      Thread.sleep(10);
    }
  }

  private static double metric(String name, String label) {
    String text = server.get("/metrics").text();
    Matcher m =
        Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$").matcher(text);
    while (m.find()) {
      if (m.group(1).contains(label)) {
        return Double.parseDouble(m.group(2));
      }
    }
    return 0;
  }

  private static JsonNode json(String s) {
    try {
      return TestServer.MAPPER.readTree(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }
}
