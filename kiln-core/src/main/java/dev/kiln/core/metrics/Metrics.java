package dev.kiln.core.metrics;

/**
 * The events Kiln counts. Core code reports to this interface and never to a metrics library, so it
 * stays testable without one: tests pass {@link #NONE}. Times are in nanoseconds.
 */
public interface Metrics {
  /** A metrics sink that drops everything. */
  Metrics NONE = new Metrics() {};

  /** The tier of the prediction cache an event happened in. */
  enum Tier {
    L1,
    L2;

    public String label() {
      return this == L1 ? "l1" : "l2";
    }
  }

  /** One answered inference request: {@code protocol} is {@code v2} or {@code v1}. */
  default void request(String model, String version, String protocol, int status, long nanos) {}

  /** Time a request waited in a batcher's queue. */
  default void queued(String model, long version, long nanos) {}

  /** Time the runtime took for the execution a request was part of. */
  default void computed(String model, long version, long nanos) {}

  /** Rows in one execution of a model version. */
  default void batch(String model, long version, long rows) {}

  default void cacheHit(Tier tier) {}

  default void cacheMiss(Tier tier) {}

  /** Entries removed by size or expiry (l1), or deleted on invalidation (l2). */
  default void cacheEvictions(Tier tier, long n) {}

  /** A request that shared the computation of an identical one in flight. */
  default void coalesced(String model) {}
}
