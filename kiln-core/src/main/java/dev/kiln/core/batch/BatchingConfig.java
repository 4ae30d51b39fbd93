package dev.kiln.core.batch;

import dev.kiln.core.error.Checks;
import dev.kiln.core.registry.ModelConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The server-wide {@code batching.*} section: defaults for every model, which a model's {@code
 * dynamic-batching:} block overrides key by key.
 *
 * <p>{@code instances: 0} (the default, here and per model) means one execution instance per
 * available processor. With a single instance a compute-bound model runs one batch at a time on one
 * core while the others wait; measured in docs/benchmarks.md (issue 5, 2026-12-01), a transformer
 * encoder served 459 req/s with one instance against 830 unbatched, and 833 with two on two cores.
 */
public record BatchingConfig(
    boolean enabled,
    int maxBatchSize,
    Duration maxQueueDelay,
    String preferredBatchSizes,
    int maxQueueSize,
    int instances,
    Duration defaultTimeout) {
  public BatchingConfig {
    Checks.require(
        defaultTimeout != null && defaultTimeout.toMillis() > 0,
        "batching.default-timeout must be > 0");
    preferredBatchSizes = preferredBatchSizes == null ? "" : preferredBatchSizes;
    Checks.require(
        instances >= 0, "batching.instances must be >= 0 (0: one per core), was %d", instances);
    // Validates the rest (fields are not assigned yet inside a compact constructor).
    new BatchPolicy(
        maxBatchSize,
        maxQueueDelay,
        parse(preferredBatchSizes),
        maxQueueSize,
        instances(instances, CORES));
  }

  private static final int CORES = Runtime.getRuntime().availableProcessors();

  /** The global policy alone. */
  public BatchPolicy policy() {
    return new BatchPolicy(
        maxBatchSize,
        maxQueueDelay,
        parse(preferredBatchSizes),
        maxQueueSize,
        instances(instances, CORES));
  }

  /** A configured instance count, where 0 means one per core (at most 256, the policy's limit). */
  static int instances(int configured, int cores) {
    return configured == 0 ? Math.clamp(cores, 1, 256) : configured;
  }

  /**
   * The policy for one model: none if neither the server nor the model turns batching on; the
   * model's settings over the server's otherwise. {@code modelMaxBatch} (from the model's signature
   * or config, 0 = unlimited) caps the batch.
   */
  public java.util.Optional<BatchPolicy> forModel(
      ModelConfig.DynamicBatching model, int modelMaxBatch) {
    if (model == null && !enabled) {
      return java.util.Optional.empty();
    }
    ModelConfig.DynamicBatching m =
        model == null ? new ModelConfig.DynamicBatching(null, null, null, null, null) : model;
    int max = m.maxBatchSize() != null ? m.maxBatchSize() : maxBatchSize;
    if (modelMaxBatch > 0) {
      max = Math.min(max, modelMaxBatch);
    }
    return java.util.Optional.of(
        new BatchPolicy(
            max,
            m.maxQueueDelay() != null ? m.maxQueueDelay() : maxQueueDelay,
            m.preferredBatchSizes() != null ? m.preferredBatchSizes() : parse(preferredBatchSizes),
            m.maxQueueSize() != null ? m.maxQueueSize() : maxQueueSize,
            instances(m.instances() != null ? m.instances() : instances, CORES)));
  }

  private static List<Integer> parse(String csv) {
    return Arrays.stream(csv.split(","))
        .map(String::trim)
        .filter(s -> !s.isEmpty())
        .map(Integer::valueOf)
        .toList();
  }
}
