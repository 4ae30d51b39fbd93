package dev.kiln.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in inference server for tests: answers KServe v2 metadata and infer, and v1 predict, on
 * 127.0.0.1 with a virtual thread per exchange. It can stall every response for a while, once,
 * starting some time after the first infer request: the pause a GC or a lock convoy causes.
 */
final class StubServer implements AutoCloseable {
  private final HttpServer server;
  private final AtomicLong infers = new AtomicLong();
  private volatile long stallAfterNanos = -1;
  private volatile long stallNanos;
  private volatile long stallFrom = Long.MAX_VALUE;
  private volatile long stallUntil = Long.MIN_VALUE;

  StubServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/v2/models/", this::v2);
    server.createContext("/v1/models/", this::v1);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  long infers() {
    return infers.get();
  }

  /** Holds every response arriving in [first request + after, + length) until the window ends. */
  StubServer stallOnce(Duration after, Duration length) {
    stallAfterNanos = after.toNanos();
    stallNanos = length.toNanos();
    return this;
  }

  private void v2(HttpExchange ex) throws IOException {
    try (ex) {
      if (ex.getRequestMethod().equals("GET")) {
        send(
            ex,
            "{\"name\":\"m\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,4]}],"
                + "\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[-1]}]}");
        return;
      }
      int rows = countRows(ex);
      pause();
      send(
          ex,
          "{\"model_name\":\"m\",\"parameters\":{\"queue_time_ms\":0.05,\"compute_time_ms\":0.2},"
              + "\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":["
              + rows
              + "],\"data\":[0.5]}]}");
    }
  }

  private void v1(HttpExchange ex) throws IOException {
    try (ex) {
      countRows(ex);
      pause();
      send(ex, "{\"predictions\":[0.5],\"queue_time_ms\":0.05,\"compute_time_ms\":0.2}");
    }
  }

  private int countRows(HttpExchange ex) throws IOException {
    ex.getRequestBody().readAllBytes();
    long n = infers.incrementAndGet();
    if (n == 1 && stallAfterNanos >= 0) {
      long now = System.nanoTime();
      stallFrom = now + stallAfterNanos;
      stallUntil = stallFrom + stallNanos;
    }
    return 1;
  }

  private void pause() {
    long now = System.nanoTime();
    if (now >= stallFrom && now < stallUntil) {
      try {
        Thread.sleep(Duration.ofNanos(stallUntil - now));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void send(HttpExchange ex, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(200, b.length);
    ex.getResponseBody().write(b);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
