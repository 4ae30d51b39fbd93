package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Server memory sampling against {@link StubServer}, whose /metrics can report a growing RSS. */
class MemoryIT extends AgainstStub {
  @Override
  List<String> defaults() {
    return List.of("--rate", "50");
  }

  @Test
  void metrics_growingRss_leakSlopeIsTheGrowthRate() throws IOException {
    stub.rss(200, 2); // 2 MB/s = 7200 MB/hour
    int exit =
        bench(
            "--memory",
            "metrics",
            "--memory-interval",
            "100ms",
            "--duration",
            "2s",
            "--warmup",
            "500ms");

    assertThat(exit).as(out.toString()).isZero();
    JsonNode report = report();
    assertThat(report.path("memory_source").asText())
        .isEqualTo("metrics:" + stub.url() + "/metrics");
    JsonNode mem = report.at("/steps/0/memory");
    assertThat(mem.path("count").asInt()).isBetween(15, 30);
    assertThat(mem.path("failures").asInt()).isZero();
    // samples span the warm-up (negative t) and the window; RSS rises with t
    JsonNode samples = mem.path("samples");
    assertThat(samples.get(0).get(0).asDouble()).isLessThan(-0.3);
    assertThat(samples.get(samples.size() - 1).get(0).asDouble()).isGreaterThan(1.9);
    assertThat(samples.get(samples.size() - 1).get(1).asDouble())
        .isGreaterThan(samples.get(0).get(1).asDouble() + 4);
    assertThat(mem.path("leak_mb_per_hour").asDouble()).isCloseTo(7200, within(720.0));
    assertThat(mem.at("/rss_mb/max").asDouble()).isBetween(204.0, 206.0);
    assertThat(out.toString()).contains("server RSS").contains("MB/hour");
    String html = Files.readString(dir.resolve("report.html"));
    assertThat(html)
        .contains("Server RSS over the run")
        .contains(HtmlSweep.RSS)
        .contains(HtmlSweep.FIT);
  }

  @Test
  void leakThreshold_growingRss_exitOne() throws IOException {
    stub.rss(200, 1); // 3600 MB/hour
    int exit =
        bench(
            "--memory",
            "metrics",
            "--memory-interval",
            "100ms",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--threshold",
            "leak_mb_per_hour<50");

    assertThat(exit).as(out.toString()).isEqualTo(BenchMain.EXIT_THRESHOLD);
    JsonNode t = report().path("thresholds").get(0);
    assertThat(t.path("passed").asBoolean()).isFalse();
    assertThat(t.path("actual").asDouble()).isGreaterThan(1000);
  }

  @Test
  void soak_flatRss_passesTheLeakThresholdInOneLongStep() throws IOException {
    stub.rss(300, 0);
    int exit =
        bench(
            "--memory",
            "metrics",
            "--soak",
            "2s",
            "--memory-interval",
            "200ms",
            "--warmup",
            "0s",
            "--threshold",
            "leak_mb_per_hour<50",
            "--threshold",
            "rss_max_mb<400");

    assertThat(exit).as(out.toString()).isZero();
    JsonNode report = report();
    assertThat(report.path("steps")).hasSize(1);
    assertThat(report.at("/config/soak").asBoolean()).isTrue();
    assertThat(report.at("/config/duration").asText()).isEqualTo("2s");
    assertThat(report.at("/steps/0/memory/leak_mb_per_hour").asDouble()).isCloseTo(0, within(1.0));
  }

  @Test
  void soak_noMemorySource_exitThree() {
    // /metrics answers 404 (no rss() call) and --memory metrics rules out /proc
    int exit = bench("--memory", "metrics", "--soak", "1s");

    assertThat(exit).as(out.toString()).isEqualTo(BenchMain.EXIT_RUN);
    assertThat(out.toString()).contains("/metrics answered 404");
  }

  @Test
  void auto_localServer_samplesVmRssOfTheProcessOnThePort() throws IOException {
    stub.rss(1, 0); // /metrics answers too, but /proc of the listening process comes first
    int exit = bench("--duration", "1s", "--warmup", "0s", "--memory-interval", "200ms");

    assertThat(exit).as(out.toString()).isZero();
    JsonNode report = report();
    // the stub runs inside this JVM, so the process on its port is this one
    assertThat(report.path("memory_source").asText())
        .isEqualTo("proc:" + ProcessHandle.current().pid());
    assertThat(report.at("/steps/0/memory/rss_mb/max").asDouble()).isGreaterThan(10);
  }

  @Test
  void pid_explicit_samplesThatProcess() throws IOException {
    int exit =
        bench(
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--pid",
            Long.toString(ProcessHandle.current().pid()),
            "--memory",
            "proc");

    assertThat(exit).as(out.toString()).isZero();
    assertThat(report().path("memory_source").asText()).startsWith("proc:");
  }

  @Test
  void memoryOff_noSamples() throws IOException {
    int exit = bench("--duration", "1s", "--warmup", "0s", "--memory", "off");

    assertThat(exit).as(out.toString()).isZero();
    assertThat(report().at("/steps/0/memory").isMissingNode()).isTrue();
  }
}
