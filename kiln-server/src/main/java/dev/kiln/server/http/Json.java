package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Jackson set up once for the wire: NaN literals readable (so we can reject them by name). */
final class Json {
  static final JsonFactory FACTORY =
      JsonFactory.builder()
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .enable(com.fasterxml.jackson.core.StreamReadFeature.USE_FAST_DOUBLE_PARSER)
          .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
          .streamReadConstraints(
              StreamReadConstraints.builder().maxNestingDepth(64).maxStringLength(64 << 20).build())
          .build();
  static final ObjectMapper MAPPER = JsonMapper.builder(FACTORY).build();

  private Json() {}

  /** A 400 for unparseable JSON, with the position and without Jackson's internals. */
  static dev.kiln.core.error.KilnException malformed(IOException e) {
    if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j) {
      var loc = j.getLocation();
      String where =
          loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
      String msg = j.getOriginalMessage();
      int cut = msg.indexOf(" (start marker at");
      return dev.kiln.core.error.KilnException.invalid(
          "malformed JSON%s: %s", where, cut > 0 ? msg.substring(0, cut) : msg);
    }
    return dev.kiln.core.error.KilnException.invalid("malformed JSON: %s", e.getMessage());
  }

  interface Writer {
    void write(JsonGenerator g) throws IOException;
  }

  static byte[] bytes(Writer w) {
    var out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      w.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static void send(ServerResponse res, int status, Writer w) {
    byte[] body = bytes(w);
    res.status(status);
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(body);
  }

  static void sendValue(ServerResponse res, int status, Object value) {
    try {
      byte[] body = MAPPER.writeValueAsBytes(value);
      res.status(status);
      res.header(HeaderNames.CONTENT_TYPE, "application/json");
      res.send(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
