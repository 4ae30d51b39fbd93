package dev.kiln.server;

import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics} through a real server, checked by Prometheus's own promtool. */
class MetricsIT {
  @TempDir Path repository;

  /** The value of the sample whose line starts with {@code series} (name and labels), or -1. */
  static double sample(String text, String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    return -1;
  }

  @Test
  void metrics_afterTraffic_passesPromtoolCheckMetrics() throws Exception {
    Fixture rf = Fixture.load(RF);
    try (var server =
        TestServer.withModels(
            repository, Map.of("batching.enabled", "true", "cache.enabled", "true"), RF)) {
      server.post("/v2/models/" + RF + "/infer", rf.v2FlatRequest());
      server.post("/v2/models/" + RF + "/infer", rf.v2FlatRequest());
      server.post("/v2/models/nope/infer", rf.v2FlatRequest());
      TestServer.Reply metrics = server.get("/metrics");

      assertThat(metrics.status()).isEqualTo(200);
      assertThat(metrics.contentType()).startsWith("text/plain");
      Promtool.Result check = Promtool.run(metrics.body(), "check", "metrics");
      assertThat(check.exit()).as(check.output()).isZero();
    }
  }

  @Test
  void metrics_afterRequests_countsByModelVersionProtocolAndStatus() {
    Fixture rf = Fixture.load(RF);
    try (var server = TestServer.withModels(repository, Map.of(), RF)) {
      server.post("/v2/models/" + RF + "/infer", rf.v2FlatRequest());
      server.post("/v1/models/" + RF + ":predict", "{\"instances\": [[1, 2]]}");
      String text = server.get("/metrics").text();

      assertThat(
              sample(
                  text,
                  "kiln_requests_total{model=\""
                      + RF
                      + "\",protocol=\"v2\",status=\"200\",version=\"1\"}"))
          .isEqualTo(1.0);
      assertThat(
              sample(
                  text,
                  "kiln_requests_total{model=\""
                      + RF
                      + "\",protocol=\"v1\",status=\"400\",version=\"1\"}"))
          .isEqualTo(1.0);
      assertThat(text)
          .contains("kiln_request_duration_seconds_bucket{model=\"" + RF + "\",protocol=\"v2\"")
          .contains("kiln_compute_duration_seconds_bucket")
          .contains("kiln_batch_rows_bucket")
          .contains("kiln_model_state{model=\"" + RF + "\",state=\"ready\",version=\"1\"} 1.0")
          .contains("kiln_model_load_duration_seconds{model=\"" + RF + "\",version=\"1\"}")
          .contains("kiln_in_flight_requests")
          .contains("kiln_cache_hits_total{tier=\"l1\"}")
          .contains("jvm_memory_used_bytes")
          .contains("jvm_threads_current")
          .contains("jvm_gc_collection_seconds");
    }
  }

  @Test
  void metrics_batchingOn_exposesQueueDepthAndQueueTime() {
    Fixture rf = Fixture.load(RF);
    try (var server = TestServer.withModels(repository, Map.of("batching.enabled", "true"), RF)) {
      server.post("/v2/models/" + RF + "/infer", rf.v2FlatRequest());
      String text = server.get("/metrics").text();

      assertThat(sample(text, "kiln_queue_depth{model=\"" + RF + "\",version=\"1\"}"))
          .isEqualTo(0.0);
      assertThat(
              sample(text, "kiln_queue_duration_seconds_count{model=\"" + RF + "\",version=\"1\"}"))
          .isEqualTo(1.0);
    }
  }

  @Test
  void alertRules_promtoolCheckRules_succeeds() throws Exception {
    Path rules = TestServer.kilnRoot().resolve("deploy/prometheus/alerts.yml");
    Promtool.Result check = Promtool.run(new byte[0], "check", "rules", rules.toString());

    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: 3 rules found");
  }
}
