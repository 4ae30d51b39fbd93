package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The raw client's fixed connection pool and the open-loop backlog, against {@link StubServer}. The
 * stub's delays make the expected figures lower bounds that a slow, loaded machine can only push
 * further, so the assertions hold however busy the two cores are.
 */
class ConnectionPoolIT extends AgainstStub {
  @Override
  List<String> defaults() {
    return List.of("--warmup", "0s");
  }

  private JsonNode run(String... extra) throws IOException {
    int exit = bench(extra);
    assertThat(exit).as(out.toString()).isZero();
    return report().path("steps").get(0);
  }

  @Test
  void openLoop_allConnectionsBusy_arrivalsWaitAndCorrectedLatencyCountsTheWait()
      throws IOException {
    stub.delay(Duration.ofMillis(50)); // 2 connections serve at most 40 req/s; 100 are offered

    JsonNode s =
        run("--rate", "100", "--duration", "1s", "--connections", "2", "--max-backlog", "1000");

    assertThat(s.path("scheduled").asLong()).isEqualTo(100);
    assertThat(s.path("dropped").asLong()).isZero();
    assertThat(s.path("ok").asLong()).isEqualTo(100);
    assertThat(s.path("connections_opened").asLong()).isEqualTo(2);
    // The 100th arrival (t = 0.99 s) cannot start before 50 responses of 50 ms: t >= 2.5 s.
    assertThat(s.at("/queue_wait_ms/max").asDouble()).isGreaterThan(1000);
    assertThat(s.at("/latency_ms/corrected/max").asDouble()).isGreaterThan(1000);
    assertThat(s.at("/latency_ms/uncorrected/p50").asDouble())
        .isLessThan(s.at("/latency_ms/corrected/p50").asDouble());
    assertThat(s.path("backlog_peak").asLong()).isGreaterThan(10);
    assertThat(s.path("note").asText()).contains("connections were busy");
  }

  @Test
  void openLoop_backlogFull_dropsTheRest() throws IOException {
    stub.delay(Duration.ofMillis(100)); // 2 connections serve at most 20 req/s

    JsonNode s =
        run("--rate", "100", "--duration", "1s", "--connections", "2", "--max-backlog", "5");

    // At most 2 in flight + 5 waiting + 20 req/s x the time the schedule took (1 s, 3 s even if
    // the scheduler thread were starved for 2 s) can be sent; the rest of 100 are dropped.
    assertThat(s.path("scheduled").asLong()).isEqualTo(100);
    assertThat(s.path("dropped").asLong()).isGreaterThanOrEqualTo(30);
    assertThat(s.path("sent").asLong() + s.path("dropped").asLong()).isEqualTo(100);
    assertThat(s.path("backlog_peak").asLong()).isLessThanOrEqualTo(5);
  }

  @Test
  void closedLoop_rawClient_keepsOneConnectionPerClient() throws IOException {
    JsonNode s = run("--concurrency", "3", "--duration", "1s");

    assertThat(s.path("ok").asLong()).isGreaterThan(3);
    assertThat(s.path("errors").asLong()).isZero();
    assertThat(s.path("connections_opened").asLong()).isEqualTo(3);
  }

  @Test
  void openLoop_chunkedResponses_parsedWithServerTimings() throws IOException {
    stub.chunked();

    JsonNode s = run("--rate", "50", "--duration", "1s");

    assertThat(s.path("ok").asLong()).isEqualTo(50);
    assertThat(s.at("/server_ms/compute/count").asLong()).isEqualTo(50);
    assertThat(s.at("/server_ms/compute/p50").asDouble()).isEqualTo(0.2);
  }

  @Test
  void timeout_serverTooSlow_failsAsHttpTimeoutException() throws IOException {
    stub.delay(Duration.ofSeconds(3));

    JsonNode s = run("--rate", "5", "--duration", "1s", "--timeout", "300ms");

    assertThat(s.path("ok").asLong()).isZero();
    assertThat(s.at("/outcomes/HttpTimeoutException").asLong()).isEqualTo(5);
  }

  @Test
  void body_file_isSentByteForByte() throws IOException {
    Path body = dir.resolve("body.json");
    String json =
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}";
    Files.writeString(body, json);

    JsonNode s = run("--concurrency", "1", "--duration", "1s", "--body", body.toString());

    assertThat(s.path("ok").asLong()).isPositive();
    assertThat(new String(stub.lastBody(), StandardCharsets.UTF_8)).isEqualTo(json);
  }

  @Test
  void openaiStream_tokenTimings_recordedPerChunk() throws IOException {
    JsonNode s = run("--protocol", "openai", "--stream", "--rate", "5", "--duration", "1s");

    long ok = s.path("ok").asLong();
    assertThat(ok).isEqualTo(5);
    assertThat(s.path("completion_tokens").asLong()).isEqualTo(ok * StubServer.TOKENS);
    assertThat(s.at("/stream_ms/ttft/count").asLong()).isEqualTo(ok);
    assertThat(s.at("/stream_ms/tpot/count").asLong()).isEqualTo(ok);
    assertThat(s.at("/stream_ms/itl/count").asLong()).isEqualTo(ok * (StubServer.TOKENS - 1));
    // The stub waits before the first token and between tokens: lower bounds, whatever the load.
    assertThat(s.at("/stream_ms/ttft/p50").asDouble()).isGreaterThan(StubServer.FIRST_TOKEN_MS - 1);
    double e2e = StubServer.FIRST_TOKEN_MS + (StubServer.TOKENS - 1) * StubServer.TOKEN_GAP_MS;
    assertThat(s.at("/latency_ms/uncorrected/p50").asDouble()).isGreaterThan(e2e - 1);
    assertThat(s.at("/stream_ms/ttft/max").asDouble())
        .isLessThanOrEqualTo(s.at("/latency_ms/uncorrected/max").asDouble());
    String sent = new String(stub.lastBody(), StandardCharsets.UTF_8);
    assertThat(sent).contains("\"stream\":true").contains("\"include_usage\":true");
  }

  @Test
  void virtualIoThreads_openLoop_sameResult() throws IOException {
    JsonNode s = run("--io-threads", "virtual", "--rate", "50", "--duration", "1s");

    assertThat(s.path("ok").asLong()).isEqualTo(50);
    assertThat(s.path("connections_opened").asLong()).isBetween(1L, 64L);
  }

  @Test
  void jdkClient_openLoop_stillWorks() throws IOException {
    JsonNode s = run("--client", "jdk", "--rate", "50", "--duration", "1s");

    assertThat(s.path("ok").asLong()).isEqualTo(50);
    assertThat(s.path("client").asText()).isEqualTo("jdk");
    assertThat(s.has("connections_opened")).isFalse();
  }
}
