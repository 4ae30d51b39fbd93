package dev.kiln.server.http;

import dev.kiln.core.error.KilnException;
import dev.kiln.core.registry.Lease;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.llm.TextGenerator;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.OptionalLong;
import java.util.function.ToDoubleFunction;

/**
 * The text-generation metrics, after vLLM's ({@code vllm:time_to_first_token_seconds} and so on)
 * under {@code kiln_llm_*} names, labelled by model: histograms of the time to the first token, the
 * gaps between tokens, the whole request and the wait for admission; counters of prompt and
 * generated tokens and of finished requests by reason; and gauges, read at scrape time from each
 * loaded language model, of running and waiting requests and of KV cache bytes reserved and
 * budgeted. Requests are observed by the OpenAI routes when they end (cancelled ones included, as
 * {@code finish_reason="abort"}).
 */
public final class LlmMetrics {
  static final double[] TTFT_BUCKETS = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10
  };
  static final double[] ITL_BUCKETS = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5
  };
  static final double[] REQUEST_BUCKETS = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 40, 50, 60
  };

  private final Histogram ttft;
  private final Histogram interToken;
  private final Histogram e2e;
  private final Histogram queue;
  private final Counter promptTokens;
  private final Counter generationTokens;
  private final Counter finished;

  public LlmMetrics(PrometheusRegistry prometheus, ModelRegistry models) {
    ttft =
        histogram("kiln_llm_time_to_first_token_seconds", "Time to the first token", TTFT_BUCKETS)
            .register(prometheus);
    interToken =
        histogram(
                "kiln_llm_inter_token_latency_seconds",
                "Time between two successive sampled tokens of a request",
                ITL_BUCKETS)
            .register(prometheus);
    e2e =
        histogram(
                "kiln_llm_e2e_request_latency_seconds",
                "Whole text-generation request, prompt to last token written",
                REQUEST_BUCKETS)
            .register(prometheus);
    queue =
        histogram(
                "kiln_llm_request_queue_time_seconds",
                "Time a request waited for admission (a sequence slot and KV room)",
                REQUEST_BUCKETS)
            .register(prometheus);
    promptTokens =
        Counter.builder()
            .name("kiln_llm_prompt_tokens_total")
            .help("Prompt tokens of text-generation requests")
            .labelNames("model")
            .register(prometheus);
    generationTokens =
        Counter.builder()
            .name("kiln_llm_generation_tokens_total")
            .help("Tokens generated (sampled), including a final end-of-text")
            .labelNames("model")
            .register(prometheus);
    finished =
        Counter.builder()
            .name("kiln_llm_requests_finished_total")
            .help("Text-generation requests ended, by finish_reason (stop, length, abort)")
            .labelNames("model", "finish_reason")
            .register(prometheus);
    gauge(
        prometheus,
        models,
        "kiln_llm_requests_running",
        "Requests generating now",
        o -> o.running());
    gauge(
        prometheus,
        models,
        "kiln_llm_requests_waiting",
        "Requests waiting for admission",
        o -> o.waiting());
    gauge(
        prometheus,
        models,
        "kiln_llm_kv_cache_used_bytes",
        "KV cache bytes reserved by running requests",
        o -> o.kvUsedBytes());
    gauge(
        prometheus,
        models,
        "kiln_llm_kv_cache_budget_bytes",
        "KV cache budget (model parameter kv-cache-bytes)",
        o -> o.kvBudgetBytes());
    gauge(
        prometheus,
        models,
        "kiln_llm_kv_cache_usage_ratio",
        "KV cache bytes reserved over the budget, 0..1",
        o -> o.kvBudgetBytes() == 0 ? 0 : (double) o.kvUsedBytes() / o.kvBudgetBytes());
  }

  private static Histogram.Builder histogram(String name, String help, double[] buckets) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .labelNames("model")
        .classicOnly()
        .classicUpperBounds(buckets);
  }

  private static void gauge(
      PrometheusRegistry prometheus,
      ModelRegistry models,
      String name,
      String help,
      ToDoubleFunction<TextGenerator.Occupancy> reading) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("model")
        .callback(cb -> {
          for (String model : models.modelNames()) {
            try (Lease lease = models.acquire(model, OptionalLong.empty())) {
              if (lease.loaded() instanceof TextGenerator g) {
                cb.call(reading.applyAsDouble(g.occupancy()), model);
              }
            } catch (KilnException e) {
              // Not ready: nothing to report.
            }
          }
        })
        .register(prometheus);
  }

  /** Records one finished request: {@code e2eNanos} from the request to its last write. */
  void observe(String model, TextGenerator.Result r, long e2eNanos) {
    e2e.labelValues(model).observe(e2eNanos / 1e9);
    queue.labelValues(model).observe(r.queueNanos() / 1e9);
    if (r.completionTokens() > 0) {
      ttft.labelValues(model).observe(r.firstTokenNanos() / 1e9);
    }
    var itl = interToken.labelValues(model);
    for (long gap : r.interTokenNanos()) {
      itl.observe(gap / 1e9);
    }
    promptTokens.labelValues(model).inc(r.promptTokens());
    generationTokens.labelValues(model).inc(r.completionTokens());
    String reason =
        switch (r.finish()) {
          case STOP -> "stop";
          case LENGTH -> "length";
          case CANCELLED -> "abort";
        };
    finished.labelValues(model, reason).inc();
  }
}
