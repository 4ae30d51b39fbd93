package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.error.Checks;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.inference.InferenceResponse;
import dev.kiln.core.inference.InferenceService;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.registry.Lease;
import dev.kiln.core.registry.ModelState;
import dev.kiln.core.registry.VersionStatus;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * The simple API of KServe v1 / TensorFlow Serving's REST "row" format: {@code POST
 * /v1/models/{m}:predict} with {@code {"instances": [...]}}. An instance is a row as an array
 * (nested or flat), or an object: of named features when the model's input declares feature names,
 * or of input names for multi-input models. Each prediction is the row of the single output, or an
 * object of outputs when there are several; an INT64 output with labels answers with the label.
 */
public final class V1Routes {
  private final InferenceService service;
  private final Endpoints endpoints;

  public V1Routes(InferenceService service, Endpoints endpoints) {
    this.service = service;
    this.endpoints = endpoints;
  }

  public void register(RouteTable r) {
    r.post("/v1/models/{spec}", endpoints.infer("v1", this::predict));
    r.post("/v1/models/{m}/versions/{spec}", endpoints.infer("v1", this::predict));
    r.get("/v1/models/{m}", endpoints.wrap(this::status));
  }

  private void predict(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    var params = req.path().pathParameters();
    String spec = params.get("spec");
    int colon = spec.lastIndexOf(':');
    if (colon < 0 || !spec.substring(colon + 1).equals("predict")) {
      throw KilnException.of(
          ErrorKind.MODEL_NOT_FOUND, "unknown verb in '%s'; use /v1/models/NAME:predict", spec);
    }
    String name;
    OptionalLong version = OptionalLong.empty();
    if (params.first("m").isPresent()) {
      name = params.get("m");
      version = V2Routes.parseVersion(spec.substring(0, colon));
    } else {
      name = spec.substring(0, colon);
    }
    c.model = name;
    byte[] body = endpoints.body(req);
    long start = System.nanoTime();
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(body);
    } catch (IOException e) {
      throw Json.malformed(e);
    }
    Checks.requireInput(root != null && root.isObject(), "the request body must be a JSON object");
    JsonNode instances = root.get("instances");
    Checks.requireInput(
        instances != null && instances.isArray() && !instances.isEmpty(),
        "instances: a non-empty array is required");
    InferenceResponse response;
    ModelSignature sig;
    int rows;
    try (Lease lease = service.acquire(name, version)) {
      c.version = Long.toString(lease.version());
      sig = lease.signature();
      Map<String, Tensor> inputs = V1Instances.toTensors(instances, sig);
      rows = (int) inputs.values().iterator().next().batchSize();
      response = service.infer(lease, new InferenceRequest(null, inputs, List.of(), Map.of()));
    }
    double totalMs = (System.nanoTime() - start) / 1e6;
    int n = rows;
    Json.send(res, 200, g -> writePredictions(g, response, sig, n, totalMs));
  }

  private static void writePredictions(
      JsonGenerator g, InferenceResponse r, ModelSignature sig, int rows, double totalMs)
      throws IOException {
    g.writeStartObject();
    g.writeArrayFieldStart("predictions");
    List<Map.Entry<String, Tensor>> outs = new ArrayList<>(r.outputs().entrySet());
    for (int row = 0; row < rows; row++) {
      if (outs.size() == 1) {
        writeRow(g, outs.getFirst().getValue(), sig, row, rows);
      } else {
        g.writeStartObject();
        for (var e : outs) {
          g.writeFieldName(e.getKey());
          writeRow(g, e.getValue(), sig, row, rows);
        }
        g.writeEndObject();
      }
    }
    g.writeEndArray();
    g.writeStringField("model", r.model());
    g.writeStringField("version", Long.toString(r.version()));
    g.writeArrayFieldStart("prediction_ids");
    for (int i = 0; i < rows; i++) {
      g.writeString(UUID.randomUUID().toString());
    }
    g.writeEndArray();
    g.writeNumberField("inference_time_ms", totalMs);
    g.writeNumberField("queue_time_ms", r.queueMillis());
    g.writeNumberField("compute_time_ms", r.computeMillis());
    g.writeBooleanField("cached", r.cached());
    g.writeEndObject();
  }

  /** One row of an output: a scalar when the row holds one element, else a flat array. */
  private static void writeRow(JsonGenerator g, Tensor t, ModelSignature sig, int row, int rows)
      throws IOException {
    int per = t.size() / Math.max(1, rows);
    int from = row * per;
    List<String> labels = sig.output(t.name()).map(TensorSpec::labels).orElse(List.of());
    if (per == 1) {
      if (!labels.isEmpty() && t.datatype() == DataType.INT64) {
        long id = t.longs()[from];
        if (id >= 0 && id < labels.size()) {
          g.writeString(labels.get((int) id));
          return;
        }
      }
      TensorJson.writeElement(g, t, from);
    } else {
      TensorJson.writeData(g, t, from, from + per);
    }
  }

  private void status(ServerRequest req, ServerResponse res, Endpoints.Call c) {
    String name = V2Routes.model(req, c);
    List<VersionStatus> versions = service.registry().versions(name);
    String reason = service.registry().modelReason(name);
    Json.send(
        res,
        200,
        g -> {
          g.writeStartObject();
          g.writeStringField("name", name);
          g.writeArrayFieldStart("model_version_status");
          for (VersionStatus s : versions) {
            g.writeStartObject();
            g.writeStringField("version", Long.toString(s.version()));
            g.writeStringField(
                "state",
                switch (s.state()) {
                  case READY -> "AVAILABLE";
                  case LOADING -> "LOADING";
                  case UNAVAILABLE -> "END";
                });
            g.writeObjectFieldStart("status");
            g.writeStringField("error_code", s.state() == ModelState.READY ? "OK" : "UNAVAILABLE");
            g.writeStringField("error_message", s.reason());
            g.writeEndObject();
            g.writeEndObject();
          }
          g.writeEndArray();
          if (versions.isEmpty() && !reason.isEmpty()) {
            g.writeStringField("reason", reason);
          }
          g.writeEndObject();
        });
  }
}
