package dev.kiln.bench;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A scenario file (YAML or JSON): the same settings as the flags, every one optional; flags given
 * on the command line override it. Keys are kebab-case; unknown keys are an error, so a typo does
 * not silently run a different benchmark.
 *
 * <pre>
 * target: http://127.0.0.1:8080
 * protocol: v2
 * model: breast-cancer-rf
 * batch: 1
 * rate: 2000            # or a list [500, 1000, 2000] for a sweep; or concurrency: [1, 10, 50]
 * duration: 10s
 * warmup: 2s
 * thresholds: ["p99<200ms", "error_rate<1%"]
 * connections: 64      # open loop: keep-alive connections; max-backlog: 640 waiting arrivals
 * client: raw           # or jdk
 * payload: { csv: rows.csv }   # or { features: 30, min: 0, max: 1 }, or { body: request.json }
 * # sweeps: batch: [1, 32, 1000]; input-tokens: [128, 512] (openai); each value its own step
 * # memory: auto (default), proc, metrics or off; pid: 1234; memory-interval: 1s
 * # soak: 1h             # one long step, RSS sampled, thresholds: ["leak_mb_per_hour<50"]
 * </pre>
 */
record Scenario(
    String target,
    String protocol,
    String model,
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<Integer> batch,
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<Double> rate,
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<Integer> concurrency,
    String duration,
    String warmup,
    String ramp,
    String arrival,
    Integer connections,
    String timeout,
    List<String> thresholds,
    Payload payload,
    String out,
    String client,
    @JsonProperty("max-backlog") Integer maxBacklog,
    Long seed,
    @JsonProperty("io-threads") String ioThreads,
    @JsonProperty("input-tokens")
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<Integer> inputTokens,
    String memory,
    Long pid,
    @JsonProperty("memory-interval") String memoryInterval,
    String soak) {

  /** Request payload: CSV rows, or random rows within bounds; prompt settings for openai. */
  record Payload(
      String csv,
      Integer features,
      Double min,
      Double max,
      String prompt,
      @JsonProperty("max-tokens") Integer maxTokens,
      String body,
      Boolean stream,
      Boolean binary) {}

  static Scenario read(Path file) throws IOException {
    String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    ObjectMapper mapper =
        name.endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
    mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    return mapper.readValue(file.toFile(), Scenario.class);
  }
}
