package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleFunction;

/**
 * report.html: one self-contained file (no scripts, fonts or images fetched), rendered from
 * report.json alone. Charts are inline SVG drawn here: the latency percentile spectrum on
 * HdrHistogram's log "1/(1-p)" axis, latency and throughput over time, and for sweeps throughput
 * and p99 against the load level.
 */
final class HtmlReport {
  private static final int W = 760;
  private static final int H = 300;
  private static final int L = 64;
  private static final int R = 16;
  private static final int T = 28;
  private static final int B = 40;
  private static final String CORRECTED = "#d62728";
  private static final String UNCORRECTED = "#1f77b4";
  private static final String THIRD = "#2ca02c";

  private HtmlReport() {}

  record Series(String name, String color, double[] x, double[] y) {}

  static String render(JsonNode report) {
    JsonNode cfg = report.path("config");
    StringBuilder h = new StringBuilder(64 * 1024);
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<title>kiln bench: ")
        .append(esc(cfg.path("model").asText()))
        .append("</title><style>")
        .append("body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:64em;color:#222}")
        .append("table{border-collapse:collapse;margin:1em 0}")
        .append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
        .append("th{background:#f4f4f4}td.k{text-align:left}svg{display:block;margin:1em 0}")
        .append(".warn{color:#a00}</style></head><body>\n");
    h.append("<h1>kiln bench: ")
        .append(esc(cfg.path("protocol").asText()))
        .append(' ')
        .append(esc(cfg.path("model").asText()))
        .append("</h1>\n<p>")
        .append(esc(cfg.path("target").asText()))
        .append(", ")
        .append(esc(cfg.path("mode").asText()))
        .append(" loop, ")
        .append(esc(cfg.path("duration").asText()))
        .append(" per step after a ")
        .append(esc(cfg.path("warmup").asText()))
        .append(" warm-up. Corrected latency is measured from each request's intended send time;")
        .append(" uncorrected from its actual send.</p>\n");
    JsonNode steps = report.path("steps");
    h.append("<h2>Latency (corrected)</h2>\n").append(latencyTable(steps, "corrected"));
    h.append("<h2>Latency (uncorrected)</h2>\n").append(latencyTable(steps, "uncorrected"));
    h.append("<h2>Throughput</h2>\n").append(throughputTable(steps));
    h.append(
        HtmlSweep.memoryChart(
            steps, Units.duration(cfg.path("warmup").asText("0s")).toNanos() / 1e9));
    if (steps.size() > 1) {
      h.append("<h2>Sweep</h2>\n").append(HtmlSweep.table(report.path("sweep")));
      h.append(HtmlSweep.charts(steps));
    }
    for (JsonNode s : steps) {
      h.append("<h2>").append(esc(s.path("label").asText())).append("</h2>\n");
      if (s.has("warning")) {
        h.append("<p class=\"warn\">").append(esc(s.path("warning").asText())).append("</p>\n");
      }
      if (s.has("note")) {
        h.append("<p>").append(esc(s.path("note").asText())).append("</p>\n");
      }
      JsonNode stream = s.path("stream_ms");
      if (!stream.isMissingNode()) {
        h.append(
            "<table><tr><th>Stream</th><th>p50</th><th>p90</th><th>p99</th><th>Max</th></tr>\n");
        for (String k : new String[] {"ttft", "tpot", "itl"}) {
          h.append("<tr><td class=\"k\">").append(k.toUpperCase(Locale.ROOT)).append("</td>");
          for (String q : new String[] {"p50", "p90", "p99", "max"}) {
            cell(h, Units.latency(stream.path(k).path(q).asDouble()));
          }
          h.append("</tr>\n");
        }
        h.append("</table>\n");
      }
      h.append(spectrumChart(s));
      h.append(timelineCharts(s));
    }
    if (report.path("thresholds").size() > 0) {
      h.append("<h2>Thresholds</h2>\n<table><tr><th>threshold</th><th>step</th><th>actual</th>")
          .append("<th>result</th></tr>\n");
      for (JsonNode t : report.path("thresholds")) {
        h.append("<tr><td class=\"k\">")
            .append(esc(t.path("threshold").asText()))
            .append("</td><td class=\"k\">")
            .append(esc(t.path("step").asText()))
            .append("</td><td>")
            .append(String.format(Locale.ROOT, "%.4g", t.path("actual").asDouble()))
            .append("</td><td>")
            .append(t.path("passed").asBoolean() ? "pass" : "<b class=\"warn\">FAIL</b>")
            .append("</td></tr>\n");
      }
      h.append("</table>\n");
    }
    h.append("<h2>Configuration</h2>\n").append(keyValues(cfg));
    h.append("<h2>Environment</h2>\n").append(keyValues(report.path("environment")));
    return h.append("</body></html>\n").toString();
  }

  private static String latencyTable(JsonNode steps, String kind) {
    StringBuilder t = new StringBuilder("<table><tr><th>Step</th>");
    for (String k : new String[] {"p50", "p90", "p95", "p99", "p99.9", "Max", "Mean"}) {
      t.append("<th>").append(k).append("</th>");
    }
    t.append("</tr>\n");
    for (JsonNode s : steps) {
      JsonNode l = s.path("latency_ms").path(kind);
      t.append("<tr><td class=\"k\">").append(esc(s.path("label").asText())).append("</td>");
      for (String k : Report.LATENCY_KEYS) {
        t.append("<td>").append(esc(Units.latency(l.path(k).asDouble()))).append("</td>");
      }
      t.append("</tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  private static String throughputTable(JsonNode steps) {
    StringBuilder t =
        new StringBuilder(
            "<table><tr><th>Step</th><th>req/s</th><th>rows/s</th><th>tokens/s</th><th>ok</th>"
                + "<th>errors</th><th>dropped</th><th>error rate</th><th>late sends</th>"
                + "<th>send lag p99</th><th>queue wait p99</th><th>server queue p50</th>"
                + "<th>server compute p50</th>"
                + "</tr>\n");
    for (JsonNode s : steps) {
      t.append("<tr><td class=\"k\">").append(esc(s.path("label").asText())).append("</td>");
      cell(t, Units.rate(s.path("throughput_rps").asDouble()));
      cell(t, Units.rate(s.path("rows_per_s").asDouble()));
      cell(t, Units.rate(s.path("tokens_per_s").asDouble()));
      cell(t, s.path("ok").asText());
      cell(t, s.path("errors").asText());
      cell(t, s.path("dropped").asText());
      cell(t, Units.percent(s.path("error_rate").asDouble()));
      cell(t, s.path("late_sends").asText());
      cell(t, Units.latency(s.path("send_lag_ms").path("p99").asDouble()));
      cell(t, Units.latency(s.path("queue_wait_ms").path("p99").asDouble(Double.NaN)));
      JsonNode server = s.path("server_ms");
      cell(t, Units.latency(server.path("queue").path("p50").asDouble(Double.NaN)));
      cell(t, Units.latency(server.path("compute").path("p50").asDouble(Double.NaN)));
      t.append("</tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  private static void cell(StringBuilder t, String v) {
    t.append("<td>").append(esc(v)).append("</td>");
  }

  private static String keyValues(JsonNode obj) {
    StringBuilder t = new StringBuilder("<table>\n");
    Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
    while (it.hasNext()) {
      var e = it.next();
      JsonNode v = e.getValue();
      t.append("<tr><td class=\"k\">")
          .append(esc(e.getKey()))
          .append("</td><td class=\"k\">")
          .append(esc(v.isTextual() ? v.asText() : v.toString()))
          .append("</td></tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  /** x = log10(1/(1-p)): 0 at p0, 1 at p90, 2 at p99, 3 at p99.9: each tick adds a nine. */
  static String spectrumChart(JsonNode step) {
    List<Series> series = new ArrayList<>();
    long count = step.path("latency_ms").path("corrected").path("count").asLong();
    double xMax = Math.max(2, Math.ceil(Math.log10(Math.max(10, count))));
    for (String kind : new String[] {"corrected", "uncorrected"}) {
      JsonNode pts = step.path("spectrum").path(kind);
      double[] x = new double[pts.size()];
      double[] y = new double[pts.size()];
      for (int i = 0; i < pts.size(); i++) {
        double p = pts.get(i).get(0).asDouble() / 100;
        x[i] = Math.min(xMax, Math.log10(1 / Math.max(1e-12, 1 - p)));
        y[i] = pts.get(i).get(1).asDouble();
      }
      series.add(new Series(kind, kind.equals("corrected") ? CORRECTED : UNCORRECTED, x, y));
    }
    return chart(
        "Latency by percentile", "percentile", "ms", series, xMax, v -> nines((int) Math.round(v)));
  }

  private static String timelineCharts(JsonNode step) {
    JsonNode tl = step.path("timeline");
    double[] t = new double[tl.size()];
    double[] p50 = new double[tl.size()];
    double[] p99 = new double[tl.size()];
    double[] rps = new double[tl.size()];
    for (int i = 0; i < tl.size(); i++) {
      t[i] = tl.get(i).path("t").asDouble();
      p50[i] = tl.get(i).path("p50_ms").asDouble();
      p99[i] = tl.get(i).path("p99_ms").asDouble();
      rps[i] = tl.get(i).path("rps").asDouble();
    }
    double xMax = t.length == 0 ? 1 : t[t.length - 1];
    DoubleFunction<String> secs = v -> String.format(Locale.ROOT, "%.0fs", v);
    return chart(
            "Corrected latency over time (per second, by completion)",
            "time",
            "ms",
            List.of(new Series("p50", UNCORRECTED, t, p50), new Series("p99", CORRECTED, t, p99)),
            xMax,
            secs)
        + chart(
            "Throughput over time",
            "time",
            "req/s",
            List.of(new Series("ok req/s", THIRD, t, rps)),
            xMax,
            secs);
  }

  /** A line chart with x in [0, xMax] and y from 0; x ticks at integers when xMax is small. */
  static String chart(
      String title,
      String xLabel,
      String yLabel,
      List<Series> series,
      double xMax,
      DoubleFunction<String> xTick) {
    double yMax = 0;
    for (Series s : series) {
      for (double v : s.y()) {
        yMax = Math.max(yMax, v);
      }
    }
    yMax = niceCeil(yMax <= 0 ? 1 : yMax * 1.05);
    double xm = xMax <= 0 ? 1 : xMax;
    double pw = W - L - R;
    double ph = H - T - B;
    StringBuilder s = new StringBuilder();
    s.append(
            String.format(
                Locale.ROOT,
                "<svg width=\"%d\" height=\"%d\""
                    + " viewBox=\"0 0 %d %d\" font-size=\"11\" font-family=\"sans-serif\">",
                W,
                H,
                W,
                H))
        .append("<text x=\"")
        .append(L)
        .append("\" y=\"16\" font-size=\"13\" font-weight=\"bold\">")
        .append(esc(title))
        .append("</text>");
    s.append(
        String.format(
            Locale.ROOT,
            "<path d=\"M%d %d V%d H%d\" stroke=\"#333\" fill=\"none\"/>",
            L,
            T,
            H - B,
            W - R));
    for (int i = 0; i <= 5; i++) {
      double v = yMax * i / 5;
      double y = H - B - ph * i / 5;
      s.append(
          String.format(
              Locale.ROOT,
              "<path d=\"M%d %.1f H%d\" stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\""
                  + " text-anchor=\"end\">%s</text>",
              L + 1,
              y,
              W - R,
              L - 4,
              y + 4,
              esc(tickLabel(v))));
    }
    int xTicks = xm <= 12 && xm == Math.rint(xm) ? (int) xm : 6;
    for (int i = 0; i <= xTicks; i++) {
      double v = xm * i / xTicks;
      double x = L + pw * i / xTicks;
      s.append(
          String.format(
              Locale.ROOT,
              "<path d=\"M%.1f %d v4\" stroke=\"#333\"/><text x=\"%.1f\" y=\"%d\""
                  + " text-anchor=\"middle\">%s</text>",
              x,
              H - B,
              x,
              H - B + 16,
              esc(xTick.apply(v))));
    }
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>"
                + "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\""
                + " text-anchor=\"middle\">%s</text>",
            L + (int) pw / 2,
            H - 6,
            esc(xLabel),
            T + (int) ph / 2,
            T + (int) ph / 2,
            esc(yLabel)));
    int legendX = W - R - 150;
    int legendY = T + 6;
    for (Series ser : series) {
      StringBuilder pts = new StringBuilder();
      for (int i = 0; i < ser.x().length; i++) {
        pts.append(
            String.format(
                Locale.ROOT,
                "%.1f,%.1f ",
                L + pw * Math.min(ser.x()[i], xm) / xm,
                H - B - ph * ser.y()[i] / yMax));
      }
      s.append("<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"")
          .append(ser.color())
          .append("\" points=\"")
          .append(pts.toString().trim())
          .append("\"/>");
      s.append(
          String.format(
              Locale.ROOT,
              "<path d=\"M%d %d h18\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%d\""
                  + " y=\"%d\">%s</text>",
              legendX,
              legendY,
              ser.color(),
              legendX + 24,
              legendY + 4,
              esc(ser.name())));
      legendY += 16;
    }
    return s.append("</svg>\n").toString();
  }

  static String nines(int n) {
    return switch (n) {
      case 0 -> "0%";
      case 1 -> "90%";
      default -> "99" + (n > 2 ? "." + "9".repeat(n - 2) : "") + "%";
    };
  }

  static double niceCeil(double v) {
    double mag = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * mag >= v) {
        return m * mag;
      }
    }
    return 10 * mag;
  }

  private static String tickLabel(double v) {
    return v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : Units.ms(v);
  }

  static String esc(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
