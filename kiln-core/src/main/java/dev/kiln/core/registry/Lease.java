package dev.kiln.core.registry;

import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import java.util.List;

/**
 * A hold on one ready version for the length of a request. While any lease is open the version is
 * not closed, even if the repository has moved on; close the lease when the request is answered.
 */
public final class Lease implements AutoCloseable {
  private final Slot slot;
  private boolean closed;

  Lease(Slot slot) {
    this.slot = slot;
  }

  public String model() {
    return slot.model;
  }

  public long version() {
    return slot.version;
  }

  public ModelSignature signature() {
    return slot.signature();
  }

  /** The model's config.yaml as it was when this version loaded. */
  public ModelConfig config() {
    return slot.config;
  }

  public LoadedModel loaded() {
    return slot.loaded();
  }

  /** The version's dynamic batcher, when batching is on for it. */
  public java.util.Optional<dev.kiln.core.batch.DynamicBatcher> batcher() {
    return java.util.Optional.ofNullable(slot.batcher());
  }

  public List<InferenceResult> execute(List<InferenceRequest> batch) {
    return slot.loaded().execute(batch);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      slot.release();
    }
  }
}
