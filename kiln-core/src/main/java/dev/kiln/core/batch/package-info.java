/**
 * Dynamic batching with Triton's semantics: queue, delay from the oldest request, per-request
 * results.
 */
package dev.kiln.core.batch;
