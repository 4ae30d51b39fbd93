package dev.kiln.server.http;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.Arrays;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Wraps every route: gives the request an id, counts it in flight (for draining on shutdown),
 * limits the body, and turns every failure into a problem response. 4xx log at DEBUG, 5xx at
 * WARNING with the stack, each with the request id.
 */
public final class Endpoints {
  private static final System.Logger LOG = System.getLogger(Endpoints.class.getName());
  static final HeaderName REQUEST_ID = HeaderNames.create("X-Request-Id");

  private final long maxBodyBytes;
  private final int maxInFlight;
  private final dev.kiln.core.metrics.Metrics metrics;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger inferInFlight = new AtomicInteger();
  private final AtomicLong sequence = new AtomicLong();
  private final String prefix = UUID.randomUUID().toString().substring(0, 8);
  private volatile boolean draining;

  public Endpoints(long maxBodyBytes) {
    this(maxBodyBytes, Integer.MAX_VALUE, dev.kiln.core.metrics.Metrics.NONE);
  }

  public Endpoints(long maxBodyBytes, int maxInFlight, dev.kiln.core.metrics.Metrics metrics) {
    this.maxBodyBytes = maxBodyBytes;
    this.maxInFlight = maxInFlight;
    this.metrics = metrics;
  }

  /** A route body. {@code model} in the context is filled in when known, for the problem body. */
  @FunctionalInterface
  interface Endpoint {
    void handle(ServerRequest req, ServerResponse res, Call call) throws Exception;
  }

  /** How a family of routes writes an error: problem+json, or OpenAI's error object. */
  @FunctionalInterface
  interface ErrorBody {
    void send(ServerResponse res, KilnException e, Call call);
  }

  /** RFC 9457 problem+json, for the KServe, repository and health routes. */
  static final ErrorBody PROBLEM =
      (res, e, call) -> Problems.send(res, e, call.model, call.requestId);

  /** OpenAI's {@code {"error": {...}}}, for the OpenAI-compatible routes. */
  static final ErrorBody OPENAI = (res, e, call) -> OpenAiWire.sendError(res, e, call.requestId);

  /** Per-request context. */
  static final class Call {
    final String requestId;
    String model;
    String version = "";
    int status;

    Call(String requestId) {
      this.requestId = requestId;
    }
  }

  Handler wrap(Endpoint endpoint) {
    return wrap(endpoint, PROBLEM);
  }

  /** Every failure, including the server's own (draining, overload), answered by {@code errors}. */
  Handler wrap(Endpoint endpoint, ErrorBody errors) {
    return (req, res) -> {
      String id =
          req.headers()
              .first(REQUEST_ID)
              .filter(s -> !s.isBlank() && s.length() <= 128)
              .orElseGet(() -> prefix + "-" + sequence.incrementAndGet());
      res.header(REQUEST_ID, id);
      Call call = new Call(id);
      inFlight.incrementAndGet();
      try {
        if (draining) {
          throw new KilnException(ErrorKind.MODEL_NOT_READY, "the server is shutting down");
        }
        endpoint.handle(req, res, call);
      } catch (KilnException e) {
        if (Problems.status(e.kind()) >= 500) {
          LOG.log(Level.WARNING, "request " + id + " failed: " + e.getMessage(), e);
        } else {
          LOG.log(Level.DEBUG, "request {0}: {1}", id, e.getMessage());
        }
        sendProblem(res, e, call, errors);
      } catch (io.helidon.webserver.ServerConnectionException e) {
        // The client closed the connection before the answer was written: nobody to answer.
        LOG.log(Level.DEBUG, "request {0}: client went away: {1}", id, e.getMessage());
      } catch (UncheckedIOException e) {
        // The client went away or sent a broken stream: nothing useful to answer.
        LOG.log(Level.DEBUG, "request {0}: i/o: {1}", id, e.getMessage());
        sendProblem(
            res,
            KilnException.invalid("could not read the request: %s", e.getMessage()),
            call,
            errors);
      } catch (Exception | LinkageError | StackOverflowError e) {
        LOG.log(Level.WARNING, "request " + id + " failed unexpectedly", e);
        sendProblem(res, new KilnException(ErrorKind.INTERNAL, "unexpected", e), call, errors);
      } finally {
        inFlight.decrementAndGet();
      }
    };
  }

  /**
   * Wraps an inference route: counted against {@code server.max-in-flight} (over it, 429 with
   * Retry-After before the body is read) and measured for {@code kiln_requests_total} and the
   * end-to-end latency histogram. Health, metadata and metrics routes are not capped, so that a
   * server under overload can still be watched.
   */
  Handler infer(String protocol, Endpoint endpoint) {
    return infer(protocol, endpoint, PROBLEM);
  }

  /** As {@link #infer(String, Endpoint)}, with errors (429 over the cap too) by {@code errors}. */
  Handler infer(String protocol, Endpoint endpoint, ErrorBody errors) {
    Handler inner =
        wrap(
            (req, res, call) -> {
              long start = System.nanoTime();
              boolean admitted = inferInFlight.incrementAndGet() <= maxInFlight;
              try {
                if (!admitted) {
                  throw KilnException.of(
                      ErrorKind.OVERLOADED,
                      "%d inference requests in flight (server.max-in-flight); retry later",
                      maxInFlight);
                }
                endpoint.handle(req, res, call);
              } catch (KilnException e) {
                call.status = Problems.status(e.kind());
                throw e;
              } catch (Exception | Error e) {
                call.status = 500;
                throw e;
              } finally {
                inferInFlight.decrementAndGet();
                int status = call.status != 0 ? call.status : res.status().code();
                // Unknown names are the client's to choose: keep them out of the label values.
                String model = call.model == null || status == 404 ? "" : call.model;
                metrics.request(model, call.version, protocol, status, System.nanoTime() - start);
              }
            },
            errors);
    return inner;
  }

  /** Inference requests being served now. */
  public int inferInFlight() {
    return Math.max(0, inferInFlight.get());
  }

  /**
   * The fallback route, as a problem, or as an OpenAI error under the OpenAI routes' paths: 405
   * with {@code Allow} when {@code routes} take the path with other methods (a GET on
   * /v1/completions, a POST on /v2/models/X), else 404; both name the method and path.
   */
  public Handler notFound(RouteTable routes) {
    Endpoint noRoute =
        (req, res, c) -> {
          String what = req.prologue().method().text() + " " + req.path().path();
          Set<Method> allowed = routes.allowed(req.path());
          if (allowed.isEmpty()) {
            throw KilnException.of(ErrorKind.NOT_FOUND, "no route for %s", what);
          }
          String methods = allowed.stream().map(Method::text).collect(Collectors.joining(", "));
          res.header(HeaderNames.ALLOW, methods);
          throw KilnException.of(
              ErrorKind.METHOD_NOT_ALLOWED, "%s: this path takes %s", what, methods);
        };
    Handler problem = wrap(noRoute, PROBLEM);
    Handler openai = wrap(noRoute, OPENAI);
    return (req, res) -> (OpenAiRoutes.owns(req.path().path()) ? openai : problem).handle(req, res);
  }

  private static void sendProblem(
      ServerResponse res, KilnException e, Call call, ErrorBody errors) {
    if (!res.isSent()) {
      if (e.kind() == ErrorKind.PAYLOAD_TOO_LARGE) {
        // Do not let Helidon drain the rest of an oversized body to keep the connection alive.
        res.header(HeaderValues.CONNECTION_CLOSE);
      }
      errors.send(res, e, call);
    }
  }

  /**
   * Answers what Helidon rejects before any route runs, such as a declared Content-Length over the
   * limit, as a problem like every other error; other rejections keep Helidon's default answer.
   */
  public DirectHandler directHandler() {
    DirectHandler fallback = DirectHandler.defaultHandler();
    return (request, event, status, headers, message) -> {
      if (status.code() != Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
        return fallback.handle(request, event, status, headers, message);
      }
      String id = prefix + "-" + sequence.incrementAndGet();
      var declared = request.headers().contentLength();
      KilnException e = declared.isPresent() ? tooLarge(declared.getAsLong()) : tooLarge();
      LOG.log(Level.DEBUG, "request {0}: {1}", id, e.getMessage());
      boolean openai = OpenAiRoutes.owns(request.path());
      return DirectHandler.TransportResponse.builder()
          .status(Status.REQUEST_ENTITY_TOO_LARGE_413)
          .headers(headers)
          .header(
              HeaderNames.CONTENT_TYPE, openai ? "application/json" : "application/problem+json")
          .header(REQUEST_ID, id)
          .keepAlive(false)
          .entity(openai ? OpenAiWire.errorBody(e, id) : Problems.body(e, null, id))
          .build();
    };
  }

  /** Reads the whole body, refusing (413) more than the limit whether or not it says its length. */
  byte[] body(ServerRequest req) {
    var declared = req.headers().contentLength();
    if (declared.isPresent() && declared.getAsLong() > maxBodyBytes) {
      throw tooLarge(declared.getAsLong());
    }
    if (!req.content().hasEntity()) {
      return new byte[0];
    }
    try (InputStream in = req.content().inputStream()) {
      if (declared.isPresent()) {
        // The usual case: read straight into an array of the declared size. readNBytes(int)
        // would allocate 8 KB chunks and copy them into the result, for every request.
        byte[] bytes = new byte[(int) declared.getAsLong()];
        int n = in.readNBytes(bytes, 0, bytes.length);
        return n == bytes.length ? bytes : Arrays.copyOf(bytes, n);
      }
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
      if (bytes.length > maxBodyBytes) {
        throw tooLarge(bytes.length);
      }
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RequestException e) {
      // Helidon's own limit (one byte over ours) tripped on a body that did not declare its length.
      if (e.status().code() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
        throw tooLarge();
      }
      throw KilnException.invalid("could not read the request body: %s", e.getMessage());
    }
  }

  private KilnException tooLarge() {
    return KilnException.of(
        ErrorKind.PAYLOAD_TOO_LARGE,
        "request body exceeds server.max-body-bytes (%d)",
        maxBodyBytes);
  }

  private KilnException tooLarge(long size) {
    return KilnException.of(
        ErrorKind.PAYLOAD_TOO_LARGE,
        "request body of %d bytes exceeds server.max-body-bytes (%d)",
        size,
        maxBodyBytes);
  }

  public int inFlight() {
    return inFlight.get();
  }

  /** New requests are refused with 503 from now on; in-flight ones finish. */
  public void drain() {
    draining = true;
  }
}
