package dev.kiln.server;

import static dev.kiln.server.Fixture.RF;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The prediction cache through the real server: L1 hits, TTL, invalidation on a new version, and
 * the Redis L2 against a real Redis (the machine's at 127.0.0.1:6379, which .ci/run starts; each
 * test uses its own key prefix), including one of the test's own that it stops mid-run.
 */
class CacheIT {
  static final String REDIS = "redis://127.0.0.1:6379";
  private static final String INFER = "/v2/models/" + RF + "/infer";

  @TempDir Path repository;
  final Fixture rf = Fixture.load(RF);

  private String row(int i) {
    return Fixture.v2Request(new long[] {1, 30}, rf.input().get(i).deepCopy()).toString();
  }

  private static boolean cached(TestServer.Reply r) {
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.json().get("parameters").get("cached").asBoolean();
  }

  private static JsonNode outputs(TestServer.Reply r) {
    return r.json().get("outputs");
  }

  @Test
  void infer_sameRequestTwice_secondIsCachedWithSameOutputs() {
    try (var server = TestServer.withModels(repository, Map.of("cache.enabled", "true"), RF)) {
      TestServer.Reply first = server.post(INFER, row(0));
      TestServer.Reply second = server.post(INFER, row(0));
      TestServer.Reply other = server.post(INFER, row(1));

      assertThat(cached(first)).isFalse();
      assertThat(cached(second)).isTrue();
      assertThat(outputs(second)).isEqualTo(outputs(first));
      assertThat(cached(other)).isFalse();
      String metrics = server.get("/metrics").text();
      assertThat(MetricsIT.sample(metrics, "kiln_cache_hits_total{tier=\"l1\"}")).isEqualTo(1.0);
      assertThat(MetricsIT.sample(metrics, "kiln_cache_misses_total{tier=\"l1\"}")).isEqualTo(2.0);
    }
  }

  @Test
  void predict_v1SameInstancesTwice_saysCached() {
    String body = "{\"instances\": [" + rf.input().get(0) + "]}";
    try (var server = TestServer.withModels(repository, Map.of("cache.enabled", "true"), RF)) {
      TestServer.Reply first = server.post("/v1/models/" + RF + ":predict", body);
      TestServer.Reply second = server.post("/v1/models/" + RF + ":predict", body);

      assertThat(first.json().get("cached").asBoolean()).as(first.toString()).isFalse();
      assertThat(second.json().get("cached").asBoolean()).as(second.toString()).isTrue();
      assertThat(second.json().get("predictions")).isEqualTo(first.json().get("predictions"));
    }
  }

  @Test
  void infer_cacheOff_neverCached() {
    try (var server = TestServer.withModels(repository, Map.of(), RF)) {
      server.post(INFER, row(0));

      assertThat(cached(server.post(INFER, row(0)))).isFalse();
    }
  }

  @Test
  void infer_afterTtl_computesAgain() throws Exception {
    try (var server =
        TestServer.withModels(
            repository, Map.of("cache.enabled", "true", "cache.ttl", "300ms"), RF)) {
      server.post(INFER, row(0));
      assertThat(cached(server.post(INFER, row(0)))).isTrue();
      Thread.sleep(600);

      assertThat(cached(server.post(INFER, row(0)))).isFalse();
    }
  }

  @Test
  void poll_newVersion_dropsTheModelsEntriesAndServesTheNewVersionUncached() {
    TestServer.copyModels(repository, RF);
    try (var server =
        TestServer.start(
            repository,
            Map.of(
                "cache.enabled", "true",
                "repository.model-control", "poll",
                "repository.poll-interval", "100ms"))) {
      server.post(INFER, row(0));
      assertThat(cached(server.post(INFER, row(0)))).isTrue();
      assertThat(server.server().cache().size()).isEqualTo(1);

      TestServer.copyTree(repository.resolve(RF).resolve("1"), repository.resolve(RF).resolve("2"));
      Poll.until(
          "version 2 serves",
          () -> server.post(INFER, row(0)).json().get("model_version").asText().equals("2"));
      TestServer.Reply afterSwitch = server.post(INFER, row(1));

      assertThat(cached(afterSwitch)).isFalse();
      assertThat(afterSwitch.json().get("model_version").asText()).isEqualTo("2");
    }
  }

  @Test
  void infer_redisL2_secondServerHitsWhatTheFirstComputed() {
    String prefix = "kiln-test:" + UUID.randomUUID();
    Map<String, String> flags =
        Map.of(
            "cache.enabled", "true",
            "cache.redis.url", REDIS,
            "cache.redis.key-prefix", prefix);
    Path second = repository.resolve("second");
    try (var a = TestServer.withModels(repository.resolve("first"), flags, RF);
        var b = TestServer.withModels(second, flags, RF);
        var redis = redis(REDIS)) {
      Poll.until("redis connected", () -> a.server().cache().remoteStatus().equals("up"));
      Poll.until("redis connected", () -> b.server().cache().remoteStatus().equals("up"));
      TestServer.Reply computed = a.post(INFER, row(3));
      Poll.until("the value reached redis", () -> !keys(redis, prefix).isEmpty());

      TestServer.Reply fromRedis = b.post(INFER, row(3));

      assertThat(cached(computed)).isFalse();
      assertThat(cached(fromRedis)).isTrue();
      assertThat(outputs(fromRedis)).isEqualTo(outputs(computed));
      assertThat(keys(redis, prefix).getFirst()).matches(prefix + ":" + RF + ":1:[0-9a-f]{64}");
      assertThat(MetricsIT.sample(b.get("/metrics").text(), "kiln_cache_hits_total{tier=\"l2\"}"))
          .isEqualTo(1.0);
    } finally {
      try (var redis = redis(REDIS)) {
        keys(redis, prefix).forEach(k -> redis.sync().del(k));
      }
    }
  }

  @Test
  void unload_explicitMode_deletesTheModelsRedisKeys() {
    String prefix = "kiln-test:" + UUID.randomUUID();
    try (var server =
            TestServer.withModels(
                repository,
                Map.of(
                    "cache.enabled", "true",
                    "cache.redis.url", REDIS,
                    "cache.redis.key-prefix", prefix,
                    "repository.model-control", "explicit",
                    "repository.load-models", RF),
                RF);
        var redis = redis(REDIS)) {
      Poll.until("redis connected", () -> server.server().cache().remoteStatus().equals("up"));
      server.post(INFER, row(0));
      Poll.until("the value reached redis", () -> !keys(redis, prefix).isEmpty());

      assertThat(server.post("/v2/repository/models/" + RF + "/unload", "").status())
          .isEqualTo(200);

      Poll.until("the model's keys are deleted", () -> keys(redis, prefix).isEmpty());
    }
  }

  @Test
  void infer_redisStoppedMidRun_keepsServingAndHealthSaysDown() throws Exception {
    int port = freePort();
    Process redisServer =
        new ProcessBuilder(
                "redis-server",
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try (var server =
        TestServer.withModels(
            repository,
            Map.of("cache.enabled", "true", "cache.redis.url", "redis://127.0.0.1:" + port),
            RF)) {
      Poll.until("redis connected", () -> server.server().cache().remoteStatus().equals("up"));
      assertThat(cached(server.post(INFER, row(0)))).isFalse();

      redisServer.destroyForcibly();
      assertThat(redisServer.waitFor(10, TimeUnit.SECONDS)).isTrue();

      for (int i = 1; i < rf.rows(); i++) {
        long start = System.nanoTime();
        TestServer.Reply r = server.post(INFER, row(i));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(cached(r)).isFalse();
        assertThat(millis).as("request %d while redis is gone", i).isLessThan(2_000);
      }
      assertThat(cached(server.post(INFER, row(1)))).as("L1 still serves").isTrue();
      Poll.until(
          "health reports redis down",
          () ->
              !server.get("/health").json().get("dependencies").get("redis").asText().equals("up"));
      JsonNode health = server.get("/health").json();
      assertThat(health.get("dependencies").get("redis").asText()).isIn("down", "degraded");
      assertThat(health.get("status").asText()).isEqualTo("degraded");
      assertThat(health.get("warnings").get(0).asText()).contains("redis");
    } finally {
      redisServer.destroyForcibly();
    }
  }

  private static int freePort() throws IOException {
    try (var s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A test-side Redis connection (String keys) that closes its client with it. */
  static final class Redis implements AutoCloseable {
    final RedisClient client;
    final StatefulRedisConnection<String, String> connection;

    Redis(String url) {
      client = RedisClient.create(url);
      connection = client.connect();
    }

    io.lettuce.core.api.sync.RedisCommands<String, String> sync() {
      return connection.sync();
    }

    @Override
    public void close() {
      connection.close();
      client.shutdown();
    }
  }

  private static Redis redis(String url) {
    return new Redis(url);
  }

  private static java.util.List<String> keys(Redis redis, String prefix) {
    return redis.sync().keys(prefix + ":*");
  }
}
