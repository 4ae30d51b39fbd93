/**
 * What Kiln measures: {@link dev.kiln.core.metrics.Metrics} is the small interface the inference
 * path, the batcher, the cache and the server report to; {@link
 * dev.kiln.core.metrics.PrometheusMetrics} defines the Prometheus metrics behind it. Exposition
 * (the text format on {@code GET /metrics}) belongs to the server.
 */
package dev.kiln.core.metrics;
