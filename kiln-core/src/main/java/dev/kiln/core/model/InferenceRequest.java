package dev.kiln.core.model;

import dev.kiln.core.error.Checks;
import java.util.List;
import java.util.Map;

/**
 * One client's request to one model version: its inputs by name, the outputs it wants (empty means
 * all) and free-form parameters from the protocol. {@code id} is the client's id, echoed back.
 */
public record InferenceRequest(
    String id, Map<String, Tensor> inputs, List<String> outputs, Map<String, Object> parameters) {
  public InferenceRequest {
    Checks.require(inputs != null && !inputs.isEmpty(), "a request needs at least one input");
    inputs = Map.copyOf(inputs);
    outputs = outputs == null ? List.of() : List.copyOf(outputs);
    parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
  }

  /** The batch size: the first dimension of the first input. */
  public long batchSize() {
    return inputs.values().iterator().next().batchSize();
  }
}
