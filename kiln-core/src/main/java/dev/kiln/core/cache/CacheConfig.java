package dev.kiln.core.cache;

import dev.kiln.core.error.Checks;
import java.time.Duration;

/**
 * The server-wide {@code cache.*} section: defaults that a model's {@code cache:} block overrides.
 *
 * @param enabled cache every model unless its config says otherwise
 * @param maxBytes the L1 bound, by the estimated size of keys and outputs
 * @param ttl how long an entry lives after it is written
 * @param redis the optional L2
 */
public record CacheConfig(boolean enabled, long maxBytes, Duration ttl, Redis redis) {
  public CacheConfig {
    Checks.require(maxBytes >= 0, "cache.max-bytes must be >= 0, was %d", maxBytes);
    Checks.require(ttl != null && ttl.toMillis() > 0, "cache.ttl must be > 0");
    redis = redis == null ? new Redis("", Duration.ofMillis(50), "kiln:prediction") : redis;
  }

  /**
   * @param url {@code redis://host:port[/db]}; empty turns L2 off
   * @param timeout the most a request waits for Redis before it carries on without it
   * @param keyPrefix keys are {@code <prefix>:<model>:<version>:<sha256 of the full key>}
   */
  public record Redis(String url, Duration timeout, String keyPrefix) {
    public Redis {
      url = url == null ? "" : url.trim();
      timeout = timeout == null ? Duration.ofMillis(50) : timeout;
      Checks.require(timeout.toNanos() > 0, "cache.redis.timeout must be > 0");
      keyPrefix = keyPrefix == null || keyPrefix.isBlank() ? "kiln:prediction" : keyPrefix;
    }

    public boolean enabled() {
      return !url.isEmpty();
    }
  }

  public static CacheConfig disabled() {
    return new CacheConfig(false, 0, Duration.ofSeconds(60), null);
  }
}
