package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * The one place an {@link ErrorKind} becomes an HTTP status, and the RFC 9457 problem body. The
 * body also carries {@code error} (the detail), which is the field Triton's and KServe's clients
 * read.
 */
public final class Problems {
  private Problems() {}

  public static int status(ErrorKind kind) {
    return switch (kind) {
      case INVALID_INPUT -> 400;
      case UNAUTHORIZED -> 401;
      case MODEL_NOT_FOUND, NOT_FOUND -> 404;
      case METHOD_NOT_ALLOWED -> 405;
      case CONFLICT -> 409;
      case PAYLOAD_TOO_LARGE -> 413;
      case OVERLOADED -> 429;
      case INTERNAL -> 500;
      case UNSUPPORTED -> 501;
      case MODEL_NOT_READY -> 503;
      case DEADLINE_EXCEEDED -> 504;
    };
  }

  static String title(ErrorKind kind) {
    return switch (kind) {
      case INVALID_INPUT -> "Invalid input";
      case UNAUTHORIZED -> "Unauthorized";
      case MODEL_NOT_FOUND -> "Model not found";
      case NOT_FOUND -> "Not found";
      case METHOD_NOT_ALLOWED -> "Method not allowed";
      case CONFLICT -> "Not allowed in this mode";
      case PAYLOAD_TOO_LARGE -> "Payload too large";
      case OVERLOADED -> "Overloaded";
      case INTERNAL -> "Internal server error";
      case UNSUPPORTED -> "Not supported";
      case MODEL_NOT_READY -> "Model not ready";
      case DEADLINE_EXCEEDED -> "Deadline exceeded";
    };
  }

  /** Writes a problem response. {@code model} may be null. */
  static void send(ServerResponse res, KilnException e, String model, String requestId) {
    byte[] body = body(e, model, requestId);
    res.status(status(e.kind()));
    res.header(HeaderNames.CONTENT_TYPE, "application/problem+json");
    if (e.kind() == ErrorKind.OVERLOADED) {
      res.header(HeaderNames.RETRY_AFTER, "1");
    }
    res.send(body);
  }

  /** The problem document. {@code model} may be null. */
  static byte[] body(KilnException e, String model, String requestId) {
    int status = status(e.kind());
    String detail =
        e.kind() == ErrorKind.INTERNAL
            ? "unexpected error; see the server log for request " + requestId
            : e.getMessage();
    var out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField(
          "type", "urn:kiln:problem:" + e.kind().name().toLowerCase(Locale.ROOT).replace('_', '-'));
      g.writeStringField("title", title(e.kind()));
      g.writeNumberField("status", status);
      g.writeStringField("detail", detail);
      if (model != null) {
        g.writeStringField("model", model);
      }
      g.writeStringField("requestId", requestId);
      g.writeStringField("error", detail);
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return out.toByteArray();
  }
}
