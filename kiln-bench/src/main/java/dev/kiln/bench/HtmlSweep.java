package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleFunction;
import java.util.function.Function;

/**
 * The parts of report.html that span steps: for sweeps, the table and the charts of throughput and
 * p99 against each swept dimension (load level, batch size, input length), one line per combination
 * of the other dimensions; and the server's RSS over the whole run with each step's least-squares
 * leak line.
 */
final class HtmlSweep {
  static final String RSS = "#9467bd";
  static final String FIT = "#ff7f0e";
  private static final String[] PALETTE = {
    "#2ca02c", "#1f77b4", "#d62728", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
  };

  private HtmlSweep() {}

  /** A swept dimension: its axis label and its value in a step of report.json. */
  record Dim(String label, Function<JsonNode, Double> value) {}

  static List<Dim> dims(JsonNode steps) {
    boolean open = steps.get(0).path("mode").asText().equals("open");
    List<Dim> all =
        List.of(
            new Dim(
                open ? "offered rate (req/s)" : "concurrency",
                s -> open ? s.path("rate").asDouble() : s.path("concurrency").asDouble()),
            new Dim("batch size (rows)", s -> s.path("batch").asDouble(1)),
            new Dim("input tokens", s -> s.path("input_tokens").asDouble(0)));
    List<Dim> varying = new ArrayList<>();
    for (Dim d : all) {
      Set<Double> values = new LinkedHashSet<>();
      steps.forEach(s -> values.add(d.value().apply(s)));
      if (values.size() > 1) {
        varying.add(d);
      }
    }
    return varying;
  }

  static String table(JsonNode sweep) {
    StringBuilder t =
        new StringBuilder(
            "<table><tr><th>Step</th><th>req/s</th><th>rows/s</th><th>tokens/s</th>"
                + "<th>p50</th><th>p99</th><th>error rate</th></tr>\n");
    for (JsonNode r : sweep) {
      t.append("<tr><td class=\"k\">").append(HtmlReport.esc(r.path("label").asText()));
      t.append("</td><td>").append(Units.rate(r.path("throughput_rps").asDouble()));
      t.append("</td><td>").append(Units.rate(r.path("rows_per_s").asDouble()));
      t.append("</td><td>").append(Units.rate(r.path("tokens_per_s").asDouble()));
      t.append("</td><td>").append(HtmlReport.esc(Units.latency(r.path("p50_ms").asDouble())));
      t.append("</td><td>").append(HtmlReport.esc(Units.latency(r.path("p99_ms").asDouble())));
      t.append("</td><td>").append(Units.percent(r.path("error_rate").asDouble()));
      t.append("</td></tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  static String charts(JsonNode steps) {
    StringBuilder h = new StringBuilder();
    List<Dim> varying = dims(steps);
    DoubleFunction<String> fmt = v -> String.format(Locale.ROOT, "%.0f", v);
    for (Dim d : varying) {
      List<Dim> others = varying.stream().filter(o -> o != d).toList();
      double xMax = 0;
      for (JsonNode s : steps) {
        xMax = Math.max(xMax, d.value().apply(s));
      }
      boolean batch = d.label().startsWith("batch");
      h.append(
          HtmlReport.chart(
              "Throughput vs " + d.label(),
              d.label(),
              batch ? "rows/s" : "req/s",
              series(
                  steps,
                  d,
                  others,
                  s -> s.path(batch ? "rows_per_s" : "throughput_rps").asDouble()),
              xMax,
              fmt));
      h.append(
          HtmlReport.chart(
              "Corrected p99 vs " + d.label(),
              d.label(),
              "ms",
              series(steps, d, others, s -> s.at("/latency_ms/corrected/p99").asDouble()),
              xMax,
              fmt));
    }
    return h.toString();
  }

  private static List<HtmlReport.Series> series(
      JsonNode steps, Dim x, List<Dim> others, Function<JsonNode, Double> y) {
    Map<String, List<double[]>> groups = new LinkedHashMap<>();
    for (JsonNode s : steps) {
      StringBuilder key = new StringBuilder();
      for (Dim o : others) {
        key.append(key.isEmpty() ? "" : ", ")
            .append(o.label().replaceAll(" \\(.*", ""))
            .append(' ')
            .append(String.format(Locale.ROOT, "%.0f", o.value().apply(s)));
      }
      groups
          .computeIfAbsent(key.isEmpty() ? "achieved" : key.toString(), k -> new ArrayList<>())
          .add(new double[] {x.value().apply(s), y.apply(s)});
    }
    List<HtmlReport.Series> out = new ArrayList<>();
    int i = 0;
    for (var e : groups.entrySet()) {
      List<double[]> pts = e.getValue();
      pts.sort((a, b) -> Double.compare(a[0], b[0]));
      double[] xs = pts.stream().mapToDouble(p -> p[0]).toArray();
      double[] ys = pts.stream().mapToDouble(p -> p[1]).toArray();
      out.add(new HtmlReport.Series(e.getKey(), PALETTE[i++ % PALETTE.length], xs, ys));
    }
    return out;
  }

  /**
   * RSS over the whole run (steps one after another, warm-ups included) and, per step, its leak
   * line over the measured window; empty when no step sampled memory.
   */
  static String memoryChart(JsonNode steps, double warmupSeconds) {
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    List<HtmlReport.Series> fits = new ArrayList<>();
    double offset = 0;
    StringBuilder caption = new StringBuilder();
    for (JsonNode s : steps) {
      JsonNode mem = s.path("memory");
      if (mem.isMissingNode()) {
        continue;
      }
      double base = offset + warmupSeconds;
      JsonNode samples = mem.path("samples");
      double tMax = 0;
      double sumT = 0;
      double sumY = 0;
      int n = 0;
      for (JsonNode p : samples) {
        double t = p.get(0).asDouble();
        xs.add(Math.max(0, base + t));
        ys.add(p.get(1).asDouble());
        tMax = Math.max(tMax, t);
        if (t >= 0) {
          sumT += t;
          sumY += p.get(1).asDouble();
          n++;
        }
      }
      JsonNode leak = mem.path("leak_mb_per_hour");
      if (leak.isNumber() && n > 1) {
        double slopePerS = leak.asDouble() / 3600;
        double mt = sumT / n;
        double my = sumY / n;
        fits.add(
            new HtmlReport.Series(
                fits.isEmpty() ? "leak fit" : "",
                FIT,
                new double[] {base, base + tMax},
                new double[] {my - slopePerS * mt, my + slopePerS * (tMax - mt)}));
        caption
            .append(HtmlReport.esc(s.path("label").asText()))
            .append(String.format(Locale.ROOT, ": %.1f MB/hour; ", leak.asDouble()));
      }
      offset = base + Math.max(tMax, s.path("window_s").asDouble());
    }
    if (xs.isEmpty()) {
      return "";
    }
    // the fit lines first, so the samples are drawn over them and stay visible where they meet
    List<HtmlReport.Series> all = new ArrayList<>(fits);
    all.add(
        new HtmlReport.Series(
            "RSS (MB)",
            RSS,
            xs.stream().mapToDouble(Double::doubleValue).toArray(),
            ys.stream().mapToDouble(Double::doubleValue).toArray()));
    return "<h2>Server memory</h2>\n<p>Resident set size of the server, sampled from "
        + HtmlReport.esc(steps.get(0).path("memory").path("source").asText("?"))
        + "; leak slope (least squares after each warm-up): "
        + caption
        + "</p>\n"
        + HtmlReport.chart(
            "Server RSS over the run",
            "time",
            "MB",
            all,
            offset,
            v -> String.format(Locale.ROOT, "%.0fs", v));
  }
}
