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
    List<Integer> batches,
    List<Integer> inputTokens,
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
    boolean binary,
    IoThreads ioThreads,
    Memory memory,
    Long pid,
    Duration memoryInterval,
    boolean soak) {

  /** Where the server's RSS is sampled from (see {@link RssSource#resolve}). */
  enum Memory {
    AUTO,
    PROC,
    METRICS,
    OFF;

    static Memory parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--memory '" + s + "': use auto, proc, metrics or off", e);
      }
    }
  }

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
    require(!batches.isEmpty(), "--batch needs at least one value");
    batches.forEach(b -> require(b >= 1, "--batch must be >= 1, was " + b));
    inputTokens.forEach(t -> require(t >= 1, "--input-tokens must be >= 1, was " + t));
    require(
        inputTokens.isEmpty() || protocol == Protocol.OPENAI,
        "--input-tokens applies to --protocol openai only (rows use --batch and --features)");
    require(inputTokens.isEmpty() || body == null, "--input-tokens and --body cannot be combined");
    require(body == null || batches.size() == 1, "a --batch sweep cannot use one --body file");
    require(pid == null || pid > 0, "--pid must be > 0, was " + pid);
    require(
        !memoryInterval.isNegative() && !memoryInterval.isZero(), "--memory-interval must be > 0");
    require(
        !soak || memory != Memory.OFF, "--soak samples memory: it cannot run with --memory off");
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
    require(!binary || protocol == Protocol.V2, "--binary applies to --protocol v2 only");
    require(!binary || body == null, "--binary builds its own bodies: it cannot use --body");
    require(min <= max, "--min must be <= --max");
    require(features == null || features >= 1, "--features must be >= 1");
    require(maxTokens >= 1, "--max-tokens must be >= 1");
    batches = List.copyOf(batches);
    inputTokens = List.copyOf(inputTokens);
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

  /**
   * One step per combination of batch size, input length and load level (rate or concurrency), in
   * that nesting order, so steps sharing a payload run one after another.
   */
  List<Step> steps() {
    List<Step> steps = new ArrayList<>();
    List<Integer> inputs = inputTokens.isEmpty() ? List.of(0) : inputTokens;
    boolean batchSwept = batches.size() > 1;
    for (int b : batches) {
      for (int in : inputs) {
        rates.forEach(r -> steps.add(new Step(r, 0, b, in, batchSwept)));
        concurrencies.forEach(c -> steps.add(new Step(0, c, b, in, batchSwept)));
      }
    }
    return steps;
  }

  /**
   * One load level (an open-loop rate, or a closed-loop client count) with its payload: rows per
   * request and, for openai, prompt tokens (0: the --prompt as given).
   */
  record Step(double rate, int concurrency, int batch, int inputTokens, boolean batchInLabel) {
    Step(double rate, int concurrency) {
      this(rate, concurrency, 1, 0, false);
    }

    boolean open() {
      return rate > 0;
    }

    String label() {
      String load =
          open()
              ? String.format(Locale.ROOT, "rate %s/s", Units.rate(rate).replace(".0", ""))
              : "concurrency " + concurrency;
      return load
          + (batchInLabel ? ", batch " + batch : "")
          + (inputTokens > 0 ? ", " + inputTokens + " input tokens" : "");
    }
  }

  /** The exact configuration, for report.json. */
  Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("target", target.toString());
    m.put("protocol", protocol.name().toLowerCase(Locale.ROOT));
    m.put("model", model);
    m.put("batch", batches.size() == 1 ? batches.getFirst() : batches);
    m.put("input_tokens", inputTokens.isEmpty() ? null : inputTokens);
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
    m.put("binary", binary);
    m.put("features", features);
    m.put("min", min);
    m.put("max", max);
    if (protocol == Protocol.OPENAI) {
      m.put("prompt", prompt);
      m.put("max_tokens", maxTokens);
      m.put("stream", stream);
    }
    m.put("memory", memory.name().toLowerCase(Locale.ROOT));
    m.put("pid", pid);
    m.put("memory_interval", Units.seconds(memoryInterval));
    m.put("soak", soak);
    m.put("seed", seed);
    return m;
  }
}
