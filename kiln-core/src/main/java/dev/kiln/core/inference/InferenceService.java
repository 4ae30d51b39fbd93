package dev.kiln.core.inference;

import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.model.Tensors;
import dev.kiln.core.registry.Lease;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.time.Ticker;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The path every protocol shares: hold a version, validate the request against its signature, run
 * it, and time it. Protocol adapters decode with {@link Lease#signature()} between {@link #acquire}
 * and {@link #infer}. Batching and caching attach here, not in the protocols.
 */
public final class InferenceService {
  private final ModelRegistry registry;
  private final Ticker ticker;

  public InferenceService(ModelRegistry registry, Ticker ticker) {
    this.registry = registry;
    this.ticker = ticker;
  }

  public ModelRegistry registry() {
    return registry;
  }

  /** Holds a ready version of a model (the highest, unless one is named) for one request. */
  public Lease acquire(String model, OptionalLong version) {
    return registry.acquire(model, version);
  }

  /** Validates and runs one request on a held version. Throws the request's own error. */
  public InferenceResponse infer(Lease lease, InferenceRequest request) {
    Tensors.validate(request, lease.signature());
    long start = ticker.nanos();
    List<InferenceResult> results = lease.execute(List.of(request));
    long computeNanos = ticker.nanos() - start;
    Map<String, Tensor> all = results.getFirst().orThrow();
    List<String> names =
        request.outputs().isEmpty()
            ? lease.signature().outputs().stream().map(TensorSpec::name).toList()
            : request.outputs();
    Map<String, Tensor> outputs = new LinkedHashMap<>();
    for (String name : names) {
      Tensor t = all.get(name);
      if (t != null) {
        outputs.put(name, t);
      }
    }
    return new InferenceResponse(
        lease.model(), lease.version(), request.id(), outputs, 0, computeNanos);
  }
}
