package dev.kiln.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.config.ModelControl;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.registry.ModelState;
import dev.kiln.core.registry.VersionStatus;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Triton's model repository extension. The index is read-only and always on; load and unload work
 * only with {@code --model-control=explicit} (409 otherwise, as Triton refuses them too) and, when
 * {@code server.admin-token} is set, need {@code Authorization: Bearer <token>} (401 otherwise).
 */
public final class RepositoryRoutes {
  private final ModelRegistry registry;
  private final Endpoints endpoints;
  private final ModelControl mode;
  private final byte[] adminToken;

  public RepositoryRoutes(
      ModelRegistry registry, Endpoints endpoints, ModelControl mode, String adminToken) {
    this.registry = registry;
    this.endpoints = endpoints;
    this.mode = mode;
    this.adminToken = adminToken.getBytes(StandardCharsets.UTF_8);
  }

  public void register(RouteTable r) {
    r.post("/v2/repository/index", endpoints.wrap(this::index));
    r.post("/v2/repository/models/{m}/load", endpoints.wrap(this::load));
    r.post("/v2/repository/models/{m}/unload", endpoints.wrap(this::unload));
  }

  private void index(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    byte[] body = endpoints.body(req);
    boolean readyOnly = false;
    if (body.length > 0) {
      try {
        JsonNode n = Json.MAPPER.readTree(body);
        readyOnly = n != null && n.path("ready").asBoolean(false);
      } catch (IOException e) {
        throw Json.malformed(e);
      }
    }
    boolean onlyReady = readyOnly;
    Json.send(
        res,
        200,
        g -> {
          g.writeStartArray();
          for (VersionStatus s : registry.statuses()) {
            if (onlyReady && s.state() != ModelState.READY) {
              continue;
            }
            g.writeStartObject();
            g.writeStringField("name", s.model());
            if (s.version() > 0) {
              g.writeStringField("version", Long.toString(s.version()));
            }
            g.writeStringField("state", s.state().name());
            g.writeStringField("reason", s.reason());
            g.writeEndObject();
          }
          g.writeEndArray();
        });
  }

  private void load(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    String name = admin(req, c);
    endpoints.body(req);
    registry.load(name);
    res.status(200).header(HeaderNames.CONTENT_TYPE, "application/json").send("{}");
  }

  private void unload(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    String name = admin(req, c);
    endpoints.body(req);
    registry.unload(name);
    res.status(200).header(HeaderNames.CONTENT_TYPE, "application/json").send("{}");
  }

  private String admin(ServerRequest req, Endpoints.Call c) {
    String name = V2Routes.model(req, c);
    if (adminToken.length > 0) {
      String auth = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
      byte[] given =
          (auth.startsWith("Bearer ") ? auth.substring(7).trim() : "")
              .getBytes(StandardCharsets.UTF_8);
      if (!MessageDigest.isEqual(given, adminToken)) {
        throw new KilnException(
            ErrorKind.UNAUTHORIZED,
            "repository load/unload needs Authorization: Bearer <admin token>");
      }
    }
    if (mode != ModelControl.EXPLICIT) {
      throw KilnException.of(
          ErrorKind.CONFLICT,
          "explicit model load/unload is not allowed in model-control mode %s; start with"
              + " --model-control=explicit",
          mode.name().toLowerCase());
    }
    return name;
  }
}
