package dev.kiln.server.http;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** {@code GET /metrics}: every registered metric in the Prometheus text format (0.0.4). */
public final class MetricsRoutes {
  private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

  private final PrometheusRegistry registry;
  private final Endpoints endpoints;

  public MetricsRoutes(PrometheusRegistry registry, Endpoints endpoints) {
    this.registry = registry;
    this.endpoints = endpoints;
  }

  public void register(RouteTable r) {
    r.get("/metrics", endpoints.wrap(this::metrics));
  }

  private void metrics(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    var out = new ByteArrayOutputStream(16 * 1024);
    try {
      WRITER.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    res.status(200);
    res.header(HeaderNames.CONTENT_TYPE, WRITER.getContentType());
    res.send(out.toByteArray());
  }
}
