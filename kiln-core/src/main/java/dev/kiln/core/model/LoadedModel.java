package dev.kiln.core.model;

import java.util.List;

/**
 * One version of one model, loaded by a {@link ModelRuntime} and ready to execute. It must be safe
 * to call {@link #execute} from several threads at once. {@link #close()} is called once, after the
 * last in-flight call has returned.
 */
public interface LoadedModel extends AutoCloseable {
  /** The inputs and outputs as the model file declares them (the registry merges the config). */
  ModelSignature signature();

  /**
   * Runs a batch of already-validated requests. Returns exactly one result per request, in order; a
   * request that fails alone is a {@link InferenceResult.Failure}, not an exception.
   */
  List<InferenceResult> execute(List<InferenceRequest> batch);

  @Override
  void close();
}
