package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.Fixture.RF;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --model-control=poll}: versions that appear on disk are loaded and published while clients
 * keep calling, with no failed request; versions removed from disk leave the index.
 */
class HotReloadIT {
  private static final String INFER = "/v2/models/" + RF + "/infer";
  private static final int WORKERS = 4;
  private static final int MAX_REQUESTS_PER_WORKER = 3_000;
  private static final int REQUESTS_AFTER_SWITCH = 200;

  @TempDir Path repository;
  final Fixture rf = Fixture.load(RF);
  TestServer server;

  @BeforeEach
  void copyModel() {
    TestServer.copyModels(repository, RF);
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private void startPolling() {
    server =
        TestServer.start(
            repository,
            Map.of("repository.model-control", "poll", "repository.poll-interval", "100ms"));
  }

  /** What one client call saw; {@code failure} is null when the answer was right. */
  record Outcome(boolean afterSwitch, String version, String failure) {}

  @Test
  void poll_newVersionUnderLoad_switchesWithoutAFailedRequest() throws Exception {
    startPolling();
    var switched = new AtomicBoolean();
    var stop = new AtomicBoolean();
    var total = new AtomicInteger();
    var afterSwitch = new AtomicInteger();
    Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    String request = rf.v2FlatRequest().toString();
    ExecutorService clients = Executors.newFixedThreadPool(WORKERS);
    List<Future<?>> workers = new ArrayList<>();
    try {
      for (int w = 0; w < WORKERS; w++) {
        workers.add(
            clients.submit(() -> {
              for (int i = 0; i < MAX_REQUESTS_PER_WORKER && !stop.get(); i++) {
                boolean after = switched.get();
                Outcome o = call(request, after);
                outcomes.add(o);
                total.incrementAndGet();
                if (after) {
                  afterSwitch.incrementAndGet();
                }
              }
            }));
      }
      Poll.until("clients are calling", () -> total.get() >= 40);

      // Staged under a hidden name, which the poller skips, then renamed into place at once.
      Path model = repository.resolve(RF);
      TestServer.copyTree(model.resolve("1"), model.resolve(".2-staging"));
      Files.move(model.resolve(".2-staging"), model.resolve("2"), StandardCopyOption.ATOMIC_MOVE);
      Poll.until(
          "version 2 serves and version 1 is retired", () -> indexVersions().equals(List.of("2")));
      switched.set(true);
      Poll.until(
          "clients called after the switch",
          () ->
              afterSwitch.get() >= REQUESTS_AFTER_SWITCH
                  || workers.stream().allMatch(Future::isDone));
    } finally {
      stop.set(true);
      clients.shutdown();
      assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    }
    for (Future<?> w : workers) {
      w.get();
    }

    assertThat(outcomes).filteredOn(o -> o.failure() != null).isEmpty();
    assertThat(outcomes).extracting(Outcome::version).contains("1");
    assertThat(outcomes)
        .filteredOn(Outcome::afterSwitch)
        .isNotEmpty()
        .allSatisfy(o -> assertThat(o.version()).isEqualTo("2"));
  }

  @Test
  void poll_versionDirectoryRemoved_versionLeavesIndex() throws IOException {
    Path model = repository.resolve(RF);
    Files.writeString(
        model.resolve("config.yaml"), "\nversion-policy: all\n", StandardOpenOption.APPEND);
    TestServer.copyTree(model.resolve("1"), model.resolve("2"));
    startPolling();
    assertThat(indexVersions()).containsExactly("1", "2");

    deleteTree(model.resolve("1"));
    Poll.until("version 1 leaves the index", () -> indexVersions().equals(List.of("2")));

    assertProblem(
        server.post("/v2/models/" + RF + "/versions/1/infer", rf.v2FlatRequest()),
        404,
        "version 1");
    var r = server.post(INFER, rf.v2FlatRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    assertThat(r.json().path("model_version").asText()).isEqualTo("2");
  }

  @Test
  void poll_newModelDirectory_isServed() {
    startPolling();
    assertThat(server.get("/v2/models/" + LSTM).status()).isEqualTo(404);

    TestServer.copyTree(
        TestServer.kilnRoot().resolve("models").resolve(LSTM), repository.resolve(".lstm"));
    try {
      Files.move(
          repository.resolve(".lstm"), repository.resolve(LSTM), StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Poll.until(
        "stock-lstm is ready", () -> server.get("/v2/models/" + LSTM + "/ready").status() == 200);

    var lstm = Fixture.load(LSTM);
    var r = server.post("/v2/models/" + LSTM + "/infer", lstm.v2FlatRequest());
    assertThat(r.status()).as("%s", r).isEqualTo(200);
    lstm.assertOutput("output", V2ProtocolIT.output(r.json(), "output").path("data"));
  }

  /**
   * One infer call, checked against the reference without throwing (it runs on a client thread).
   */
  private Outcome call(String request, boolean afterSwitch) {
    TestServer.Reply r;
    try {
      r = server.post(INFER, request);
    } catch (RuntimeException e) {
      return new Outcome(afterSwitch, "", "request failed: " + e);
    }
    if (r.status() != 200) {
      return new Outcome(afterSwitch, "", r.toString());
    }
    JsonNode body = r.json();
    String version = body.path("model_version").asText();
    double[] labels = Fixture.flatten(V2ProtocolIT.output(body, "label").path("data"));
    double[] probs = Fixture.flatten(V2ProtocolIT.output(body, "probabilities").path("data"));
    if (!close(labels, rf.expected("label")) || !close(probs, rf.expected("probabilities"))) {
      return new Outcome(afterSwitch, version, "wrong outputs: " + body);
    }
    return new Outcome(afterSwitch, version, null);
  }

  private boolean close(double[] actual, double[] expected) {
    if (actual.length != expected.length) {
      return false;
    }
    for (int i = 0; i < actual.length; i++) {
      if (!(Math.abs(actual[i] - expected[i]) <= rf.tolerance())) {
        return false;
      }
    }
    return true;
  }

  /** The versions of breast-cancer-rf the repository index lists as READY, in order. */
  private List<String> indexVersions() {
    List<String> out = new ArrayList<>();
    for (JsonNode n : server.post("/v2/repository/index", "").json()) {
      if (n.path("name").asText().equals(RF)) {
        out.add(n.path("version").asText() + (n.path("state").asText().equals("READY") ? "" : "?"));
      }
    }
    return out;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
