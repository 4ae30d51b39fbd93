package dev.kiln.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * Samples the server's RSS every {@code interval} on its own thread through one step, warm-up
 * included, and fits the leak slope: the least-squares line of RSS (MB) against time (hours) over
 * the samples after the warm-up.
 */
final class MemorySampler implements AutoCloseable {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  /** One reading: seconds from the end of the warm-up (negative during it), and MB (2^20 B). */
  record Sample(double t, double mb) {}

  private final RssSource source;
  private final long intervalNanos;
  private final long measureStart;
  private final List<Sample> samples = new ArrayList<>();
  private volatile String lastError;
  private long failures;
  private final Thread thread;
  private volatile boolean stop;

  /**
   * Starts sampling at once and then every interval; times are relative to {@code measureStart}.
   */
  MemorySampler(RssSource source, java.time.Duration interval, long measureStart) {
    this.source = source;
    this.intervalNanos = interval.toNanos();
    this.measureStart = measureStart;
    this.thread = Thread.ofPlatform().daemon().name("kiln-bench-memory").start(this::loop);
  }

  private void loop() {
    long next = System.nanoTime();
    while (!stop) {
      sampleOnce();
      next += intervalNanos;
      long wait;
      while (!stop && (wait = next - System.nanoTime()) > 0) {
        LockSupport.parkNanos(this, wait);
      }
    }
  }

  private void sampleOnce() {
    long at = System.nanoTime();
    try {
      long bytes = source.rssBytes();
      synchronized (samples) {
        samples.add(new Sample((at - measureStart) / 1e9, bytes / 1048576.0));
      }
    } catch (IOException | RuntimeException e) {
      failures++;
      lastError = e.toString();
    } catch (InterruptedException e) {
      stop = true;
    }
  }

  /** Takes a last sample and stops. */
  @Override
  public void close() {
    stop = true;
    LockSupport.unpark(thread);
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sampleOnce();
  }

  List<Sample> samples() {
    synchronized (samples) {
      return List.copyOf(samples);
    }
  }

  /**
   * Least-squares slope of MB against hours over samples with {@code t >= 0}; NaN with fewer than
   * two of them or no spread in time.
   */
  static double leakMbPerHour(List<Sample> all) {
    List<Sample> s = all.stream().filter(x -> x.t() >= 0).toList();
    int n = s.size();
    if (n < 2) {
      return Double.NaN;
    }
    double mx = 0;
    double my = 0;
    for (Sample x : s) {
      mx += x.t() / 3600;
      my += x.mb();
    }
    mx /= n;
    my /= n;
    double sxy = 0;
    double sxx = 0;
    for (Sample x : s) {
      double dx = x.t() / 3600 - mx;
      sxy += dx * (x.mb() - my);
      sxx += dx * dx;
    }
    return sxx == 0 ? Double.NaN : sxy / sxx;
  }

  /** report.json's {@code memory} object for the step. */
  ObjectNode toJson() {
    List<Sample> s = samples();
    ObjectNode n = F.objectNode();
    n.put("source", source.describe());
    n.put("interval_s", intervalNanos / 1e9);
    n.put("count", s.size());
    n.put("failures", failures);
    if (lastError != null) {
      n.put("last_error", lastError);
    }
    List<Sample> measured = s.stream().filter(x -> x.t() >= 0).toList();
    if (!s.isEmpty()) {
      ObjectNode rss = n.putObject("rss_mb");
      rss.put("first", Recording.round(s.getFirst().mb(), 1));
      rss.put(
          "start",
          Recording.round((measured.isEmpty() ? s.getLast() : measured.getFirst()).mb(), 1));
      rss.put("end", Recording.round(s.getLast().mb(), 1));
      rss.put("min", Recording.round(s.stream().mapToDouble(Sample::mb).min().orElse(0), 1));
      rss.put("max", Recording.round(s.stream().mapToDouble(Sample::mb).max().orElse(0), 1));
      rss.put("mean", Recording.round(s.stream().mapToDouble(Sample::mb).average().orElse(0), 1));
    }
    double slope = leakMbPerHour(s);
    if (Double.isNaN(slope)) {
      n.putNull("leak_mb_per_hour");
    } else {
      n.put("leak_mb_per_hour", Recording.round(slope, 3));
    }
    ArrayNode a = n.putArray("samples");
    for (Sample x : s) {
      a.addArray().add(Recording.round(x.t(), 3)).add(Recording.round(x.mb(), 3));
    }
    return n;
  }
}
