/*
 * A reference server for comparing load generators (issue 6): every POST is answered after a
 * delay drawn from a KNOWN distribution, and the server records, per client (its User-Agent, "-"
 * when none), how long it really held each request. A load generator's latency for the same
 * requests can only be that service time plus the loopback round trip and its own overhead, so
 * the stub tells which tool is off, and by how much.
 *
 *   java tools/bench/DelayStub.java PORT [MIN_MS MAX_MS]     # delay uniform in [MIN, MAX) ms
 *   curl -s 127.0.0.1:PORT/stats    # {"gatling":{"count":..,"p50_ms":..,"p99_ms":..},"-":{..}}
 *   curl -s 127.0.0.1:PORT/reset    # forget what was recorded (call it when the warm-up ends)
 *
 * A uniform delay keeps the density at p99 as high as at p50, so both percentiles of a few
 * thousand requests are precise (p99 of 3000 draws from U[5,45) ms has a standard error of ~0.07
 * ms), unlike a real server's sparse tail. Answers GET /v2/models/NAME with a one-input metadata
 * document so kiln bench can also run without --body. The JDK's HTTP server, a platform thread
 * per exchange (a sleeping virtual thread wakes later), keep-alive.
 */
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

public class DelayStub {
  private static final Map<String, ConcurrentLinkedQueue<Long>> HELD = new ConcurrentHashMap<>();
  private static final byte[] REPLY =
      ("{\"model_name\":\"stub\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\","
              + "\"shape\":[1],\"data\":[0.5]}]}")
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] METADATA =
      ("{\"name\":\"stub\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,4]}],"
              + "\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[-1]}]}")
          .getBytes(StandardCharsets.UTF_8);

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(args[0]);
    long minNanos = (long) (Double.parseDouble(args.length > 1 ? args[1] : "5") * 1e6);
    long maxNanos = (long) (Double.parseDouble(args.length > 2 ? args[2] : "45") * 1e6);
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/stats", ex -> send(ex, stats()));
    server.createContext(
        "/reset",
        ex -> {
          HELD.clear();
          send(ex, "{}".getBytes(StandardCharsets.UTF_8));
        });
    server.createContext(
        "/",
        ex -> {
          if (!ex.getRequestMethod().equals("POST")) {
            send(ex, METADATA);
            return;
          }
          long start = System.nanoTime();
          ex.getRequestBody().readAllBytes();
          long delay = ThreadLocalRandom.current().nextLong(minNanos, maxNanos);
          long until = start + delay;
          try {
            for (long left; (left = until - System.nanoTime()) > 0; ) {
              Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          send(ex, REPLY);
          String ua = ex.getRequestHeaders().getFirst("User-Agent");
          HELD.computeIfAbsent(ua == null ? "-" : ua, k -> new ConcurrentLinkedQueue<>())
              .add(System.nanoTime() - start);
        });
    server.start();
    System.out.printf(
        Locale.ROOT,
        "DelayStub on %d: uniform [%.1f, %.1f) ms%n",
        port,
        minNanos / 1e6,
        maxNanos / 1e6);
  }

  /** Per client: count, p50, p99 (nearest rank, as HdrHistogram and Gatling count), mean, in ms. */
  private static byte[] stats() {
    StringBuilder sb = new StringBuilder("{");
    new TreeMap<>(HELD)
        .forEach(
            (ua, q) -> {
              long[] v = q.stream().mapToLong(Long::longValue).sorted().toArray();
              if (sb.length() > 1) {
                sb.append(',');
              }
              sb.append(
                  String.format(
                      Locale.ROOT,
                      "\"%s\":{\"count\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f}",
                      ua.replace("\"", ""),
                      v.length,
                      rank(v, 0.50) / 1e6,
                      rank(v, 0.99) / 1e6,
                      Arrays.stream(v).average().orElse(0) / 1e6));
            });
    return sb.append("}\n").toString().getBytes(StandardCharsets.UTF_8);
  }

  private static long rank(long[] sorted, double q) {
    return sorted.length == 0 ? 0 : sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)];
  }

  private static void send(HttpExchange ex, byte[] body) throws IOException {
    try (ex) {
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
    }
  }
}
