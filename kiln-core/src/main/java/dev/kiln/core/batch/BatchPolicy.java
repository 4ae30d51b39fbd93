package dev.kiln.core.batch;

import dev.kiln.core.error.Checks;
import java.time.Duration;
import java.util.List;

/**
 * Triton's dynamic batching settings for one model version.
 *
 * @param maxBatchSize most rows in one execution; requests are never split across executions
 * @param maxQueueDelay how long the OLDEST queued request may wait for company before its batch
 *     runs anyway (Triton's {@code max_queue_delay_microseconds})
 * @param preferredBatchSizes row counts that run at once when reached, without waiting
 * @param maxQueueSize queued requests beyond which new ones are refused (429) at once
 * @param instances parallel executions of the same version (Triton's {@code instance_group count})
 */
public record BatchPolicy(
    int maxBatchSize,
    Duration maxQueueDelay,
    List<Integer> preferredBatchSizes,
    int maxQueueSize,
    int instances) {
  public BatchPolicy {
    Checks.require(maxBatchSize >= 1, "max-batch-size must be >= 1, was %d", maxBatchSize);
    Checks.require(
        maxQueueDelay != null && !maxQueueDelay.isNegative(), "max-queue-delay must be >= 0");
    preferredBatchSizes =
        preferredBatchSizes == null ? List.of() : List.copyOf(preferredBatchSizes);
    for (int p : preferredBatchSizes) {
      Checks.require(
          p >= 1 && p <= maxBatchSize,
          "preferred-batch-sizes must be within 1..max-batch-size (%d), was %d",
          maxBatchSize,
          p);
    }
    Checks.require(maxQueueSize >= 1, "max-queue-size must be >= 1, was %d", maxQueueSize);
    Checks.require(
        instances >= 1 && instances <= 256, "instances must be 1..256, was %d", instances);
  }
}
