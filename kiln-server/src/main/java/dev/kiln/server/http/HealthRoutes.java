package dev.kiln.server.http;

import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.registry.ModelState;
import dev.kiln.core.registry.VersionStatus;
import dev.kiln.core.time.Ticker;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;

/**
 * {@code GET /health}: one JSON answer for people and dashboards (status, version, uptime, models
 * loaded and failed with reasons, dependencies). Probes should use /v2/health/live and /ready.
 */
public final class HealthRoutes {
  private final ModelRegistry registry;
  private final Endpoints endpoints;
  private final String version;
  private final Ticker ticker;
  private final long startNanos;
  private final java.util.function.Supplier<String> redis;

  public HealthRoutes(ModelRegistry registry, Endpoints endpoints, String version, Ticker ticker) {
    this(registry, endpoints, version, ticker, () -> "disabled");
  }

  /** {@code redis} says the L2 cache's state: disabled, up, degraded or down. */
  public HealthRoutes(
      ModelRegistry registry,
      Endpoints endpoints,
      String version,
      Ticker ticker,
      java.util.function.Supplier<String> redis) {
    this.redis = redis;
    this.registry = registry;
    this.endpoints = endpoints;
    this.version = version;
    this.ticker = ticker;
    this.startNanos = ticker.nanos();
  }

  public void register(RouteTable r) {
    r.get("/health", endpoints.wrap(this::health));
  }

  private void health(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    int loaded = 0;
    int failed = 0;
    List<VersionStatus> rows = registry.statuses();
    for (VersionStatus s : rows) {
      if (s.version() > 0 && s.state() == ModelState.READY) {
        loaded++;
      } else if (s.version() > 0 && s.state() == ModelState.UNAVAILABLE) {
        failed++;
      }
    }
    String redisState = redis.get();
    boolean redisBad = redisState.equals("down") || redisState.equals("degraded");
    String status = failed == 0 && !redisBad ? "ok" : "degraded";
    int nLoaded = loaded;
    int nFailed = failed;
    double uptime = (ticker.nanos() - startNanos) / 1e9;
    Json.send(
        res,
        200,
        g -> {
          g.writeStartObject();
          g.writeStringField("status", status);
          g.writeStringField("version", version);
          g.writeNumberField("uptime_seconds", Math.round(uptime * 1000) / 1000.0);
          g.writeObjectFieldStart("models");
          g.writeNumberField("loaded", nLoaded);
          g.writeNumberField("failed", nFailed);
          g.writeArrayFieldStart("versions");
          for (VersionStatus s : rows) {
            g.writeStartObject();
            g.writeStringField("name", s.model());
            if (s.version() > 0) {
              g.writeStringField("version", Long.toString(s.version()));
            }
            g.writeStringField("state", s.state().name());
            if (!s.reason().isEmpty()) {
              g.writeStringField("reason", s.reason());
            }
            g.writeNumberField("load_ms", s.loadMillis());
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeEndObject();
          g.writeObjectFieldStart("dependencies");
          g.writeStringField("redis", redisState);
          g.writeStringField("database", "disabled");
          g.writeEndObject();
          if (redisBad) {
            g.writeArrayFieldStart("warnings");
            g.writeString(
                "redis is "
                    + redisState
                    + ": the prediction cache serves from its in-process tier (L1) only");
            g.writeEndArray();
          }
          g.writeEndObject();
        });
  }
}
