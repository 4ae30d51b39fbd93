package dev.kiln.server;

import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code server.max-body-bytes}: larger bodies are refused with 413, declared length or not. */
class BodyLimitIT {
  private static final String INFER = "/v2/models/" + RF + "/infer";

  @TempDir static Path repository;
  static TestServer server;
  static Fixture rf;

  @BeforeAll
  static void start() {
    server = TestServer.withModels(repository, Map.of("server.max-body-bytes", "2048"), RF);
    rf = Fixture.load(RF);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void infer_bodyOverLimit_is413NamingLimit() {
    String body = rf.v2FlatRequest().toString();
    assertThat(body.length()).isGreaterThan(2048);
    assertProblem(server.post(INFER, body), 413, "server.max-body-bytes", "2048");
  }

  @Test
  void infer_chunkedBodyOverLimit_is413NamingLimit() {
    byte[] body = rf.v2FlatRequest().toString().getBytes(StandardCharsets.UTF_8);
    // A publisher of unknown length makes the client send it chunked, without Content-Length.
    var request =
        server
            .request(INFER)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)));
    assertProblem(server.send(request), 413, "server.max-body-bytes", "2048");
  }

  @Test
  void infer_bodyUnderLimit_isServed() {
    var data = TestServer.MAPPER.createArrayNode();
    rf.input().get(0).forEach(data::add);
    String body = Fixture.v2Request(new long[] {1, 30}, data).toString();
    assertThat(body.length()).isLessThan(2048);
    var r = server.post(INFER, body);
    assertThat(r.status()).as("%s", r).isEqualTo(200);
  }
}
