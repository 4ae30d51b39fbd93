package dev.kiln.core.inference;

import dev.kiln.core.batch.DynamicBatcher;
import dev.kiln.core.cache.CacheKey;
import dev.kiln.core.cache.PredictionCache;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.metrics.Metrics;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The path every protocol shares: hold a version, validate the request against its signature, run
 * it, and time it. Protocol adapters decode with {@link Lease#signature()} between {@link #acquire}
 * and {@link #infer}. Batching and caching attach here, not in the protocols.
 *
 * <p>Where a model's cache is on, a request is looked up by its full {@link CacheKey} first; on a
 * miss, identical requests already in flight share one computation (coalescing) instead of each
 * running it. Coalescing follows the cache setting: it needs the same key, and without a cache
 * identical concurrent requests are rare enough not to pay for building keys.
 */
public final class InferenceService {
  private final ModelRegistry registry;
  private final Ticker ticker;
  private final long defaultTimeoutNanos;
  private final PredictionCache cache;
  private final Metrics metrics;
  private final Map<CacheKey, CompletableFuture<InferenceResponse>> inFlight =
      new ConcurrentHashMap<>();

  public InferenceService(ModelRegistry registry, Ticker ticker, Duration defaultTimeout) {
    this(registry, ticker, defaultTimeout, null, Metrics.NONE);
  }

  /** {@code cache} may be null (no caching, no coalescing). */
  public InferenceService(
      ModelRegistry registry,
      Ticker ticker,
      Duration defaultTimeout,
      PredictionCache cache,
      Metrics metrics) {
    this.registry = registry;
    this.ticker = ticker;
    this.defaultTimeoutNanos = defaultTimeout.toNanos();
    this.cache = cache;
    this.metrics = metrics;
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
    PredictionCache.Settings settings =
        cache == null ? PredictionCache.Settings.OFF : cache.settings(lease.config().cache());
    if (!settings.enabled()) {
      return compute(lease, request);
    }
    CacheKey key = CacheKey.of(lease.model(), lease.version(), request);
    PredictionCache.Hit hit = cache.get(key);
    if (hit != null) {
      return new InferenceResponse(
          lease.model(), lease.version(), request.id(), hit.outputs(), 0, 0, true);
    }
    var mine = new CompletableFuture<InferenceResponse>();
    CompletableFuture<InferenceResponse> leader = inFlight.putIfAbsent(key, mine);
    if (leader != null) {
      metrics.coalesced(lease.model());
      InferenceResponse shared = join(leader);
      return new InferenceResponse(
          shared.model(),
          shared.version(),
          request.id(),
          shared.outputs(),
          shared.queueNanos(),
          shared.computeNanos(),
          false);
    }
    long generation = cache.generation(lease.model());
    try {
      InferenceResponse r = compute(lease, request);
      cache.put(key, r.outputs(), settings.ttl(), generation);
      mine.complete(r);
      return r;
    } catch (RuntimeException | Error e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      inFlight.remove(key, mine);
    }
  }

  private static InferenceResponse join(CompletableFuture<InferenceResponse> leader) {
    try {
      return leader.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof KilnException k) {
        throw k;
      }
      throw new KilnException(ErrorKind.INTERNAL, "the shared computation failed", e.getCause());
    }
  }

  private InferenceResponse compute(Lease lease, InferenceRequest request) {
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
      metrics.batch(lease.model(), lease.version(), Math.max(1, request.batchSize()));
    }
    if (batcher.isPresent()) {
      metrics.queued(lease.model(), lease.version(), queueNanos);
    }
    metrics.computed(lease.model(), lease.version(), computeNanos);
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
