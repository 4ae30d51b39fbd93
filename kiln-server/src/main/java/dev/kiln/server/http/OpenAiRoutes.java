package dev.kiln.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.registry.Lease;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.llm.TextGenerator;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * The OpenAI-compatible API for the models of the {@code kiln-llm} runtime: {@code GET /v1/models},
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}, streamed as server-sent
 * events with {@code "stream": true}. Errors have OpenAI's shape ({@link OpenAiWire}). Every
 * response carries Kiln's timings in a {@code kiln} field.
 *
 * <p>None of these paths collides with KServe v1's ({@code /v1/models/{m}...}): {@code /v1/models}
 * without a name is only this list.
 */
public final class OpenAiRoutes {
  private static final System.Logger LOG = System.getLogger(OpenAiRoutes.class.getName());

  private final ModelRegistry registry;
  private final Endpoints endpoints;
  private final LlmMetrics metrics; // null: not measured

  public OpenAiRoutes(ModelRegistry registry, Endpoints endpoints) {
    this(registry, endpoints, null);
  }

  public OpenAiRoutes(ModelRegistry registry, Endpoints endpoints, LlmMetrics metrics) {
    this.registry = registry;
    this.endpoints = endpoints;
    this.metrics = metrics;
  }

  /** Whether {@code path} is one of these routes' (its errors are OpenAI's shape). */
  static boolean owns(String path) {
    return path.equals("/v1/models")
        || path.equals("/v1/completions")
        || path.equals("/v1/chat/completions");
  }

  public void register(RouteTable r) {
    r.get(
        "/v1/models",
        endpoints.wrap((req, res, c) -> guarded(res, c, () -> models(res)), Endpoints.OPENAI));
    r.post(
        "/v1/completions",
        endpoints.infer(
            "openai",
            (req, res, c) -> guarded(res, c, () -> complete(req, res, c, false)),
            Endpoints.OPENAI));
    r.post(
        "/v1/chat/completions",
        endpoints.infer(
            "openai",
            (req, res, c) -> guarded(res, c, () -> complete(req, res, c, true)),
            Endpoints.OPENAI));
  }

  private interface Body {
    void run() throws IOException;
  }

  /** Answers client errors and Kiln's errors in OpenAI's shape; the rest is Endpoints' to log. */
  private static void guarded(ServerResponse res, Endpoints.Call c, Body body) throws IOException {
    try {
      body.run();
    } catch (OpenAiRequest.Invalid e) {
      c.status = 400;
      LOG.log(Level.DEBUG, "request {0}: {1}", c.requestId, e.getMessage());
      OpenAiWire.sendError(res, 400, e.getMessage(), e.param, e.code);
    } catch (KilnException e) {
      int status = Problems.status(e.kind());
      c.status = status;
      if (status >= 500) {
        LOG.log(Level.WARNING, "request " + c.requestId + " failed: " + e.getMessage(), e);
      } else {
        LOG.log(Level.DEBUG, "request {0}: {1}", c.requestId, e.getMessage());
      }
      OpenAiWire.sendError(res, e, c.requestId);
    }
  }

  private void models(ServerResponse res) {
    record Entry(String id, long created) {}
    List<Entry> models = new ArrayList<>();
    for (String name : registry.modelNames()) {
      try (Lease lease = registry.acquire(name, OptionalLong.empty())) {
        if (lease.loaded() instanceof TextGenerator g) {
          models.add(new Entry(name, g.createdEpochSeconds()));
        }
      } catch (KilnException e) {
        // Not ready (loading, failed, unloaded): not listed, as OpenAI lists what it can serve.
      }
    }
    Json.send(
        res,
        200,
        g -> {
          g.writeStartObject();
          g.writeStringField("object", "list");
          g.writeArrayFieldStart("data");
          for (Entry m : models) {
            g.writeStartObject();
            g.writeStringField("id", m.id());
            g.writeStringField("object", "model");
            g.writeNumberField("created", m.created());
            g.writeStringField("owned_by", "kiln");
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeEndObject();
        });
  }

  private void complete(ServerRequest req, ServerResponse res, Endpoints.Call c, boolean chat)
      throws IOException {
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(endpoints.body(req));
    } catch (IOException e) {
      throw Json.malformed(e);
    }
    OpenAiRequest r = OpenAiRequest.parse(root, chat);
    c.model = r.model();
    try (Lease lease = registry.acquire(r.model(), OptionalLong.empty())) {
      c.version = Long.toString(lease.version());
      if (!(lease.loaded() instanceof TextGenerator generator)) {
        throw new OpenAiRequest.Invalid(
            "model",
            "model_not_supported",
            "model '" + r.model() + "' is not a text generation model");
      }
      int[] prompt = generator.encode(r.prompt());
      int maxTokens =
          r.maxTokens() != null
              ? r.maxTokens()
              : Math.max(1, generator.contextLength() - prompt.length);
      var options =
          new TextGenerator.Options(
              maxTokens,
              r.temperature(),
              r.topK(),
              r.topP(),
              r.seed(),
              r.stop(),
              r.repetitionPenalty(),
              r.presencePenalty(),
              r.frequencyPenalty(),
              r.logprobs());
      var reply =
          new OpenAiWire.Reply(
              (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", ""),
              chat,
              r.model(),
              System.currentTimeMillis() / 1000);
      long start = System.nanoTime();
      TextGenerator.Result result;
      if (r.stream()) {
        result = stream(res, c, generator, prompt, options, reply, r.includeUsage());
      } else {
        result = generator.generate(prompt, options, TextGenerator.Listener.NONE);
        byte[] body = Json.bytes(g -> reply.writeWhole(g, result));
        res.header(io.helidon.http.HeaderNames.CONTENT_TYPE, "application/json");
        res.send(body);
      }
      if (metrics != null && result != null) {
        metrics.observe(r.model(), result, System.nanoTime() - start);
      }
    }
  }

  /**
   * Server-sent events: one {@code data:} event per text delta, flushed at once, then one with the
   * finish reason, the usage (when asked) and {@code [DONE]}. Nothing is written before the first
   * token, so a full queue or a prompt too long is still a plain JSON error with its status. When a
   * write fails (the client went away), the listener says so and generation stops at that token.
   */
  private static TextGenerator.Result stream(
      ServerResponse res,
      Endpoints.Call c,
      TextGenerator generator,
      int[] prompt,
      TextGenerator.Options options,
      OpenAiWire.Reply reply,
      boolean includeUsage)
      throws IOException {
    var sse = new OpenAiWire.Sse(res);
    TextGenerator.Result result;
    try {
      boolean logprobs = options.logprobs() >= 0;
      result =
          generator.generate(
              prompt,
              options,
              new TextGenerator.Listener() {
                @Override
                public boolean onText(String delta) {
                  return onDelta(delta, List.of());
                }

                @Override
                public boolean onDelta(String delta, List<TextGenerator.TokenLogprob> tokens) {
                  var lp = logprobs ? tokens : null;
                  return sse.event(g -> reply.writeChunk(g, delta, lp, sse.first()));
                }
              });
    } catch (KilnException e) {
      if (!sse.started()) {
        throw e;
      }
      LOG.log(Level.WARNING, "request " + c.requestId + " failed mid-stream: " + e.getMessage(), e);
      sse.event(g -> OpenAiWire.writeError(g, e, c.requestId));
      sse.close();
      return null;
    }
    if (result.finish() == TextGenerator.Finish.CANCELLED) {
      LOG.log(Level.DEBUG, "request {0}: client went away mid-stream", c.requestId);
      sse.close();
      return result;
    }
    boolean sent = sse.event(g -> reply.writeFinal(g, result, sse.first()));
    if (sent && includeUsage) {
      sent = sse.event(g -> reply.writeUsageChunk(g, result));
    }
    if (sent) {
      sse.done();
    }
    sse.close();
    return result;
  }
}
