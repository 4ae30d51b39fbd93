package dev.kiln.bench;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing and printing of the human units the CLI and scenario files use. */
final class Units {
  private static final Pattern DURATION =
      Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*(us|ms|s|m|h)?");

  private Units() {}

  /** Parses {@code 10s}, {@code 500ms}, {@code 1.5m}, {@code 250us}; a bare number is seconds. */
  static Duration duration(String text) {
    Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration (examples: 10s, 500ms, 2m)");
    }
    double v = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    double nanos =
        switch (unit) {
          case "us" -> v * 1e3;
          case "ms" -> v * 1e6;
          case "s" -> v * 1e9;
          case "m" -> v * 60e9;
          default -> v * 3600e9;
        };
    return Duration.ofNanos(Math.round(nanos));
  }

  /** Milliseconds with three significant-ish digits: 0.052, 3.10, 45.2, 1350. */
  static String ms(double ms) {
    if (Double.isNaN(ms)) {
      return "-";
    }
    if (ms < 1) {
      return String.format(Locale.ROOT, "%.3f", ms);
    }
    if (ms < 10) {
      return String.format(Locale.ROOT, "%.2f", ms);
    }
    if (ms < 100) {
      return String.format(Locale.ROOT, "%.1f", ms);
    }
    return String.format(Locale.ROOT, "%.0f", ms);
  }

  /** A latency in milliseconds for tables: 52 µs, 3.1 ms, 1.35 s. */
  static String latency(double ms) {
    if (Double.isNaN(ms)) {
      return "-";
    }
    if (ms < 1) {
      return String.format(Locale.ROOT, "%.0f µs", ms * 1000);
    }
    if (ms >= 1000) {
      return String.format(Locale.ROOT, "%.2f s", ms / 1000);
    }
    return Units.ms(ms) + " ms";
  }

  static String rate(double perSecond) {
    return String.format(Locale.ROOT, "%,.1f", perSecond);
  }

  static String percent(double fraction) {
    return String.format(Locale.ROOT, "%.2f%%", fraction * 100);
  }

  static String seconds(Duration d) {
    double s = d.toNanos() / 1e9;
    return s == Math.rint(s)
        ? String.format(Locale.ROOT, "%.0fs", s)
        : String.format(Locale.ROOT, "%.3fs", s);
  }
}
