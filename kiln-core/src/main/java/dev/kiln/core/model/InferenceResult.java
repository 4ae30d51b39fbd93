package dev.kiln.core.model;

import dev.kiln.core.error.KilnException;
import java.util.Map;

/**
 * The answer to one request in a batch: its outputs, or the error that failed it alone. A runtime
 * returns one per request, in order (the Triton backend contract).
 */
public sealed interface InferenceResult {
  record Success(Map<String, Tensor> outputs) implements InferenceResult {
    public Success {
      outputs = Map.copyOf(outputs);
    }
  }

  record Failure(KilnException error) implements InferenceResult {}

  static InferenceResult ok(Map<String, Tensor> outputs) {
    return new Success(outputs);
  }

  static InferenceResult failed(KilnException error) {
    return new Failure(error);
  }

  /** The outputs, or throws the request's error. */
  default Map<String, Tensor> orThrow() {
    return switch (this) {
      case Success s -> s.outputs();
      case Failure f -> throw f.error();
    };
  }
}
