package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/** report.json's shape, the console summary and threshold evaluation. */
final class Report {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  static final String[] LATENCY_KEYS = {"p50", "p90", "p95", "p99", "p99_9", "max", "mean"};

  private Report() {}

  static ObjectNode start(BenchConfig cfg, Payload payload) {
    ObjectNode r = MAPPER.createObjectNode();
    r.put("tool", "kiln-bench");
    r.put("format", 1);
    r.set("config", MAPPER.valueToTree(cfg.describe()));
    ((ObjectNode) r.get("config")).put("payload", payload.description());
    r.set("environment", MAPPER.valueToTree(Environment.describe()));
    return r;
  }

  /** Evaluates every threshold on every step; records the outcome; true when all pass. */
  static boolean evaluate(BenchConfig cfg, ObjectNode report) {
    ArrayNode results = report.putArray("thresholds");
    boolean all = true;
    for (JsonNode step : report.path("steps")) {
      for (Threshold t : cfg.thresholds()) {
        double actual = t.actual(step);
        boolean ok = t.passes(actual);
        all &= ok;
        ObjectNode n = results.addObject();
        n.put("threshold", t.text());
        n.put("step", step.path("label").asText());
        n.put("actual", actual);
        n.put("passed", ok);
      }
    }
    report.put("passed", all);
    return all;
  }

  /** The figures every sweep table shows, per step; also report.json's {@code sweep}. */
  static void summarise(PrintStream out, ObjectNode report) {
    JsonNode steps = report.path("steps");
    ArrayNode sweep = report.putArray("sweep");
    for (JsonNode s : steps) {
      ObjectNode row = sweep.addObject();
      row.put("label", s.path("label").asText());
      row.put("mode", s.path("mode").asText());
      row.put(
          "load",
          s.path("mode").asText().equals("open")
              ? s.path("rate").asDouble()
              : s.path("concurrency").asDouble());
      row.put("batch", s.path("batch").asInt(1));
      if (s.has("input_tokens")) {
        row.put("input_tokens", s.path("input_tokens").asInt());
      }
      row.put("throughput_rps", s.path("throughput_rps").asDouble());
      row.put("rows_per_s", s.path("rows_per_s").asDouble());
      row.put("tokens_per_s", s.path("tokens_per_s").asDouble());
      row.put("p50_ms", s.at("/latency_ms/corrected/p50").asDouble());
      row.put("p99_ms", s.at("/latency_ms/corrected/p99").asDouble());
      row.put("error_rate", s.path("error_rate").asDouble());
      JsonNode leak = s.at("/memory/leak_mb_per_hour");
      if (leak.isNumber()) {
        row.put("rss_max_mb", s.at("/memory/rss_mb/max").asDouble());
        row.put("leak_mb_per_hour", leak.asDouble());
      }
    }
    if (steps.size() < 2) {
      return;
    }
    out.printf(
        Locale.ROOT,
        "%n== sweep%n%-40s %10s %12s %10s %10s %10s %8s%n",
        "step",
        "req/s",
        "rows/s",
        "tokens/s",
        "p50 ms",
        "p99 ms",
        "errors");
    for (JsonNode r : sweep) {
      out.printf(
          Locale.ROOT,
          "%-40s %10s %12s %10s %10s %10s %8s%n",
          r.path("label").asText(),
          Units.rate(r.path("throughput_rps").asDouble()),
          Units.rate(r.path("rows_per_s").asDouble()),
          Units.rate(r.path("tokens_per_s").asDouble()),
          Units.ms(r.path("p50_ms").asDouble()),
          Units.ms(r.path("p99_ms").asDouble()),
          Units.percent(r.path("error_rate").asDouble()));
    }
  }

  static void printThresholds(PrintStream out, JsonNode report) {
    for (JsonNode t : report.path("thresholds")) {
      out.printf(
          Locale.ROOT,
          "threshold %-22s %-18s actual %-10s %s%n",
          t.path("threshold").asText(),
          t.path("step").asText(),
          fmt(t.path("actual").asDouble()),
          t.path("passed").asBoolean() ? "PASS" : "FAIL");
    }
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.4g", v);
  }

  static void printStep(PrintStream out, JsonNode s) {
    out.printf(
        Locale.ROOT,
        "%n== %s (%s loop), window %.1fs%n",
        s.path("label").asText(),
        s.path("mode").asText(),
        s.path("window_s").asDouble());
    out.printf(
        Locale.ROOT,
        "requests   scheduled %d  sent %d  ok %d  errors %d  dropped %d  error rate %s  late"
            + " sends %d%n",
        s.path("scheduled").asLong(),
        s.path("sent").asLong(),
        s.path("ok").asLong(),
        s.path("errors").asLong(),
        s.path("dropped").asLong(),
        Units.percent(s.path("error_rate").asDouble()),
        s.path("late_sends").asLong());
    String tokens =
        s.path("completion_tokens").asLong() > 0
            ? "  " + Units.rate(s.path("tokens_per_s").asDouble()) + " tokens/s"
            : "";
    out.printf(
        Locale.ROOT,
        "throughput %s req/s  %s rows/s%s%n",
        Units.rate(s.path("throughput_rps").asDouble()),
        Units.rate(s.path("rows_per_s").asDouble()),
        tokens);
    out.printf(
        Locale.ROOT,
        "latency ms   %8s %8s %8s %8s %8s %8s %8s%n",
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "max",
        "mean");
    for (String kind : new String[] {"corrected", "uncorrected"}) {
      JsonNode l = s.path("latency_ms").path(kind);
      StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-12s", kind));
      for (String k : LATENCY_KEYS) {
        sb.append(String.format(Locale.ROOT, " %8s", Units.ms(l.path(k).asDouble())));
      }
      out.println(sb);
    }
    JsonNode lag = s.path("send_lag_ms");
    if (s.path("mode").asText().equals("open")) {
      JsonNode wait = s.path("queue_wait_ms");
      out.printf(
          Locale.ROOT,
          "send lag ms  p50 %s  p99 %s  max %s (generator)   queue wait ms  p50 %s  p99 %s  max %s"
              + "  backlog peak %d%n",
          Units.ms(lag.path("p50").asDouble()),
          Units.ms(lag.path("p99").asDouble()),
          Units.ms(lag.path("max").asDouble()),
          Units.ms(wait.path("p50").asDouble()),
          Units.ms(wait.path("p99").asDouble()),
          Units.ms(wait.path("max").asDouble()),
          s.path("backlog_peak").asLong());
    }
    if (s.has("connections_opened")) {
      out.printf(
          Locale.ROOT,
          "client %s, %d connection(s) opened%n",
          s.path("client").asText(),
          s.path("connections_opened").asLong());
    }
    JsonNode stream = s.path("stream_ms");
    if (!stream.isMissingNode()) {
      StringBuilder sb = new StringBuilder("stream ms  ");
      for (String k : new String[] {"ttft", "tpot", "itl"}) {
        sb.append(
            String.format(
                Locale.ROOT,
                "  %s p50 %s p99 %s",
                k.toUpperCase(Locale.ROOT),
                Units.ms(stream.path(k).path("p50").asDouble()),
                Units.ms(stream.path(k).path("p99").asDouble())));
      }
      out.println(sb.append("  (E2E = latency above)"));
    }
    JsonNode server = s.path("server_ms");
    if (server.path("compute").path("count").asLong() > 0) {
      double total = s.path("latency_ms").path("uncorrected").path("p50").asDouble();
      double queue = server.path("queue").path("p50").asDouble();
      double compute = server.path("compute").path("p50").asDouble();
      out.printf(
          Locale.ROOT,
          "server ms    queue p50 %s p99 %s  compute p50 %s p99 %s  (client+HTTP ≈ %s of the"
              + " %s p50)%n",
          Units.ms(queue),
          Units.ms(server.path("queue").path("p99").asDouble()),
          Units.ms(compute),
          Units.ms(server.path("compute").path("p99").asDouble()),
          Units.ms(Math.max(0, total - queue - compute)),
          Units.ms(total));
    }
    JsonNode mem = s.path("memory");
    if (!mem.isMissingNode()) {
      JsonNode rss = mem.path("rss_mb");
      JsonNode leak = mem.path("leak_mb_per_hour");
      out.printf(
          Locale.ROOT,
          "server RSS   start %s MB  end %s MB  max %s MB  leak %s MB/hour  (%d samples, %s)%n",
          rss.path("start").asText("n/a"),
          rss.path("end").asText("n/a"),
          rss.path("max").asText("n/a"),
          leak.isNumber() ? String.format(Locale.ROOT, "%.1f", leak.asDouble()) : "n/a",
          mem.path("count").asLong(),
          mem.path("source").asText());
    }
    if (s.has("warning")) {
      out.println("WARNING: " + s.path("warning").asText());
    }
    if (s.has("note")) {
      out.println("NOTE: " + s.path("note").asText());
    }
    StringBuilder outcomes = new StringBuilder("outcomes  ");
    Iterator<Map.Entry<String, JsonNode>> it = s.path("outcomes").fields();
    while (it.hasNext()) {
      var e = it.next();
      outcomes.append(' ').append(e.getKey()).append('=').append(e.getValue().asLong());
    }
    out.println(outcomes);
  }
}
