package dev.kiln.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.HdrHistogram.Recorder;

/**
 * Everything measured in one step, recorded from many virtual threads at once. Latencies are in
 * microseconds in HdrHistograms (3 significant digits). Only requests whose intended send time
 * falls after the warm-up are recorded; latency histograms hold successful (2xx) requests only,
 * failures are counted by status or exception instead.
 */
final class Recording {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  final ConcurrentHistogram corrected = new ConcurrentHistogram(3);
  final ConcurrentHistogram uncorrected = new ConcurrentHistogram(3);
  final ConcurrentHistogram sendLag = new ConcurrentHistogram(3);
  final ConcurrentHistogram ttft = new ConcurrentHistogram(3);
  final ConcurrentHistogram tpot = new ConcurrentHistogram(3);
  final ConcurrentHistogram itl = new ConcurrentHistogram(3);
  final ConcurrentHistogram queueWait = new ConcurrentHistogram(3);
  final ConcurrentHistogram serverQueue = new ConcurrentHistogram(3);
  final ConcurrentHistogram serverCompute = new ConcurrentHistogram(3);
  private final Recorder interval = new Recorder(3);
  private final LongAdder intervalErrors = new LongAdder();

  final LongAdder scheduled = new LongAdder();
  final LongAdder sent = new LongAdder();
  final LongAdder dropped = new LongAdder();
  final LongAdder late = new LongAdder();
  final LongAdder ok = new LongAdder();
  final LongAdder errors = new LongAdder();
  final LongAdder tokens = new LongAdder();
  final LongAdder promptTokens = new LongAdder();
  volatile long backlogPeak;
  final AtomicLong lastCompletionNanos = new AtomicLong(Long.MIN_VALUE);
  private final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
  private final List<ObjectNode> timeline = new ArrayList<>();

  /** A send lag beyond this counts the send as late. */
  static final long LATE_NANOS = 1_000_000;

  void sendLag(long lagNanos) {
    sendLag.recordValue(Math.max(0, lagNanos) / 1000);
    if (lagNanos > LATE_NANOS) {
      late.increment();
    }
  }

  /** Open loop: from the intended send time to the request leaving on a connection. */
  void queueWait(long nanos) {
    queueWait.recordValue(Math.max(0, nanos) / 1000);
  }

  /** A streamed response's token timings. */
  void stream(StreamTimer t) {
    if (t.ttftNanos() >= 0) {
      ttft.recordValue(t.ttftNanos() / 1000);
    }
    if (t.tpotNanos() >= 0) {
      tpot.recordValue(t.tpotNanos() / 1000);
    }
    for (long gap : t.interTokenNanos()) {
      itl.recordValue(Math.max(0, gap) / 1000);
    }
  }

  void success(
      String status, long correctedNanos, long uncorrectedNanos, Protocol.ServerSide server) {
    long c = Math.max(0, correctedNanos) / 1000;
    corrected.recordValue(c);
    uncorrected.recordValue(Math.max(0, uncorrectedNanos) / 1000);
    interval.recordValue(c);
    ok.increment();
    outcome(status);
    if (!Double.isNaN(server.queueMillis())) {
      serverQueue.recordValue(Math.max(0, Math.round(server.queueMillis() * 1000)));
    }
    if (!Double.isNaN(server.computeMillis())) {
      serverCompute.recordValue(Math.max(0, Math.round(server.computeMillis() * 1000)));
    }
    tokens.add(server.completionTokens());
    promptTokens.add(server.promptTokens());
  }

  void failure(String statusOrException) {
    errors.increment();
    intervalErrors.increment();
    outcome(statusOrException);
  }

  void completed(long nowNanos) {
    lastCompletionNanos.accumulateAndGet(nowNanos, Math::max);
  }

  private void outcome(String key) {
    outcomes.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  /** Drops whatever the interval recorder holds (anything from before the measured window). */
  void discardInterval() {
    interval.getIntervalHistogram();
    intervalErrors.reset();
  }

  /** Closes one timeline interval (called by the progress thread only); returns its point. */
  ObjectNode tick(double tSeconds, double lengthSeconds) {
    Histogram h = interval.getIntervalHistogram();
    long errs = intervalErrors.sumThenReset();
    ObjectNode p = F.objectNode();
    p.put("t", round(tSeconds, 3));
    p.put("rps", round(h.getTotalCount() / Math.max(lengthSeconds, 1e-3), 1));
    p.put("p50_ms", h.getTotalCount() == 0 ? 0 : ms(h.getValueAtPercentile(50)));
    p.put("p99_ms", h.getTotalCount() == 0 ? 0 : ms(h.getValueAtPercentile(99)));
    p.put("max_ms", ms(h.getMaxValue()));
    p.put("errors", errs);
    timeline.add(p);
    return p;
  }

  static double ms(double micros) {
    return round(micros / 1000, 3);
  }

  static double round(double v, int decimals) {
    double s = Math.pow(10, decimals);
    return Math.round(v * s) / s;
  }

  static ObjectNode latency(Histogram h) {
    ObjectNode n = F.objectNode();
    n.put("count", h.getTotalCount());
    n.put("p50", ms(h.getValueAtPercentile(50)));
    n.put("p90", ms(h.getValueAtPercentile(90)));
    n.put("p95", ms(h.getValueAtPercentile(95)));
    n.put("p99", ms(h.getValueAtPercentile(99)));
    n.put("p99_9", ms(h.getValueAtPercentile(99.9)));
    n.put("max", ms(h.getMaxValue()));
    n.put("mean", h.getTotalCount() == 0 ? 0 : ms(h.getMean()));
    return n;
  }

  /** HdrHistogram's percentile distribution: [percentile, value in ms] pairs. */
  static ArrayNode spectrum(Histogram h) {
    ArrayNode a = F.arrayNode();
    if (h.getTotalCount() == 0) {
      return a;
    }
    for (HistogramIterationValue v : h.percentiles(5)) {
      ArrayNode pt = a.addArray();
      pt.add(round(v.getPercentileLevelIteratedTo(), 6));
      pt.add(ms(v.getValueIteratedTo()));
    }
    return a;
  }

  /**
   * The step's figures as report.json writes them. {@code windowSeconds} runs from the end of the
   * warm-up to the later of the end of the schedule and the last measured completion.
   */
  ObjectNode toJson(BenchConfig.Step step, double windowSeconds, int rowsPerRequest) {
    ObjectNode n = F.objectNode();
    n.put("label", step.label());
    n.put("mode", step.open() ? "open" : "closed");
    if (step.open()) {
      n.put("rate", step.rate());
    } else {
      n.put("concurrency", step.concurrency());
    }
    long okCount = ok.sum();
    long errCount = errors.sum();
    long droppedCount = dropped.sum();
    long attempts = okCount + errCount + droppedCount;
    n.put("scheduled", step.open() ? scheduled.sum() : sent.sum());
    n.put("sent", sent.sum());
    n.put("completed", okCount + errCount);
    n.put("ok", okCount);
    n.put("errors", errCount);
    n.put("dropped", droppedCount);
    n.put("late_sends", late.sum());
    n.put(
        "error_rate", attempts == 0 ? 0 : round((double) (errCount + droppedCount) / attempts, 6));
    n.put("window_s", round(windowSeconds, 3));
    n.put("throughput_rps", round(okCount / windowSeconds, 1));
    n.put("rows_per_s", round(okCount * (double) rowsPerRequest / windowSeconds, 1));
    n.put("tokens_per_s", round(tokens.sum() / windowSeconds, 1));
    n.put("completion_tokens", tokens.sum());
    if (promptTokens.sum() > 0) {
      n.put("prompt_tokens_mean", round((double) promptTokens.sum() / Math.max(1, okCount), 1));
    }
    n.put("batch", step.batch());
    if (step.inputTokens() > 0) {
      n.put("input_tokens", step.inputTokens());
    }
    ObjectNode lat = n.putObject("latency_ms");
    lat.set("corrected", latency(corrected));
    lat.set("uncorrected", latency(uncorrected));
    ObjectNode lag = n.putObject("send_lag_ms");
    lag.put("p50", ms(sendLag.getValueAtPercentile(50)));
    lag.put("p99", ms(sendLag.getValueAtPercentile(99)));
    lag.put("max", ms(sendLag.getMaxValue()));
    if (step.open()) {
      ObjectNode wait = n.putObject("queue_wait_ms");
      wait.put("p50", ms(queueWait.getValueAtPercentile(50)));
      wait.put("p99", ms(queueWait.getValueAtPercentile(99)));
      wait.put("max", ms(queueWait.getMaxValue()));
      n.put("backlog_peak", backlogPeak);
    }
    if (ttft.getTotalCount() > 0) {
      ObjectNode stream = n.putObject("stream_ms");
      stream.set("ttft", latency(ttft));
      stream.set("tpot", latency(tpot));
      stream.set("itl", latency(itl));
    }
    ObjectNode server = n.putObject("server_ms");
    server.set("queue", quantiles(serverQueue));
    server.set("compute", quantiles(serverCompute));
    ObjectNode statuses = n.putObject("outcomes");
    new TreeMap<>(outcomes).forEach((k, v) -> statuses.put(k, v.sum()));
    ArrayNode tl = n.putArray("timeline");
    timeline.forEach(tl::add);
    ObjectNode spec = n.putObject("spectrum");
    spec.set("corrected", spectrum(corrected));
    spec.set("uncorrected", spectrum(uncorrected));
    return n;
  }

  private static ObjectNode quantiles(Histogram h) {
    ObjectNode q = F.objectNode();
    q.put("count", h.getTotalCount());
    if (h.getTotalCount() > 0) {
      q.put("p50", ms(h.getValueAtPercentile(50)));
      q.put("p99", ms(h.getValueAtPercentile(99)));
    }
    return q;
  }
}
