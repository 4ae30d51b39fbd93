package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.bench.BenchMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln bench --binary} against a real Kiln server: its Triton binary tensor bodies (JSON
 * header, Inference-Header-Content-Length, raw little-endian inputs; binary outputs asked for) are
 * accepted for FP32 and INT64 inputs, with the server's per-response timings read back. A body the
 * server could not split at the declared header length would be a 400 and count as an error.
 */
class KilnBenchBinaryIT {
  @TempDir Path repository;
  @TempDir Path out;

  private JsonNode run(TestServer server, String model, String... extra) throws Exception {
    var console = new ByteArrayOutputStream();
    var ps = new PrintStream(console, true, StandardCharsets.UTF_8);
    String[] base = {
      "--target",
      "http://127.0.0.1:" + server.port(),
      "--model",
      model,
      "--binary",
      "--concurrency",
      "4",
      "--duration",
      "1s",
      "--warmup",
      "0s",
      "--memory",
      "off",
      "--quiet",
      "--out",
      out.toString()
    };
    String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    int exit = BenchMain.execute(ps, ps, args);
    assertThat(exit).as(console.toString(StandardCharsets.UTF_8)).isZero();
    return TestServer.MAPPER.readTree(out.resolve("report.json").toFile()).path("steps").get(0);
  }

  @Test
  void bench_binaryFp32Input_everyRequestAnsweredWithServerTimings() throws Exception {
    try (var server = TestServer.withModels(repository, Map.of(), Fixture.LSTM)) {
      JsonNode step = run(server, Fixture.LSTM);

      assertThat(step.path("errors").asLong()).isZero();
      assertThat(step.path("ok").asLong()).isPositive();
      assertThat(step.at("/server_ms/compute/count").asLong()).isEqualTo(step.path("ok").asLong());
    }
  }

  @Test
  void bench_binaryInt64InputWithBatching_everyRequestAnsweredFromTheBatcher() throws Exception {
    try (var server =
        TestServer.withModels(
            repository,
            Map.of("batching.enabled", "true", "batching.max-queue-delay", "1ms"),
            "license-encoder")) {
      JsonNode step = run(server, "license-encoder", "--min", "1", "--max", "256");

      assertThat(step.path("errors").asLong()).isZero();
      assertThat(step.path("ok").asLong()).isPositive();
      assertThat(step.at("/server_ms/queue/count").asLong()).isEqualTo(step.path("ok").asLong());
    }
  }
}
