package dev.kiln.core.registry;

import dev.kiln.core.model.ModelSignature;
import java.util.Optional;

/**
 * What the registry knows of one version: its state, why (when not ready), how long it took to
 * load, and its signature once loaded.
 */
public record VersionStatus(
    String model,
    long version,
    ModelState state,
    String reason,
    long loadMillis,
    Optional<ModelSignature> signature) {
  public VersionStatus {
    reason = reason == null ? "" : reason;
  }
}
