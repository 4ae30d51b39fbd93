package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static dev.kiln.server.ProblemAssert.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.onnx.OnnxRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Explicit unload while heavy requests are in flight: they finish on the version they hold, with
 * full answers, and only new requests are refused. The model is held at a gate so that "in flight"
 * is certain, not a race.
 */
class UnloadInFlightIT {
  private static final int IN_FLIGHT = 3;

  @TempDir Path repository;
  final GatedRuntime gated = new GatedRuntime();
  final LstmBatch batch = new LstmBatch();
  final ExecutorService clients = Executors.newFixedThreadPool(IN_FLIGHT);
  TestServer server;

  @BeforeEach
  void start() {
    TestServer.copyModels(repository, LSTM);
    TestServer.setBackend(repository, LSTM, GatedRuntime.NAME);
    server =
        TestServer.start(
            repository,
            Map.of("repository.model-control", "explicit", "repository.load-models", LSTM),
            List.of(new OnnxRuntime(), gated));
  }

  @AfterEach
  void stop() throws InterruptedException {
    gated.open();
    clients.shutdown();
    clients.awaitTermination(30, TimeUnit.SECONDS);
    server.close();
  }

  @Test
  void unload_requestsInFlight_theyCompleteAndNewRequestsGet503() throws Exception {
    List<Future<TestServer.Reply>> inFlight = new ArrayList<>();
    for (int i = 0; i < IN_FLIGHT; i++) {
      inFlight.add(clients.submit(() -> batch.send(server, LSTM)));
    }
    assertThat(gated.awaitEntered(IN_FLIGHT)).as("requests reached the model").isTrue();

    var unload = server.post("/v2/repository/models/" + LSTM + "/unload", "");

    assertThat(unload.status()).as("%s", unload).isEqualTo(200);
    assertProblem(batch.send(server, LSTM), 503, LSTM);
    assertThat(gated.closedModels()).as("closed under running requests").isZero();
    gated.open();
    for (Future<TestServer.Reply> f : inFlight) {
      batch.assertAnswered(f.get(60, TimeUnit.SECONDS));
    }
    assertProblem(batch.send(server, LSTM), 503, LSTM);
  }

  @Test
  void unload_afterInFlightRequestsFinish_closesTheModel() throws Exception {
    Future<TestServer.Reply> request = clients.submit(() -> batch.send(server, LSTM));
    assertThat(gated.awaitEntered(1)).isTrue();
    assertThat(server.post("/v2/repository/models/" + LSTM + "/unload", "").status())
        .isEqualTo(200);

    gated.open();
    batch.assertAnswered(request.get(60, TimeUnit.SECONDS));

    // The last lease is released before the answer is written, so the close has happened.
    assertThat(gated.closedModels()).isEqualTo(1);
  }
}
