package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code kiln bench compare a.json b.json}: prints the change of p50, p99 (corrected), throughput
 * and error rate from a (baseline) to b, step by step, and exits 1 when b regressed beyond {@code
 * --max-regression} or failed a threshold recorded in it.
 */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description = "Compare two report.json files; exit 1 when the second regressed.")
final class CompareCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "Baseline report.json")
  Path baseline;

  @Parameters(index = "1", description = "Candidate report.json")
  Path candidate;

  @Option(
      names = "--max-regression",
      description = "Allowed worsening of p50, p99 and throughput (default 10%%)")
  String maxRegression = "10%";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** An error rate may also rise by this much (absolute) before it counts: noise at 0 errors. */
  static final double ERROR_RATE_SLACK = 0.001;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    double allowed = parsePercent(maxRegression);
    ObjectMapper mapper = new ObjectMapper();
    JsonNode a = mapper.readTree(baseline.toFile());
    JsonNode b = mapper.readTree(candidate.toFile());
    JsonNode as = a.path("steps");
    JsonNode bs = b.path("steps");
    if (as.isEmpty() || bs.isEmpty()) {
      throw new IllegalArgumentException("both files must be kiln bench reports with steps");
    }
    if (as.size() != bs.size()) {
      out.printf(
          Locale.ROOT,
          "note: %d steps vs %d; comparing the first %d%n",
          as.size(),
          bs.size(),
          Math.min(as.size(), bs.size()));
    }
    boolean regressed = false;
    out.printf(
        Locale.ROOT,
        "%-20s %-16s %12s %12s %9s  %s%n",
        "step",
        "metric",
        "baseline",
        "candidate",
        "change",
        "");
    for (int i = 0; i < Math.min(as.size(), bs.size()); i++) {
      JsonNode sa = as.get(i);
      JsonNode sb = bs.get(i);
      String label = sb.path("label").asText();
      regressed |=
          row(
              out,
              label,
              "p50 ms",
              at(sa, "/latency_ms/corrected/p50"),
              at(sb, "/latency_ms/corrected/p50"),
              allowed,
              true);
      regressed |=
          row(
              out,
              label,
              "p99 ms",
              at(sa, "/latency_ms/corrected/p99"),
              at(sb, "/latency_ms/corrected/p99"),
              allowed,
              true);
      regressed |=
          row(
              out,
              label,
              "throughput req/s",
              at(sa, "/throughput_rps"),
              at(sb, "/throughput_rps"),
              allowed,
              false);
      double ea = at(sa, "/error_rate");
      double eb = at(sb, "/error_rate");
      boolean errWorse = eb > ea + ERROR_RATE_SLACK && eb > ea * (1 + allowed);
      regressed |= errWorse;
      out.printf(
          Locale.ROOT,
          "%-20s %-16s %12s %12s %9s  %s%n",
          label,
          "error rate",
          Units.percent(ea),
          Units.percent(eb),
          String.format(Locale.ROOT, "%+.2fpp", (eb - ea) * 100),
          errWorse ? "REGRESSION" : "");
    }
    for (JsonNode t : b.path("thresholds")) {
      if (!t.path("passed").asBoolean()) {
        regressed = true;
        out.printf(
            Locale.ROOT,
            "candidate failed threshold %s (%s: %.4g)%n",
            t.path("threshold").asText(),
            t.path("step").asText(),
            t.path("actual").asDouble());
      }
    }
    out.println(
        regressed
            ? "REGRESSION beyond " + maxRegression + " (or a failed threshold)"
            : "no regression beyond " + maxRegression);
    return regressed ? 1 : 0;
  }

  private static double at(JsonNode step, String pointer) {
    JsonNode n = step.at(pointer);
    return n.isNumber() ? n.asDouble() : Double.NaN;
  }

  /** Prints one row; true when the candidate is worse than allowed. */
  private static boolean row(
      PrintWriter out,
      String label,
      String metric,
      double a,
      double b,
      double allowed,
      boolean lowerIsBetter) {
    double change = a == 0 ? (b == 0 ? 0 : Double.POSITIVE_INFINITY) : (b - a) / a;
    boolean worse = lowerIsBetter ? change > allowed : change < -allowed;
    out.printf(
        Locale.ROOT,
        "%-20s %-16s %12.4g %12.4g %+8.1f%%  %s%n",
        label,
        metric,
        a,
        b,
        change * 100,
        worse ? "REGRESSION" : "");
    return worse;
  }

  static double parsePercent(String s) {
    String t = s.trim();
    double v = Double.parseDouble(t.endsWith("%") ? t.substring(0, t.length() - 1) : t);
    if (v < 0) {
      throw new IllegalArgumentException("--max-regression must be >= 0, was " + s);
    }
    return v / 100;
  }
}
