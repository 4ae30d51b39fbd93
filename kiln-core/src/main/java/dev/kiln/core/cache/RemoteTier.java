package dev.kiln.core.cache;

import java.time.Duration;

/**
 * A shared second tier (Redis in kiln-server). Every method must return within the tier's own short
 * timeout and never throw: a failing tier is a miss, not a failed request.
 */
public interface RemoteTier extends AutoCloseable {
  /** A value and how long it has left to live. */
  record Value(byte[] bytes, Duration remaining) {}

  /** The value at {@code key}, or null on a miss, a timeout or any failure. */
  Value get(String key);

  /** Stores a value without waiting for the answer. */
  void set(String key, byte[] value, Duration ttl);

  /** Deletes every key under {@code prefix} (in the background); returns at once. */
  void deletePrefix(String prefix);

  /** {@code up}, {@code degraded} (failing recently) or {@code down} (not connected). */
  String status();

  @Override
  void close();
}
