package dev.kiln.server;

import dev.kiln.core.batch.BatchingConfig;
import dev.kiln.core.cache.CacheConfig;
import dev.kiln.core.cache.PredictionCache;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.inference.InferenceService;
import dev.kiln.core.metrics.PrometheusMetrics;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.time.Ticker;
import dev.kiln.server.cache.RedisTier;
import dev.kiln.server.http.Endpoints;
import dev.kiln.server.http.HealthRoutes;
import dev.kiln.server.http.MetricsRoutes;
import dev.kiln.server.http.OpenAiRoutes;
import dev.kiln.server.http.Problems;
import dev.kiln.server.http.RepositoryRoutes;
import dev.kiln.server.http.RouteTable;
import dev.kiln.server.http.V1Routes;
import dev.kiln.server.http.V2Routes;
import io.helidon.http.DirectHandler;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

/**
 * A running Kiln: the registry with its models, the inference path, and the HTTP server. Start one
 * in code with {@link #start(KilnConfig)}; tests use port 0 and read {@link #port()}.
 */
public final class KilnServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(KilnServer.class.getName());

  private final KilnConfig config;
  private final ModelRegistry registry;
  private final Endpoints endpoints;
  private final WebServer web;
  private final PredictionCache cache;
  private volatile boolean stopped;

  private KilnServer(
      KilnConfig config,
      ModelRegistry registry,
      Endpoints endpoints,
      WebServer web,
      PredictionCache cache) {
    this.cache = cache;
    this.config = config;
    this.registry = registry;
    this.endpoints = endpoints;
    this.web = web;
  }

  /** Loads the repository per the model-control mode and starts serving. */
  public static KilnServer start(KilnConfig config) {
    return start(config, ModelRegistry.discoverRuntimes(), Ticker.system());
  }

  public static KilnServer start(KilnConfig config, List<ModelRuntime> runtimes, Ticker ticker) {
    var metrics = new PrometheusMetrics();
    JvmMetrics.builder().register(metrics.registry());
    var registry = new ModelRegistry(config, runtimes, ticker, metrics);
    metrics.bind(registry);
    CacheConfig cacheConfig = config.section("cache", CacheConfig.class);
    var cache =
        new PredictionCache(
            cacheConfig,
            cacheConfig.redis().enabled()
                ? new RedisTier(cacheConfig.redis(), ticker, metrics)
                : null,
            ticker,
            metrics);
    registry.addListener(cache::invalidate);
    try {
      registry.start();
      var service =
          new InferenceService(
              registry,
              ticker,
              config.section("batching", BatchingConfig.class).defaultTimeout(),
              cache,
              metrics);
      var endpoints =
          new Endpoints(config.server().maxBodyBytes(), config.server().maxInFlight(), metrics);
      metrics.bindInFlight(endpoints::inferInFlight);
      String version = version();
      HttpRouting.Builder routing = HttpRouting.builder();
      RouteTable routes = new RouteTable(routing);
      new V2Routes(service, endpoints, version, config.server().strictReadiness()).register(routes);
      new RepositoryRoutes(
              registry, endpoints, config.repository().modelControl(), config.server().adminToken())
          .register(routes);
      new V1Routes(service, endpoints).register(routes);
      new OpenAiRoutes(
              registry,
              endpoints,
              new dev.kiln.server.http.LlmMetrics(metrics.registry(), registry))
          .register(routes);
      new HealthRoutes(registry, endpoints, version, ticker, cache::remoteStatus).register(routes);
      new MetricsRoutes(metrics.registry(), endpoints).register(routes);
      routing.any(endpoints.notFound(routes));
      WebServer web =
          WebServer.builder()
              .host(config.server().host())
              .port(config.server().port())
              .shutdownHook(false)
              // Without TCP_NODELAY a response written in two segments waits out the client's
              // delayed ACK (~40 ms on Linux): measured as 52 ms per 1000-row request.
              .connectionOptions(o -> o.tcpNoDelay(true))
              .maxPayloadSize(config.server().maxBodyBytes() + 1)
              .directHandlers(
                  DirectHandlers.builder()
                      .addHandler(DirectHandler.EventType.BAD_REQUEST, endpoints.directHandler())
                      .build())
              .routing(routing)
              .build()
              .start();
      LOG.log(
          Level.INFO,
          "Kiln {0} serving {1} on http://{2}:{3,number,#}",
          version,
          registry.repository().root(),
          config.server().host(),
          web.port());
      return new KilnServer(config, registry, endpoints, web, cache);
    } catch (RuntimeException e) {
      registry.close();
      cache.close();
      throw e;
    }
  }

  public int port() {
    return web.port();
  }

  public ModelRegistry registry() {
    return registry;
  }

  public PredictionCache cache() {
    return cache;
  }

  /**
   * Graceful stop: refuse new requests (503), wait up to {@code server.shutdown-timeout} for those
   * in flight, then stop the HTTP server and close every model.
   */
  @Override
  public synchronized void close() {
    if (stopped) {
      return;
    }
    stopped = true;
    endpoints.drain();
    Duration timeout = config.server().shutdownTimeout();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (endpoints.inFlight() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (endpoints.inFlight() > 0) {
      LOG.log(Level.WARNING, "stopping with {0} requests still in flight", endpoints.inFlight());
    }
    web.stop();
    registry.close();
    cache.close();
    LOG.log(Level.INFO, "Kiln stopped");
  }

  /** The status a problem of this kind is answered with (exposed for tests and docs). */
  public static int statusOf(dev.kiln.core.error.ErrorKind kind) {
    return Problems.status(kind);
  }

  public static String version() {
    try (InputStream in = KilnServer.class.getResourceAsStream("version.properties")) {
      var p = new Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "dev");
    } catch (IOException e) {
      return "dev";
    }
  }
}
