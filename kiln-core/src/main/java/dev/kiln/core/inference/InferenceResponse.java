package dev.kiln.core.inference;

import dev.kiln.core.model.Tensor;
import java.util.Map;

/**
 * One request's answer with where its time went: waiting in a queue, and computing. The map keeps
 * the order of the requested outputs. {@code cached} is true when it came from the prediction cache
 * (then both times are 0).
 */
public record InferenceResponse(
    String model,
    long version,
    String id,
    Map<String, Tensor> outputs,
    long queueNanos,
    long computeNanos,
    boolean cached) {
  public InferenceResponse(
      String model,
      long version,
      String id,
      Map<String, Tensor> outputs,
      long queueNanos,
      long computeNanos) {
    this(model, version, id, outputs, queueNanos, computeNanos, false);
  }

  public double queueMillis() {
    return queueNanos / 1e6;
  }

  public double computeMillis() {
    return computeNanos / 1e6;
  }
}
