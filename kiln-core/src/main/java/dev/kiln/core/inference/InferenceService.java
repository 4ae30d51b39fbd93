package dev.kiln.core.inference;

import dev.kiln.core.batch.DynamicBatcher;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.model.Tensors;
import dev.kiln.core.registry.Lease;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.time.Ticker;
import java.time.Duration;
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
  private final long defaultTimeoutNanos;

  public InferenceService(ModelRegistry registry, Ticker ticker, Duration defaultTimeout) {
    this.registry = registry;
    this.ticker = ticker;
    this.defaultTimeoutNanos = defaultTimeout.toNanos();
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
    InferenceResult result;
    long queueNanos;
    long computeNanos;
    var batcher = lease.batcher();
    if (batcher.isPresent()) {
      var pending = batcher.get().submit(request, deadline(request));
      DynamicBatcher.Outcome outcome = pending.future().join();
      result = outcome.result();
      queueNanos = outcome.queueNanos();
      computeNanos = outcome.computeNanos();
    } else {
      long start = ticker.nanos();
      result = lease.execute(List.of(request)).getFirst();
      queueNanos = 0;
      computeNanos = ticker.nanos() - start;
    }
    Map<String, Tensor> all = result.orThrow();
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
        lease.model(), lease.version(), request.id(), outputs, queueNanos, computeNanos);
  }

  /**
   * The request's deadline on the ticker's clock: its {@code timeout} parameter in microseconds (as
   * Triton's), else {@code batching.default-timeout}.
   */
  private long deadline(InferenceRequest request) {
    long timeoutNanos = defaultTimeoutNanos;
    Object t = request.parameters().get("timeout");
    if (t instanceof Number n && n.longValue() > 0) {
      timeoutNanos = Math.multiplyExact(n.longValue(), 1000L);
    }
    return ticker.nanos() + timeoutNanos;
  }
}
