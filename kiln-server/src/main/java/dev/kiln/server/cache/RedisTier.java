package dev.kiln.server.cache;

import dev.kiln.core.cache.CacheConfig;
import dev.kiln.core.cache.RemoteTier;
import dev.kiln.core.metrics.Metrics;
import dev.kiln.core.time.Ticker;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The prediction cache's L2 in Redis, through Lettuce's async API. No request ever waits longer
 * than {@code cache.redis.timeout} for it, and no failure escapes: a failing Redis is a miss. It
 * connects in the background (the server starts whether Redis is there or not), keeps trying every
 * second until it gets through, and then relies on Lettuce's automatic reconnection; while the
 * connection is down commands are rejected at once rather than queued.
 */
public final class RedisTier implements RemoteTier {
  private static final System.Logger LOG = System.getLogger(RedisTier.class.getName());
  private static final long DEGRADED_FOR_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final RedisClient client;
  private final long timeoutNanos;
  private final Ticker ticker;
  private final Metrics metrics;
  private volatile StatefulRedisConnection<byte[], byte[]> connection;
  private volatile long lastFailureNanos;
  private volatile boolean failedEver;
  private volatile boolean closed;

  public RedisTier(CacheConfig.Redis config, Ticker ticker, Metrics metrics) {
    this.ticker = ticker;
    this.metrics = metrics;
    this.timeoutNanos = config.timeout().toNanos();
    this.client = RedisClient.create(RedisURI.create(config.url()));
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).build())
            .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(2)))
            .build());
    Thread.ofVirtual().name("kiln-redis-connect").start(this::connectLoop);
  }

  private void connectLoop() {
    while (!closed && connection == null) {
      try {
        connection = client.connect(ByteArrayCodec.INSTANCE);
        LOG.log(Level.INFO, "prediction cache L2: connected to Redis");
      } catch (RuntimeException e) {
        failed();
        LOG.log(
            Level.WARNING, "prediction cache L2: Redis unreachable ({0}); L1 only", e.toString());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private void failed() {
    lastFailureNanos = ticker.nanos();
    failedEver = true;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public Value get(String key) {
    var c = connection;
    if (c == null || !c.isOpen()) {
      return null;
    }
    try {
      var async = c.async();
      byte[] k = utf8(key);
      var value = async.get(k);
      var ttl = async.pttl(k);
      byte[] bytes = value.get(timeoutNanos, TimeUnit.NANOSECONDS);
      if (bytes == null) {
        return null;
      }
      Long ms = ttl.get(timeoutNanos, TimeUnit.NANOSECONDS);
      return new Value(bytes, ms == null || ms <= 0 ? Duration.ZERO : Duration.ofMillis(ms));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (Exception e) {
      failed();
      LOG.log(Level.DEBUG, "prediction cache L2 get failed: {0}", e.toString());
      return null;
    }
  }

  @Override
  public void set(String key, byte[] value, Duration ttl) {
    var c = connection;
    if (c == null || !c.isOpen()) {
      return;
    }
    try {
      c.async()
          .set(utf8(key), value, SetArgs.Builder.px(Math.max(1, ttl.toMillis())))
          .whenComplete((ok, e) -> {
            if (e != null) {
              failed();
            }
          });
    } catch (RuntimeException e) {
      failed();
    }
  }

  @Override
  public void deletePrefix(String prefix) {
    var c = connection;
    if (c == null || !c.isOpen()) {
      return;
    }
    Thread.ofVirtual()
        .name("kiln-redis-invalidate")
        .start(() -> {
          // SCAN in steps (never KEYS, which blocks Redis), DEL what each step finds.
          var sync = c.sync();
          var args = ScanArgs.Builder.matches(utf8(glob(prefix) + "*")).limit(500);
          long deleted = 0;
          try {
            KeyScanCursor<byte[]> cursor = sync.scan(args);
            for (; ; ) {
              List<byte[]> keys = cursor.getKeys();
              if (!keys.isEmpty()) {
                deleted += sync.del(keys.toArray(byte[][]::new));
              }
              if (cursor.isFinished()) {
                break;
              }
              cursor = sync.scan(ScanCursor.of(cursor.getCursor()), args);
            }
            metrics.cacheEvictions(Metrics.Tier.L2, deleted);
          } catch (RuntimeException e) {
            failed();
            LOG.log(
                Level.WARNING,
                "prediction cache L2: deleting {0}* failed: {1}",
                prefix,
                e.toString());
          }
        });
  }

  /** Escapes Redis glob characters so that a model name matches only itself. */
  static String glob(String s) {
    var out = new StringBuilder(s.length() + 8);
    for (char ch : s.toCharArray()) {
      if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') {
        out.append('\\');
      }
      out.append(ch);
    }
    return out.toString();
  }

  @Override
  public String status() {
    var c = connection;
    if (c == null || !c.isOpen()) {
      return "down";
    }
    if (failedEver && ticker.nanos() - lastFailureNanos < DEGRADED_FOR_NANOS) {
      return "degraded";
    }
    return "up";
  }

  @Override
  public void close() {
    closed = true;
    var c = connection;
    if (c != null) {
      c.close();
    }
    client.shutdown(0, 2, TimeUnit.SECONDS);
  }
}
