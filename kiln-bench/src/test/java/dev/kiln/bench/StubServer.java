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
  private volatile long delayNanos;
  private volatile boolean chunked;
  private volatile byte[] lastBody = new byte[0];

  StubServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/v2/models/", this::v2);
    server.createContext("/v1/models/", this::v1);
    server.createContext("/v1/completions", this::completions);
    server.createContext("/metrics", this::metrics);
    server.start();
  }

  private volatile double rssBaseBytes = -1;
  private volatile double rssBytesPerSecond;
  private volatile long rssSince;
  private final java.util.concurrent.ConcurrentLinkedQueue<Integer> rowsSeen =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.concurrent.ConcurrentLinkedQueue<String> promptsSeen =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  /**
   * Makes /metrics report {@code process_resident_memory_bytes} as {@code baseMb} plus {@code
   * mbPerSecond} for every second since this call, the way a leaking server's RSS grows. Without
   * it, /metrics answers 404.
   */
  StubServer rss(double baseMb, double mbPerSecond) {
    rssSince = System.nanoTime();
    rssBytesPerSecond = mbPerSecond * 1048576;
    rssBaseBytes = baseMb * 1048576;
    return this;
  }

  /** The prompt of each OpenAI completion request received, in order of arrival. */
  java.util.List<String> promptsSeen() {
    return java.util.List.copyOf(promptsSeen);
  }

  /** The first dimension of the shape of each v2 infer request received, in order of arrival. */
  java.util.List<Integer> rowsSeen() {
    return java.util.List.copyOf(rowsSeen);
  }

  private void metrics(HttpExchange ex) throws IOException {
    try (ex) {
      if (rssBaseBytes < 0) {
        ex.sendResponseHeaders(404, -1);
        return;
      }
      double rss = rssBaseBytes + rssBytesPerSecond * (System.nanoTime() - rssSince) / 1e9;
      byte[] b =
          ("# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  + "# TYPE process_resident_memory_bytes gauge\n"
                  + "process_resident_memory_bytes "
                  + String.format(java.util.Locale.ROOT, "%.6E", rss)
                  + "\nprocess_virtual_memory_bytes 1.0E10\n")
              .getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
    }
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

  /** Holds every infer response this long. */
  StubServer delay(Duration d) {
    delayNanos = d.toNanos();
    return this;
  }

  /** Sends infer responses with chunked transfer coding instead of a Content-Length. */
  StubServer chunked() {
    chunked = true;
    return this;
  }

  /** The body of the latest infer request. */
  byte[] lastBody() {
    return lastBody;
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

  /**
   * OpenAI completions. Streamed: {@value #TOKENS} text events, the first after {@value
   * #FIRST_TOKEN_MS} ms and the others {@value #TOKEN_GAP_MS} ms apart, each flushed as its own
   * chunk, then a usage event and [DONE]. Otherwise one JSON answer with usage.
   */
  private void completions(HttpExchange ex) throws IOException {
    try (ex) {
      String req = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      infers.incrementAndGet();
      lastBody = req.getBytes(StandardCharsets.UTF_8);
      String prompt =
          new com.fasterxml.jackson.databind.ObjectMapper().readTree(req).path("prompt").asText();
      promptsSeen.add(prompt);
      if (!req.contains("\"stream\":true")) {
        // prompt "tokens": its space-separated words
        send(
            ex,
            "{\"choices\":[{\"text\":\"a b c\"}],\"usage\":{\"prompt_tokens\":"
                + prompt.trim().split("\\s+").length
                + ",\"completion_tokens\":3}}");
        return;
      }
      ex.getResponseHeaders().set("Content-Type", "text/event-stream");
      ex.sendResponseHeaders(200, 0);
      var out = ex.getResponseBody();
      for (int i = 0; i < TOKENS; i++) {
        sleepMillis(i == 0 ? FIRST_TOKEN_MS : TOKEN_GAP_MS);
        out.write(
            ("data: {\"choices\":[{\"index\":0,\"text\":\" t" + i + "\"}]}\n\n")
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
      out.write(
          ("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":"
                  + TOKENS
                  + "}}\n\ndata: [DONE]\n\n")
              .getBytes(StandardCharsets.UTF_8));
    }
  }

  static final int TOKENS = 5;
  static final int FIRST_TOKEN_MS = 100;
  static final int TOKEN_GAP_MS = 20;

  private static void sleepMillis(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static final java.util.regex.Pattern SHAPE =
      java.util.regex.Pattern.compile("\"shape\":\\[(\\d+)");

  private int countRows(HttpExchange ex) throws IOException {
    lastBody = ex.getRequestBody().readAllBytes();
    var m = SHAPE.matcher(new String(lastBody, StandardCharsets.UTF_8));
    if (m.find()) {
      rowsSeen.add(Integer.parseInt(m.group(1)));
    }
    long n = infers.incrementAndGet();
    if (n == 1 && stallAfterNanos >= 0) {
      long now = System.nanoTime();
      stallFrom = now + stallAfterNanos;
      stallUntil = stallFrom + stallNanos;
    }
    return 1;
  }

  private void pause() {
    if (delayNanos > 0) {
      try {
        Thread.sleep(Duration.ofNanos(delayNanos));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    long now = System.nanoTime();
    if (now >= stallFrom && now < stallUntil) {
      try {
        Thread.sleep(Duration.ofNanos(stallUntil - now));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void send(HttpExchange ex, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    boolean chunk = chunked && ex.getRequestMethod().equals("POST");
    ex.sendResponseHeaders(200, chunk ? 0 : b.length);
    if (chunk) {
      // two writes, flushed apart, so the client sees more than one chunk
      ex.getResponseBody().write(b, 0, b.length / 2);
      ex.getResponseBody().flush();
      ex.getResponseBody().write(b, b.length / 2, b.length - b.length / 2);
    } else {
      ex.getResponseBody().write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
