package dev.kiln.core.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.kiln.core.metrics.Metrics;
import dev.kiln.core.metrics.Metrics.Tier;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.registry.ModelConfig;
import dev.kiln.core.time.Ticker;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Predictions by their full {@link CacheKey}: L1 in this process (bounded by bytes, each entry with
 * its model's TTL), then the optional shared L2. A hit in L2 is verified against the full key
 * stored beside the value and copied into L1 for what is left of its TTL.
 *
 * <p>Invalidation: {@link #invalidate} drops a model's L1 entries at once and deletes its L2 prefix
 * in the background; versions are part of every key, so a new version never sees an old one's
 * entries. A result computed across an invalidation is not stored ({@link #generation}).
 */
public final class PredictionCache implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(PredictionCache.class.getName());

  /** A model's effective settings. */
  public record Settings(boolean enabled, Duration ttl) {
    public static final Settings OFF = new Settings(false, Duration.ofSeconds(1));
  }

  /** A found prediction and the tier it came from. */
  public record Hit(Map<String, Tensor> outputs, Tier tier) {}

  private record Entry(Map<String, Tensor> outputs, long ttlNanos, int weight) {}

  private final CacheConfig config;
  private final RemoteTier remote;
  private final Metrics metrics;
  private final Cache<CacheKey, Entry> l1;
  private final Map<String, AtomicLong> generations = new ConcurrentHashMap<>();

  /** {@code remote} may be null (no L2). */
  public PredictionCache(CacheConfig config, RemoteTier remote, Ticker ticker, Metrics metrics) {
    this.config = config;
    this.remote = remote;
    this.metrics = metrics;
    this.l1 =
        Caffeine.newBuilder()
            .ticker(ticker::nanos)
            .executor(Runnable::run) // maintenance on the caller: no pool, deterministic tests
            .maximumWeight(config.maxBytes())
            .<CacheKey, Entry>weigher((k, v) -> v.weight)
            .expireAfter(
                new Expiry<CacheKey, Entry>() {
                  @Override
                  public long expireAfterCreate(CacheKey k, Entry v, long now) {
                    return v.ttlNanos;
                  }

                  @Override
                  public long expireAfterUpdate(CacheKey k, Entry v, long now, long current) {
                    return v.ttlNanos;
                  }

                  @Override
                  public long expireAfterRead(CacheKey k, Entry v, long now, long current) {
                    return current;
                  }
                })
            .evictionListener((k, v, cause) -> metrics.cacheEvictions(Tier.L1, 1))
            .build();
  }

  public CacheConfig config() {
    return config;
  }

  /** The server's defaults under a model's {@code cache:} block (null: none). */
  public Settings settings(ModelConfig.Cache model) {
    boolean enabled = config.enabled();
    Duration ttl = config.ttl();
    if (model != null) {
      enabled = model.enabled() != null ? model.enabled() : enabled;
      ttl = model.ttl() != null ? model.ttl() : ttl;
    }
    return enabled && config.maxBytes() > 0 ? new Settings(true, ttl) : Settings.OFF;
  }

  /** L1, then L2. A miss is counted in each tier looked at. */
  public Hit get(CacheKey key) {
    Entry e = l1.getIfPresent(key);
    if (e != null) {
      metrics.cacheHit(Tier.L1);
      return new Hit(e.outputs, Tier.L1);
    }
    metrics.cacheMiss(Tier.L1);
    if (remote == null) {
      return null;
    }
    long generation = generation(key.model());
    RemoteTier.Value v = remote.get(remoteKey(key));
    Map<String, Tensor> outputs = v == null ? null : verify(key, v.bytes());
    if (outputs == null) {
      metrics.cacheMiss(Tier.L2);
      return null;
    }
    metrics.cacheHit(Tier.L2);
    if (v.remaining() != null && !v.remaining().isZero() && generation == generation(key.model())) {
      l1.put(key, entry(key, outputs, v.remaining()));
    }
    return new Hit(outputs, Tier.L2);
  }

  /** The stored key must equal ours byte for byte: a hash collision is a miss, never a hit. */
  private static Map<String, Tensor> verify(CacheKey key, byte[] stored) {
    try {
      ByteBuffer in = ByteBuffer.wrap(stored);
      int keyLength = in.getInt();
      if (keyLength != key.bytes().length || keyLength > in.remaining()) {
        return null;
      }
      byte[] storedKey = new byte[keyLength];
      in.get(storedKey);
      if (!key.sameBytes(storedKey)) {
        return null;
      }
      return TensorCodec.decode(in.slice());
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "unreadable L2 value for {0}: {1}", key, e.toString());
      return null;
    }
  }

  /**
   * The model's invalidation count: read it before computing and pass it to {@link #put}, which
   * drops the result if the model changed meanwhile.
   */
  public long generation(String model) {
    return generations.computeIfAbsent(model, m -> new AtomicLong()).get();
  }

  public void put(CacheKey key, Map<String, Tensor> outputs, Duration ttl, long generation) {
    if (generation != generation(key.model())) {
      return;
    }
    Entry e = entry(key, outputs, ttl);
    l1.put(key, e);
    if (remote != null) {
      byte[] value = TensorCodec.encode(outputs);
      ByteBuffer b = ByteBuffer.allocate(4 + key.bytes().length + value.length);
      b.putInt(key.bytes().length).put(key.bytes()).put(value);
      remote.set(remoteKey(key), b.array(), ttl);
    }
  }

  private static Entry entry(CacheKey key, Map<String, Tensor> outputs, Duration ttl) {
    long bytes = key.sizeBytes();
    for (Tensor t : outputs.values()) {
      bytes += 64 + (long) t.size() * Math.max(8, t.datatype().sizeBytes());
    }
    return new Entry(outputs, ttl.toNanos(), (int) Math.min(Integer.MAX_VALUE, bytes));
  }

  /** Drops a model's entries: L1 now, L2 (its key prefix) in the background. */
  public void invalidate(String model) {
    generations.computeIfAbsent(model, m -> new AtomicLong()).incrementAndGet();
    l1.asMap().keySet().removeIf(k -> k.model().equals(model));
    if (remote != null) {
      remote.deletePrefix(modelPrefix(model));
    }
  }

  /** {@code <prefix>:<model>:} — every L2 key of a model starts with it. */
  public String modelPrefix(String model) {
    return config.redis().keyPrefix() + ":" + model + ":";
  }

  /** {@code <prefix>:<model>:<version>:<sha256 of the full key>}. */
  public String remoteKey(CacheKey key) {
    return modelPrefix(key.model()) + key.version() + ":" + key.sha256();
  }

  /** Entries in L1 now (after pending maintenance). */
  public long size() {
    l1.cleanUp();
    return l1.estimatedSize();
  }

  /** {@code disabled} without an L2, else the L2's {@code up}, {@code degraded} or {@code down}. */
  public String remoteStatus() {
    return remote == null ? "disabled" : remote.status();
  }

  @Override
  public void close() {
    l1.invalidateAll();
    if (remote != null) {
      remote.close();
    }
  }
}
