package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.inference.InferenceResponse;
import dev.kiln.core.inference.InferenceService;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.registry.Lease;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.registry.ModelState;
import dev.kiln.core.registry.VersionStatus;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * KServe v2 / Open Inference Protocol REST, with Triton's binary tensor data extension: a request
 * whose {@code Inference-Header-Content-Length} header is set holds that many bytes of JSON, then
 * the inputs' raw bytes in order; outputs asked for with {@code binary_data: true} come back the
 * same way.
 */
public final class V2Routes {
  static final HeaderName HEADER_LENGTH = HeaderNames.create("Inference-Header-Content-Length");

  private final InferenceService service;
  private final ModelRegistry registry;
  private final Endpoints endpoints;
  private final String version;
  private final boolean strictReadiness;

  public V2Routes(
      InferenceService service, Endpoints endpoints, String version, boolean strictReadiness) {
    this.service = service;
    this.registry = service.registry();
    this.endpoints = endpoints;
    this.version = version;
    this.strictReadiness = strictReadiness;
  }

  public void register(RouteTable r) {
    r.get("/v2/health/live", endpoints.wrap((req, res, c) -> Json.send(res, 200, g -> live(g))));
    r.get("/v2/health/ready", endpoints.wrap(this::ready));
    r.get("/v2", endpoints.wrap((req, res, c) -> Json.send(res, 200, this::serverMetadata)));
    r.get("/v2/models/{m}", endpoints.wrap(this::metadata));
    r.get("/v2/models/{m}/versions/{v}", endpoints.wrap(this::metadata));
    r.get("/v2/models/{m}/ready", endpoints.wrap(this::modelReady));
    r.get("/v2/models/{m}/versions/{v}/ready", endpoints.wrap(this::modelReady));
    r.post("/v2/models/{m}/infer", endpoints.infer("v2", this::infer));
    r.post("/v2/models/{m}/versions/{v}/infer", endpoints.infer("v2", this::infer));
  }

  private static void live(JsonGenerator g) throws IOException {
    g.writeStartObject();
    g.writeBooleanField("live", true);
    g.writeEndObject();
  }

  private void ready(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    boolean ready = !strictReadiness || registry.allReady();
    Json.send(
        res,
        ready ? 200 : 503,
        g -> {
          g.writeStartObject();
          g.writeBooleanField("ready", ready);
          g.writeEndObject();
        });
  }

  private void serverMetadata(JsonGenerator g) throws IOException {
    g.writeStartObject();
    g.writeStringField("name", "kiln");
    g.writeStringField("version", version);
    g.writeArrayFieldStart("extensions");
    g.writeString("binary_tensor_data");
    g.writeString("model_repository");
    g.writeEndArray();
    g.writeEndObject();
  }

  static String model(ServerRequest req, Endpoints.Call c) {
    c.model = req.path().pathParameters().get("m");
    return c.model;
  }

  static OptionalLong version(ServerRequest req) {
    var v = req.path().pathParameters().first("v");
    return v.isEmpty() || v.get().isEmpty() ? OptionalLong.empty() : parseVersion(v.get());
  }

  /** A version from a path: a positive integer, else no such version (404, as Triton). */
  static OptionalLong parseVersion(String v) {
    try {
      long n = Long.parseLong(v);
      if (n >= 1) {
        return OptionalLong.of(n);
      }
    } catch (NumberFormatException e) {
      // fall through: not a version Kiln could have
    }
    throw KilnException.of(
        dev.kiln.core.error.ErrorKind.MODEL_NOT_FOUND, "version '%s' is not a positive integer", v);
  }

  private void metadata(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    String name = model(req, c);
    OptionalLong v = version(req);
    List<VersionStatus> all = registry.versions(name);
    VersionStatus status = registry.status(name, v);
    Json.send(
        res,
        200,
        g -> {
          g.writeStartObject();
          g.writeStringField("name", name);
          g.writeArrayFieldStart("versions");
          for (VersionStatus s : all) {
            if (s.state() == ModelState.READY) {
              g.writeString(Long.toString(s.version()));
            }
          }
          g.writeEndArray();
          ModelSignature sig = status.signature().orElse(null);
          g.writeStringField("platform", sig == null ? "" : sig.platform());
          g.writeArrayFieldStart("inputs");
          if (sig != null) {
            for (TensorSpec s : sig.inputs()) {
              writeSpec(g, s);
            }
          }
          g.writeEndArray();
          g.writeArrayFieldStart("outputs");
          if (sig != null) {
            for (TensorSpec s : sig.outputs()) {
              writeSpec(g, s);
            }
          }
          g.writeEndArray();
          // Kiln extensions: why a model is not serving, and its batch limit.
          g.writeStringField("state", status.state().name());
          if (!status.reason().isEmpty()) {
            g.writeStringField("reason", status.reason());
          }
          if (sig != null) {
            g.writeNumberField("max_batch_size", sig.maxBatchSize());
          }
          g.writeEndObject();
        });
  }

  private static void writeSpec(JsonGenerator g, TensorSpec s) throws IOException {
    g.writeStartObject();
    g.writeStringField("name", s.name());
    g.writeStringField("datatype", s.datatype().name());
    g.writeFieldName("shape");
    TensorJson.writeShape(g, s.shape());
    if (!s.features().isEmpty() || !s.labels().isEmpty()) {
      g.writeObjectFieldStart("parameters");
      if (!s.features().isEmpty()) {
        g.writeArrayFieldStart("features");
        for (String f : s.features()) {
          g.writeString(f);
        }
        g.writeEndArray();
      }
      if (!s.labels().isEmpty()) {
        g.writeArrayFieldStart("labels");
        for (String l : s.labels()) {
          g.writeString(l);
        }
        g.writeEndArray();
      }
      g.writeEndObject();
    }
    g.writeEndObject();
  }

  private void modelReady(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    String name = model(req, c);
    VersionStatus status = registry.status(name, version(req));
    boolean ready = status.state() == ModelState.READY;
    Json.send(
        res,
        ready ? 200 : 503,
        g -> {
          g.writeStartObject();
          g.writeStringField("name", name);
          g.writeBooleanField("ready", ready);
          if (!ready && !status.reason().isEmpty()) {
            g.writeStringField("reason", status.reason());
          }
          g.writeEndObject();
        });
  }

  private void infer(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    String name = model(req, c);
    OptionalLong v = version(req);
    byte[] body = endpoints.body(req);
    int headerLength = headerLength(req, body.length);
    V2Codec.Decoded decoded;
    InferenceResponse response;
    try (Lease lease = service.acquire(name, v)) {
      c.version = Long.toString(lease.version());
      decoded = V2Codec.decode(body, headerLength);
      response = service.infer(lease, decoded.request());
    }
    sendResponse(res, response, decoded);
  }

  private static int headerLength(ServerRequest req, int bodyLength) {
    var h = req.headers().first(HEADER_LENGTH);
    if (h.isEmpty()) {
      return -1;
    }
    try {
      int n = Integer.parseInt(h.get().trim());
      if (n < 0 || n > bodyLength) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw KilnException.invalid(
          "Inference-Header-Content-Length: '%s' is not a length within the %d-byte body",
          h.get(), bodyLength);
    }
  }

  private static void sendResponse(
      ServerResponse res, InferenceResponse r, V2Codec.Decoded decoded) {
    List<byte[]> binaries = new ArrayList<>();
    byte[] json =
        Json.bytes(g -> {
          g.writeStartObject();
          g.writeStringField("model_name", r.model());
          g.writeStringField("model_version", Long.toString(r.version()));
          if (r.id() != null) {
            g.writeStringField("id", r.id());
          }
          g.writeObjectFieldStart("parameters");
          g.writeNumberField("queue_time_ms", r.queueMillis());
          g.writeNumberField("compute_time_ms", r.computeMillis());
          g.writeBooleanField("cached", r.cached());
          g.writeEndObject();
          g.writeArrayFieldStart("outputs");
          for (Map.Entry<String, Tensor> e : r.outputs().entrySet()) {
            Tensor t = e.getValue();
            boolean binary =
                decoded.binaryOutputs().getOrDefault(e.getKey(), decoded.binaryDefault());
            g.writeStartObject();
            g.writeStringField("name", e.getKey());
            g.writeStringField("datatype", t.datatype().name());
            g.writeFieldName("shape");
            TensorJson.writeShape(g, t.shape());
            if (binary) {
              byte[] bytes = TensorJson.binary(t);
              binaries.add(bytes);
              g.writeObjectFieldStart("parameters");
              g.writeNumberField("binary_data_size", bytes.length);
              g.writeEndObject();
            } else {
              g.writeFieldName("data");
              TensorJson.writeData(g, t, 0, t.size());
            }
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeEndObject();
        });
    res.status(200);
    if (binaries.isEmpty()) {
      res.header(HeaderNames.CONTENT_TYPE, "application/json");
      res.send(json);
      return;
    }
    var out =
        new ByteArrayOutputStream(json.length + binaries.stream().mapToInt(b -> b.length).sum());
    out.writeBytes(json);
    binaries.forEach(out::writeBytes);
    res.header(HEADER_LENGTH, Integer.toString(json.length));
    res.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
    res.send(out.toByteArray());
  }
}
