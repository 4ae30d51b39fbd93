package dev.kiln.bench;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

/**
 * {@code --client jdk}: the JDK's {@link HttpClient} (HTTP/1.1), kept for HTTPS targets and as a
 * reference. It decides itself how many connections to open (at most one per worker). It reads
 * bodies whole, so streamed responses get no per-chunk timings through it.
 */
final class JdkTransport implements Transport {
  private final HttpClient client;
  private final List<HttpRequest> requests;

  JdkTransport(HttpClient client, Payload payload, java.time.Duration timeout) {
    this.client = client;
    this.requests =
        payload.bodies().stream()
            .map(b -> {
              var r =
                  HttpRequest.newBuilder(payload.uri())
                      .timeout(timeout)
                      .header("Content-Type", payload.contentType());
              if (payload.jsonHeaderLength() >= 0) {
                r.header(
                    "Inference-Header-Content-Length",
                    Integer.toString(payload.jsonHeaderLength()));
              }
              return r.POST(HttpRequest.BodyPublishers.ofByteArray(b)).build();
            })
            .toList();
  }

  @Override
  public Lane lane() {
    return new Lane() {
      @Override
      public Response exchange(long index, ResponseReader.BodyListener listener)
          throws IOException, InterruptedException {
        HttpResponse<byte[]> res =
            client.send(
                requests.get((int) (index % requests.size())),
                HttpResponse.BodyHandlers.ofByteArray());
        byte[] body = res.body();
        listener.body(body, 0, body.length, System.nanoTime());
        return new Response(res.statusCode(), body, false);
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public long connectionsOpened() {
    return -1;
  }

  @Override
  public void close() {}
}
