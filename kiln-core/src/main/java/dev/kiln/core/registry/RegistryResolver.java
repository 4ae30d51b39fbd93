package dev.kiln.core.registry;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.ModelResolver;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.Tensors;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Resolves model names against the registry at each call: holds a lease on the highest ready
 * version for the call's length, so a member retired mid-call finishes the call first. Calls go
 * straight to the version, not through its dynamic batcher (the caller's own batcher, if any, has
 * already batched).
 */
final class RegistryResolver implements ModelResolver {
  private final ModelRegistry registry;

  RegistryResolver(ModelRegistry registry) {
    this.registry = registry;
  }

  @Override
  public Optional<ModelSignature> signature(String model) {
    try (Lease lease = registry.acquire(model, OptionalLong.empty())) {
      return Optional.of(lease.signature());
    } catch (KilnException e) {
      if (e.kind() == ErrorKind.MODEL_NOT_FOUND || e.kind() == ErrorKind.MODEL_NOT_READY) {
        return Optional.empty();
      }
      throw e;
    }
  }

  @Override
  public Map<String, Tensor> infer(String model, InferenceRequest request) {
    try (Lease lease = registry.acquire(model, OptionalLong.empty())) {
      Tensors.validate(request, lease.signature());
      return lease.execute(List.of(request)).getFirst().orThrow();
    }
  }
}
