package dev.kiln.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.metrics.Metrics;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.registry.ModelConfig;
import dev.kiln.core.time.FakeTicker;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PredictionCacheTest {
  private static final Duration TTL = Duration.ofSeconds(60);
  private final FakeTicker ticker = new FakeTicker();

  /** A remote tier in a map: what Redis would hold. */
  static final class MapTier implements RemoteTier {
    final Map<String, byte[]> values = new HashMap<>();
    final List<String> deleted = new java.util.ArrayList<>();

    @Override
    public Value get(String key) {
      byte[] v = values.get(key);
      return v == null ? null : new Value(v, Duration.ofSeconds(30));
    }

    @Override
    public void set(String key, byte[] value, Duration ttl) {
      values.put(key, value);
    }

    @Override
    public void deletePrefix(String prefix) {
      deleted.add(prefix);
      values.keySet().removeIf(k -> k.startsWith(prefix));
    }

    @Override
    public String status() {
      return "up";
    }

    @Override
    public void close() {}
  }

  private PredictionCache cache(RemoteTier remote) {
    return new PredictionCache(
        new CacheConfig(true, 1 << 20, TTL, null), remote, ticker, Metrics.NONE);
  }

  private static InferenceRequest request(float x, Map<String, Object> params) {
    return new InferenceRequest(
        "id-" + x,
        Map.of("input", Tensor.ofFloats("input", new long[] {1, 2}, new float[] {x, 2})),
        List.of(),
        params);
  }

  private static Map<String, Tensor> outputs(float p) {
    return Map.of("p", Tensor.ofFloats("p", new long[] {1, 1}, new float[] {p}));
  }

  @Test
  void get_afterPut_hitsL1() {
    var cache = cache(null);
    CacheKey key = CacheKey.of("m", 1, request(1, Map.of()));
    cache.put(key, outputs(0.5f), TTL, cache.generation("m"));

    PredictionCache.Hit hit = cache.get(CacheKey.of("m", 1, request(1, Map.of())));

    assertThat(hit).isNotNull();
    assertThat(hit.tier()).isEqualTo(Metrics.Tier.L1);
    assertThat(hit.outputs()).isEqualTo(outputs(0.5f));
  }

  @Test
  void get_ttlElapsed_misses() {
    var cache = cache(null);
    CacheKey key = CacheKey.of("m", 1, request(1, Map.of()));
    cache.put(key, outputs(0.5f), Duration.ofSeconds(10), cache.generation("m"));

    ticker.advance(Duration.ofSeconds(9));
    assertThat(cache.get(key)).isNotNull();
    ticker.advance(Duration.ofSeconds(2));
    assertThat(cache.get(key)).isNull();
  }

  @Test
  void get_otherVersion_misses() {
    var cache = cache(null);
    cache.put(CacheKey.of("m", 1, request(1, Map.of())), outputs(0.5f), TTL, 0);

    assertThat(cache.get(CacheKey.of("m", 2, request(1, Map.of())))).isNull();
  }

  @Test
  void invalidate_dropsThatModelOnly() {
    var cache = cache(null);
    cache.put(CacheKey.of("a", 1, request(1, Map.of())), outputs(0.5f), TTL, 0);
    cache.put(CacheKey.of("b", 1, request(1, Map.of())), outputs(0.5f), TTL, 0);

    cache.invalidate("a");

    assertThat(cache.get(CacheKey.of("a", 1, request(1, Map.of())))).isNull();
    assertThat(cache.get(CacheKey.of("b", 1, request(1, Map.of())))).isNotNull();
  }

  @Test
  void put_modelInvalidatedWhileComputing_isNotStored() {
    var cache = cache(null);
    CacheKey key = CacheKey.of("m", 1, request(1, Map.of()));
    long generation = cache.generation("m");
    cache.invalidate("m");

    cache.put(key, outputs(0.5f), TTL, generation);

    assertThat(cache.get(key)).isNull();
  }

  @Test
  void get_l2Value_verifiedAndCopiedToL1() {
    var remote = new MapTier();
    var writer = cache(remote);
    CacheKey key = CacheKey.of("m", 1, request(1, Map.of()));
    writer.put(key, outputs(0.25f), TTL, 0);
    var reader = cache(remote);

    PredictionCache.Hit first = reader.get(key);
    PredictionCache.Hit second = reader.get(key);

    assertThat(first.tier()).isEqualTo(Metrics.Tier.L2);
    assertThat(first.outputs()).isEqualTo(outputs(0.25f));
    assertThat(second.tier()).isEqualTo(Metrics.Tier.L1);
  }

  @Test
  void get_l2ValueStoredUnderSameHashForAnotherKey_isAMiss() {
    var remote = new MapTier();
    var writer = cache(remote);
    CacheKey stored = CacheKey.of("m", 1, request(1, Map.of()));
    CacheKey asked = CacheKey.of("m", 1, request(2, Map.of()));
    writer.put(stored, outputs(0.25f), TTL, 0);
    // Pretend the two keys' hashes collided: the value of one sits at the other's address.
    remote.values.put(writer.remoteKey(asked), remote.values.get(writer.remoteKey(stored)));

    assertThat(cache(remote).get(asked)).isNull();
  }

  @Test
  void invalidate_deletesTheModelsL2Prefix() {
    var remote = new MapTier();
    var cache = cache(remote);
    cache.put(CacheKey.of("m", 1, request(1, Map.of())), outputs(0.25f), TTL, 0);

    cache.invalidate("m");

    assertThat(remote.deleted).containsExactly("kiln:prediction:m:");
    assertThat(remote.values).isEmpty();
  }

  @Test
  void remoteKey_hasPrefixModelVersionAndSha256() {
    CacheKey key = CacheKey.of("m", 3, request(1, Map.of()));

    assertThat(cache(null).remoteKey(key)).matches("kiln:prediction:m:3:[0-9a-f]{64}");
  }

  @Test
  void settings_modelBlockOverridesServerDefaults() {
    var cache =
        new PredictionCache(new CacheConfig(false, 1 << 20, TTL, null), null, ticker, Metrics.NONE);

    assertThat(cache.settings(null).enabled()).isFalse();
    var on = cache.settings(new ModelConfig.Cache(true, Duration.ofSeconds(5)));
    assertThat(on.enabled()).isTrue();
    assertThat(on.ttl()).isEqualTo(Duration.ofSeconds(5));
    assertThat(cache.settings(new ModelConfig.Cache(true, null)).ttl()).isEqualTo(TTL);
  }

  @Test
  void put_overMaxBytes_evictsToTheBound() {
    var cache =
        new PredictionCache(new CacheConfig(true, 4096, TTL, null), null, ticker, Metrics.NONE);
    for (int i = 0; i < 100; i++) {
      cache.put(CacheKey.of("m", 1, request(i, Map.of())), outputs(i), TTL, 0);
    }

    assertThat(cache.size()).isBetween(1L, 30L);
  }
}
