package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Runs kiln bench against {@link StubServer}. Loads are small and bounds generous: these check
 * behaviour (what is measured from where), not speed, on a possibly loaded 2-core machine.
 */
class BenchRunIT extends AgainstStub {
  @Override
  List<String> defaults() {
    return List.of("--warmup", "0s");
  }

  private JsonNode step() throws IOException {
    return report().path("steps").get(0);
  }

  @Test
  void openLoop_serverStallsOneSecond_correctedLatencyShowsTheStall() throws IOException {
    stub.stallOnce(Duration.ofSeconds(1), Duration.ofSeconds(1));

    int exit = bench("--rate", "200", "--duration", "3s");

    JsonNode s = step();
    assertThat(exit).as(out.toString()).isZero();
    assertThat(s.at("/latency_ms/corrected/p99").asDouble()).isGreaterThanOrEqualTo(500);
    assertThat(s.at("/latency_ms/corrected/max").asDouble()).isGreaterThanOrEqualTo(900);
    assertThat(s.at("/latency_ms/uncorrected/p50").asDouble()).isLessThan(100);
    assertThat(s.path("errors").asLong()).isZero();
  }

  @Test
  void openLoop_fastServer_sendsTheScheduledCount() throws IOException {
    int exit = bench("--rate", "500", "--duration", "4s");

    JsonNode s = step();
    assertThat(exit).as(out.toString()).isZero();
    assertThat(s.path("scheduled").asLong()).isEqualTo(2000);
    assertThat(s.path("sent").asLong()).isBetween(1980L, 2020L);
    assertThat(s.path("dropped").asLong()).isZero();
    assertThat(s.path("ok").asLong()).isBetween(1980L, 2020L);
  }

  @Test
  void thresholds_allPass_exitZero() {
    int exit =
        bench(
            "--rate",
            "50",
            "--duration",
            "1s",
            "--threshold",
            "p99<10s",
            "--threshold",
            "error_rate<1%");

    assertThat(exit).as(out.toString()).isZero();
  }

  @Test
  void thresholds_oneFails_exitOne() throws IOException {
    int exit =
        bench(
            "--rate",
            "50",
            "--duration",
            "1s",
            "--threshold",
            "error_rate<1%",
            "--threshold",
            "p50<0.001ms");

    assertThat(exit).as(out.toString()).isEqualTo(BenchMain.EXIT_THRESHOLD);
    JsonNode report = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
    assertThat(report.path("passed").asBoolean()).isFalse();
    assertThat(report.path("thresholds").get(0).path("passed").asBoolean()).isTrue();
    assertThat(report.path("thresholds").get(1).path("passed").asBoolean()).isFalse();
  }

  @Test
  void report_json_hasEveryFigure() throws IOException {
    int exit = bench("--rate", "100", "--duration", "2s", "--batch", "3");

    assertThat(exit).as(out.toString()).isZero();
    JsonNode report = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
    JsonNode s = report.path("steps").get(0);
    for (String kind : List.of("corrected", "uncorrected")) {
      for (String k : Report.LATENCY_KEYS) {
        assertThat(s.at("/latency_ms/" + kind + "/" + k).isNumber()).as(kind + " " + k).isTrue();
      }
    }
    for (String f :
        List.of(
            "throughput_rps",
            "rows_per_s",
            "tokens_per_s",
            "error_rate",
            "errors",
            "dropped",
            "late_sends",
            "scheduled",
            "sent",
            "ok")) {
      assertThat(s.path(f).isNumber()).as(f).isTrue();
    }
    assertThat(s.path("rows_per_s").asDouble())
        .isCloseTo(
            3 * s.path("throughput_rps").asDouble(), org.assertj.core.data.Offset.offset(1.0));
    assertThat(s.at("/send_lag_ms/p99").isNumber()).isTrue();
    assertThat(s.at("/server_ms/queue/p50").asDouble()).isEqualTo(0.05);
    assertThat(s.at("/server_ms/compute/p99").asDouble()).isEqualTo(0.2);
    assertThat(s.at("/outcomes/200").asLong()).isEqualTo(s.path("ok").asLong());
    assertThat(s.path("timeline").size()).isGreaterThanOrEqualTo(1);
    assertThat(s.at("/timeline/0/p99_ms").isNumber()).isTrue();
    assertThat(s.at("/spectrum/corrected").size()).isGreaterThan(5);
    assertThat(report.at("/config/rate/0").asDouble()).isEqualTo(100);
    assertThat(report.at("/config/batch").asInt()).isEqualTo(3);
    assertThat(report.at("/environment/cores").asInt()).isPositive();
    assertThat(report.at("/environment/jvm").asText()).isNotBlank();
    assertThat(report.at("/environment/cpu").asText()).isNotBlank();
  }

  @Test
  void report_html_isSelfContainedWithSvgCharts() throws IOException {
    bench("--concurrency", "1,2", "--duration", "1s");

    String html = Files.readString(dir.resolve("report.html"));
    assertThat(
            Pattern.compile("(?i)(src|href)\\s*=\\s*[\"']?\\s*(https?:)?//").matcher(html).find())
        .isFalse();
    assertThat(html).doesNotContain("<script").doesNotContain("<link");
    assertThat(html).contains("<svg");
    assertThat(
            Pattern.compile("<polyline[^>]*points=\"[0-9.]+,[0-9.]+ [0-9.]+").matcher(html).find())
        .isTrue();
    assertThat(html).contains("Throughput vs concurrency");
  }

  @Test
  void v1_predict_recordsServerTimings() throws IOException {
    int exit = bench("--protocol", "v1", "--features", "4", "--rate", "50", "--duration", "1s");

    JsonNode s = step();
    assertThat(exit).as(out.toString()).isZero();
    assertThat(s.path("ok").asLong()).isPositive();
    assertThat(s.at("/server_ms/compute/count").asLong()).isEqualTo(s.path("ok").asLong());
  }

  @Test
  void scenarioFile_cliFlagsOverrideIt() throws IOException {
    Path yaml = dir.resolve("s.yaml");
    Files.writeString(
        yaml,
        "target: "
            + stub.url()
            + "\nprotocol: v2\nmodel: m\nrate: 1000\nduration: 1s\n"
            + "thresholds: ['error_rate<1%']\n");

    int exit = bench("--scenario", yaml.toString(), "--rate", "20");

    assertThat(exit).as(out.toString()).isZero();
    assertThat(step().path("rate").asDouble()).isEqualTo(20);
    assertThat(step().path("scheduled").asLong()).isEqualTo(20);
  }
}
