package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pass/fail condition on one figure of a step, such as {@code p99<200ms} or {@code
 * error_rate<1%}. Latency metrics ({@code p50 p90 p95 p99 p99.9 max mean}) are the corrected
 * latencies, compared in milliseconds ({@code us}, {@code ms} and {@code s} suffixes convert);
 * {@code %} divides by 100 for rates.
 */
record Threshold(String text, String metric, String op, double limit) {
  private static final Pattern SYNTAX =
      Pattern.compile(
          "\\s*([a-z][a-z0-9_.]*)\\s*(<=|>=|<|>)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(us|ms|s|%)?\\s*");

  static Threshold parse(String text) {
    Matcher m = SYNTAX.matcher(text.toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "threshold '" + text + "': expected METRIC OP VALUE, e.g. 'p99<200ms', 'error_rate<1%'");
    }
    String metric = m.group(1);
    String path = path(metric);
    if (path == null) {
      throw new IllegalArgumentException(
          "threshold '"
              + text
              + "': unknown metric '"
              + metric
              + "' (p50 p90 p95 p99 p99.9 max mean error_rate throughput rows_per_s tokens_per_s"
              + " dropped late_sends send_lag_p99 queue_wait_p99"
              + " ttft_p50 ttft_p99 tpot_p50 tpot_p99 itl_p50 itl_p99"
              + " leak_mb_per_hour rss_max_mb)");
    }
    double v = Double.parseDouble(m.group(3));
    String unit = m.group(4) == null ? "" : m.group(4);
    boolean latency =
        path.startsWith("latency_ms")
            || path.startsWith("send_lag_ms")
            || path.startsWith("queue_wait_ms")
            || path.startsWith("stream_ms");
    if (!latency && (unit.equals("us") || unit.equals("ms") || unit.equals("s"))) {
      throw new IllegalArgumentException("threshold '" + text + "': " + metric + " is not a time");
    }
    double limit =
        switch (unit) {
          case "us" -> v / 1000;
          case "s" -> v * 1000;
          case "%" -> v / 100;
          default -> v;
        };
    return new Threshold(text, metric, m.group(2), limit);
  }

  /** Where the metric lives in a step of report.json (see {@link StepResult#toJson}). */
  static String path(String metric) {
    return switch (metric) {
      case "p50", "p90", "p95", "p99", "max", "mean" -> "latency_ms/corrected/" + metric;
      case "p99.9", "p99_9" -> "latency_ms/corrected/p99_9";
      case "error_rate" -> "error_rate";
      case "throughput", "rps", "req_per_s", "throughput_rps" -> "throughput_rps";
      case "rows_per_s" -> "rows_per_s";
      case "tokens_per_s" -> "tokens_per_s";
      case "dropped" -> "dropped";
      case "late_sends" -> "late_sends";
      case "send_lag_p99" -> "send_lag_ms/p99";
      case "queue_wait_p99" -> "queue_wait_ms/p99";
      case "ttft_p50", "ttft_p99", "tpot_p50", "tpot_p99", "itl_p50", "itl_p99" ->
          "stream_ms/" + metric.replace('_', '/');
      case "leak_mb_per_hour" -> "memory/leak_mb_per_hour";
      case "rss_max_mb" -> "memory/rss_mb/max";
      default -> null;
    };
  }

  /** The step's value of this metric (NaN when the step does not have it). */
  double actual(JsonNode step) {
    JsonNode n = step.at("/" + path(metric));
    return n.isNumber() ? n.asDouble() : Double.NaN;
  }

  boolean passes(double actual) {
    if (Double.isNaN(actual)) {
      return false;
    }
    return switch (op) {
      case "<" -> actual < limit;
      case "<=" -> actual <= limit;
      case ">" -> actual > limit;
      default -> actual >= limit;
    };
  }
}
