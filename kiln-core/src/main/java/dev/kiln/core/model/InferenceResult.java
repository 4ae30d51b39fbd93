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

  /**
   * Runs each request of a batch alone, so that one that fails fails alone: a {@link KilnException}
   * becomes that request's failure, anything else an INTERNAL failure logged with {@code label}.
   */
  static java.util.List<InferenceResult> eachAlone(
      java.util.List<InferenceRequest> batch,
      java.util.function.Function<InferenceRequest, Map<String, Tensor>> run,
      String label) {
    var results = new java.util.ArrayList<InferenceResult>(batch.size());
    for (InferenceRequest request : batch) {
      try {
        results.add(ok(run.apply(request)));
      } catch (KilnException e) {
        results.add(failed(e));
      } catch (RuntimeException e) {
        System.getLogger(InferenceResult.class.getName())
            .log(System.Logger.Level.WARNING, label + ": unexpected failure", e);
        results.add(
            failed(
                new KilnException(
                    dev.kiln.core.error.ErrorKind.INTERNAL,
                    label + ": " + e.getClass().getSimpleName(),
                    e)));
      }
    }
    return results;
  }

  /** The outputs, or throws the request's error. */
  default Map<String, Tensor> orThrow() {
    return switch (this) {
      case Success s -> s.outputs();
      case Failure f -> throw f.error();
    };
  }
}
