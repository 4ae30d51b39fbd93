package dev.kiln.bench;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The effective settings of one {@code kiln bench} run: defaults, then the scenario file, then the
 * flags. Exactly one of {@code rates} (open loop) and {@code concurrencies} (closed loop) is
 * non-empty; more than one value makes a sweep, one step per value.
 */
record BenchConfig(
    URI target,
    Protocol protocol,
    String model,
    int batch,
    List<Double> rates,
    List<Integer> concurrencies,
    Duration duration,
    Duration warmup,
    Duration ramp,
    Schedule.Arrival arrival,
    int connections,
    Duration timeout,
    List<Threshold> thresholds,
    Path csv,
    Integer features,
    double min,
    double max,
    String prompt,
    int maxTokens,
    Path out,
    long seed,
    Client client,
    int maxBacklog,
    Path body,
    boolean stream,
    IoThreads ioThreads) {

  /** What runs each connection's blocking send and read. */
  enum IoThreads {
    /**
     * One platform thread per connection (the default): a blocking read is one system call and the
     * kernel wakes the thread; measured cheaper than virtual threads for a load generator.
     */
    PLATFORM,
    /** One virtual thread per connection: its reads park through the JDK's poller. */
    VIRTUAL;

    static IoThreads parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--io-threads '" + s + "': use platform or virtual", e);
      }
    }

    Thread.Builder builder() {
      return this == PLATFORM ? Thread.ofPlatform().daemon() : Thread.ofVirtual();
    }
  }

  /** Which HTTP client sends the requests. */
  enum Client {
    /** Raw HTTP/1.1 over a fixed pool of keep-alive connections (the default). */
    RAW,
    /** The JDK's java.net.http.HttpClient; needed for https. */
    JDK;

    static Client parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--client '" + s + "': use raw or jdk", e);
      }
    }
  }

  BenchConfig {
    require(target != null, "--target is required (e.g. http://127.0.0.1:8080)");
    require(model != null && !model.isBlank(), "--model is required");
    require(out != null, "--out DIR is required");
    require(batch >= 1, "--batch must be >= 1, was " + batch);
    require(
        rates.isEmpty() != concurrencies.isEmpty(),
        "give exactly one of --rate R (open loop) and --concurrency C (closed loop)");
    rates.forEach(r -> require(r > 0, "--rate must be > 0, was " + r));
    concurrencies.forEach(c -> require(c >= 1, "--concurrency must be >= 1, was " + c));
    require(!duration.isNegative() && !duration.isZero(), "--duration must be > 0");
    require(!warmup.isNegative(), "--warmup must be >= 0");
    require(connections >= 1, "--connections must be >= 1, was " + connections);
    require(maxBacklog >= 0, "--max-backlog must be >= 0, was " + maxBacklog);
    require(!stream || protocol == Protocol.OPENAI, "--stream applies to --protocol openai only");
    require(
        !stream || client == Client.RAW,
        "--stream needs the raw client (the JDK client cannot time each chunk)");
    require(min <= max, "--min must be <= --max");
    require(features == null || features >= 1, "--features must be >= 1");
    require(maxTokens >= 1, "--max-tokens must be >= 1");
    rates = List.copyOf(rates);
    concurrencies = List.copyOf(concurrencies);
    thresholds = List.copyOf(thresholds);
  }

  static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  boolean openLoop() {
    return !rates.isEmpty();
  }

  /** One step per rate or concurrency value. */
  List<Step> steps() {
    List<Step> steps = new ArrayList<>();
    rates.forEach(r -> steps.add(new Step(r, 0)));
    concurrencies.forEach(c -> steps.add(new Step(0, c)));
    return steps;
  }

  /** One load level: an open-loop rate, or a closed-loop client count. */
  record Step(double rate, int concurrency) {
    boolean open() {
      return rate > 0;
    }

    String label() {
      return open()
          ? String.format(Locale.ROOT, "rate %s/s", Units.rate(rate).replace(".0", ""))
          : "concurrency " + concurrency;
    }
  }

  /** The exact configuration, for report.json. */
  Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("target", target.toString());
    m.put("protocol", protocol.name().toLowerCase(Locale.ROOT));
    m.put("model", model);
    m.put("batch", batch);
    m.put("mode", openLoop() ? "open" : "closed");
    m.put("rate", rates);
    m.put("concurrency", concurrencies);
    m.put("duration", Units.seconds(duration));
    m.put("warmup", Units.seconds(warmup));
    m.put("ramp", Units.seconds(ramp));
    m.put("arrival", arrival.name().toLowerCase(Locale.ROOT));
    m.put("client", client.name().toLowerCase(Locale.ROOT));
    m.put("io_threads", ioThreads.name().toLowerCase(Locale.ROOT));
    m.put("connections", openLoop() ? connections : null);
    m.put("max_backlog", openLoop() ? maxBacklog : null);
    m.put("timeout", Units.seconds(timeout));
    m.put("thresholds", thresholds.stream().map(Threshold::text).toList());
    m.put("csv", csv == null ? null : csv.toString());
    m.put("body", body == null ? null : body.toString());
    m.put("features", features);
    m.put("min", min);
    m.put("max", max);
    if (protocol == Protocol.OPENAI) {
      m.put("prompt", prompt);
      m.put("max_tokens", maxTokens);
      m.put("stream", stream);
    }
    m.put("seed", seed);
    return m;
  }
}
