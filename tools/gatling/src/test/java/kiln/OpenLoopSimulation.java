package kiln;

import static io.gatling.javaapi.core.CoreDsl.ByteArrayBody;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.OpenInjectionStep;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Open injection at a fixed rate: {@code rate} new users per second for {@code warmup} seconds
 * (request "warmup", not compared) and then for {@code duration} seconds (request "infer"),
 * each sending one POST of the file {@code body} to {@code target + path} and expecting a 200.
 * Connections are shared between users (a keep-alive pool, as kiln bench's), so latency does not
 * include a TCP connect per request. Settings come from system properties:
 *
 * <pre>
 * -Dtarget=http://127.0.0.1:18400 -Dpath=/v2/models/breast-cancer-rf/infer
 * -Dbody=/abs/path/rf-batch1000.json -Drate=50 -Dduration=60 -Dwarmup=10 [-Darrival=poisson]
 * </pre>
 */
public class OpenLoopSimulation extends Simulation {
  private static final String TARGET = System.getProperty("target", "http://127.0.0.1:8080");
  private static final String PATH =
      System.getProperty("path", "/v2/models/breast-cancer-rf/infer");
  private static final String BODY = System.getProperty("body");

  /**
   * The body, read once: Gatling's {@code RawFileBody} keeps a file in memory only up to
   * {@code gatling.core.rawFileBodiesInMemoryMaxSize} (10 KB) and reads a larger one from disk for
   * every request, an overhead kiln bench (which holds its body in memory) does not have.
   */
  private static final byte[] BYTES = read(BODY);

  private static byte[] read(String file) {
    if (file == null) {
      throw new IllegalArgumentException("-Dbody=FILE is required (the JSON request body)");
    }
    try {
      return Files.readAllBytes(Path.of(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
  private static final double RATE = Double.parseDouble(System.getProperty("rate", "50"));
  private static final long DURATION = Long.parseLong(System.getProperty("duration", "60"));
  private static final long WARMUP = Long.parseLong(System.getProperty("warmup", "10"));
  /** constant (evenly spaced arrivals) or poisson (Gatling's randomized(): Poisson arrivals). */
  private static final boolean POISSON =
      System.getProperty("arrival", "constant").equals("poisson");

  HttpProtocolBuilder protocol =
      http.baseUrl(TARGET)
          .shareConnections()
          .contentTypeHeader("application/json")
          .acceptHeader("application/json")
          // DelayStub keeps its record per User-Agent; kiln bench sends none
          .userAgentHeader("gatling");

  ScenarioBuilder warmup =
      scenario("warmup")
          .exec(http("warmup").post(PATH).body(ByteArrayBody(BYTES)).check(status().is(200)));

  ScenarioBuilder infer =
      scenario("infer")
          .exec(http("infer").post(PATH).body(ByteArrayBody(BYTES)).check(status().is(200)));

  private static OpenInjectionStep rate(long seconds) {
    var step = constantUsersPerSec(RATE).during(Duration.ofSeconds(seconds));
    return POISSON ? step.randomized() : step;
  }

  {
    // The warm-up (Gatling's own JIT and connections) runs first under its own request name, so
    // the "infer" statistics hold only the measured part, as kiln bench's --warmup does.
    setUp(
            warmup
                .injectOpen(rate(WARMUP))
                .andThen(infer.injectOpen(rate(DURATION))))
        .protocols(protocol);
  }
}
