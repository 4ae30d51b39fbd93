package dev.kiln.core.metrics;

import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.registry.ModelState;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.IntSupplier;

/**
 * Kiln's Prometheus metrics, registered in their own {@link PrometheusRegistry} (never the global
 * default, so that two servers in one JVM, as in the tests, do not share counters). Histograms are
 * classic-only: their buckets (100 µs to 10 s, with 200 ms and 500 ms exact so that the alert
 * thresholds in deploy/prometheus/alerts.yml fall on a bucket boundary) are what the text format
 * carries.
 */
public final class PrometheusMetrics implements Metrics {
  /** Seconds: 100 µs .. 10 s. */
  static final double[] LATENCY_BUCKETS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2.5,
    5, 10
  };

  static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter requests;
  private final Histogram requestSeconds;
  private final Histogram queueSeconds;
  private final Histogram computeSeconds;
  private final Histogram batchRows;
  private final Counter cacheHits;
  private final Counter cacheMisses;
  private final Counter cacheEvictions;
  private final Counter coalesced;

  public PrometheusMetrics() {
    requests =
        Counter.builder()
            .name("kiln_requests_total")
            .help("Inference requests answered, by model, version, protocol (v2|v1) and status")
            .labelNames("model", "version", "protocol", "status")
            .register(registry);
    requestSeconds =
        latency("kiln_request_duration_seconds", "End-to-end time of an inference request")
            .labelNames("model", "version", "protocol")
            .register(registry);
    queueSeconds =
        latency("kiln_queue_duration_seconds", "Time a request waited in the batching queue")
            .labelNames("model", "version")
            .register(registry);
    computeSeconds =
        latency("kiln_compute_duration_seconds", "Runtime time of the execution a request ran in")
            .labelNames("model", "version")
            .register(registry);
    batchRows =
        Histogram.builder()
            .name("kiln_batch_rows")
            .help("Rows per model execution (the executed batch size)")
            .labelNames("model", "version")
            .classicOnly()
            .classicUpperBounds(BATCH_BUCKETS)
            .register(registry);
    cacheHits =
        Counter.builder()
            .name("kiln_cache_hits_total")
            .help("Prediction cache hits by tier (l1 in-process, l2 Redis)")
            .labelNames("tier")
            .register(registry);
    cacheMisses =
        Counter.builder()
            .name("kiln_cache_misses_total")
            .help("Prediction cache misses by tier")
            .labelNames("tier")
            .register(registry);
    cacheEvictions =
        Counter.builder()
            .name("kiln_cache_evictions_total")
            .help("Entries evicted by size or TTL (l1) or deleted on invalidation (l2)")
            .labelNames("tier")
            .register(registry);
    coalesced =
        Counter.builder()
            .name("kiln_coalesced_requests_total")
            .help("Requests answered by an identical request's computation already in flight")
            .labelNames("model")
            .register(registry);
    for (Tier t : Tier.values()) {
      // Present from the start, so that rate() has a zero to start from.
      cacheHits.labelValues(t.label());
      cacheMisses.labelValues(t.label());
      cacheEvictions.labelValues(t.label());
    }
  }

  private static Histogram.Builder latency(String name, String help) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .classicOnly()
        .classicUpperBounds(LATENCY_BUCKETS);
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  /**
   * Gauges read from the registry at scrape time: each version's state (1 for its current state, 0
   * for the others), load time and batching queue depth.
   */
  public PrometheusMetrics bind(ModelRegistry models) {
    GaugeWithCallback.builder()
        .name("kiln_model_state")
        .help("1 for the state each model version is in, 0 for the others")
        .labelNames("model", "version", "state")
        .callback(cb ->
            models.forEachVersion((s, depth) -> {
              for (ModelState state : ModelState.values()) {
                cb.call(
                    s.state() == state ? 1 : 0,
                    s.model(),
                    Long.toString(s.version()),
                    state.name().toLowerCase(java.util.Locale.ROOT));
              }
            }))
        .register(registry);
    GaugeWithCallback.builder()
        .name("kiln_model_load_duration_seconds")
        .help("How long the last load of each model version took")
        .labelNames("model", "version")
        .callback(cb ->
            models.forEachVersion(
                (s, depth) -> cb.call(s.loadMillis() / 1e3, s.model(), Long.toString(s.version()))))
        .register(registry);
    GaugeWithCallback.builder()
        .name("kiln_queue_depth")
        .help("Requests waiting in each model version's batching queue")
        .labelNames("model", "version")
        .callback(cb ->
            models.forEachVersion((s, depth) -> {
              if (depth >= 0) {
                cb.call(depth, s.model(), Long.toString(s.version()));
              }
            }))
        .register(registry);
    return this;
  }

  /** The in-flight gauge, read from whoever counts requests in flight (the HTTP layer). */
  public PrometheusMetrics bindInFlight(IntSupplier inFlight) {
    GaugeWithCallback.builder()
        .name("kiln_in_flight_requests")
        .help("Inference requests being served now")
        .callback(cb -> cb.call(inFlight.getAsInt()))
        .register(registry);
    return this;
  }

  @Override
  public void request(String model, String version, String protocol, int status, long nanos) {
    requests.labelValues(model, version, protocol, Integer.toString(status)).inc();
    requestSeconds.labelValues(model, version, protocol).observe(nanos / 1e9);
  }

  @Override
  public void queued(String model, long version, long nanos) {
    queueSeconds.labelValues(model, Long.toString(version)).observe(nanos / 1e9);
  }

  @Override
  public void computed(String model, long version, long nanos) {
    computeSeconds.labelValues(model, Long.toString(version)).observe(nanos / 1e9);
  }

  @Override
  public void batch(String model, long version, long rows) {
    batchRows.labelValues(model, Long.toString(version)).observe(rows);
  }

  @Override
  public void cacheHit(Tier tier) {
    cacheHits.labelValues(tier.label()).inc();
  }

  @Override
  public void cacheMiss(Tier tier) {
    cacheMisses.labelValues(tier.label()).inc();
  }

  @Override
  public void cacheEvictions(Tier tier, long n) {
    cacheEvictions.labelValues(tier.label()).inc(n);
  }

  @Override
  public void coalesced(String model) {
    coalesced.labelValues(model).inc();
  }
}
