package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The raw client against a hand-written server that misbehaves in the ways real ones do. */
class RawTransportIT {

  /** Reads one request (headers, then Content-Length bytes) off the socket. */
  private static String readRequest(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.append((char) b);
    }
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  @Test
  void exchange_serverClosedIdleKeepAlive_resendsOnceOnANewConnection() throws Exception {
    AtomicInteger accepted = new AtomicInteger();
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      // Answers one request per connection, keep-alive promised, then closes: as an idle timeout.
      Thread.ofPlatform()
          .daemon()
          .start(() -> {
            while (!server.isClosed()) {
              try (Socket s = server.accept()) {
                accepted.incrementAndGet();
                if (readRequest(s.getInputStream()) != null) {
                  s.getOutputStream()
                      .write(
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                              .getBytes(StandardCharsets.ISO_8859_1));
                }
              } catch (IOException e) {
                return;
              }
            }
          });
      Payload payload =
          Payload.forTest(
              URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v2/models/m/infer"),
              List.of("{}".getBytes(StandardCharsets.UTF_8)));
      try (RawTransport t = new RawTransport(payload, Duration.ofSeconds(10));
          Transport.Lane lane = t.lane()) {
        Transport.Response first = lane.exchange(0, ResponseReader.BodyListener.NONE);
        Thread.sleep(100); // let the server close its end
        Transport.Response second = lane.exchange(1, ResponseReader.BodyListener.NONE);

        assertThat(first.status()).isEqualTo(200);
        assertThat(second.status()).isEqualTo(200);
        assertThat(new String(second.body(), StandardCharsets.UTF_8)).isEqualTo("ok");
        assertThat(t.connectionsOpened()).isEqualTo(2);
        assertThat(accepted.get()).isEqualTo(2);
      }
    }
  }

  @Test
  void serialise_postWithHostTypeAndLength_asWrkSendsIt() {
    var b =
        RawTransport.serialise(
            URI.create("http://127.0.0.1:8080/v2/models/m%20x/infer?a=1"),
            "application/json",
            -1,
            "{\"k\":1}".getBytes(StandardCharsets.UTF_8));
    byte[] bytes = new byte[b.remaining()];
    b.duplicate().get(bytes);

    assertThat(new String(bytes, StandardCharsets.ISO_8859_1))
        .isEqualTo(
            "POST /v2/models/m%20x/infer?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                + "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"k\":1}");
  }

  @Test
  void serialise_binaryTensorBody_addsInferenceHeaderContentLength() {
    var b =
        RawTransport.serialise(
            URI.create("http://127.0.0.1:8080/v2/models/m/infer"),
            "application/octet-stream",
            7,
            "{\"k\":1}\0\0\0\0".getBytes(StandardCharsets.ISO_8859_1));
    byte[] bytes = new byte[b.remaining()];
    b.duplicate().get(bytes);

    assertThat(new String(bytes, StandardCharsets.ISO_8859_1))
        .isEqualTo(
            "POST /v2/models/m/infer HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                + "Content-Type: application/octet-stream\r\nContent-Length: 11\r\n"
                + "Inference-Header-Content-Length: 7\r\n\r\n{\"k\":1}\0\0\0\0");
  }
}
