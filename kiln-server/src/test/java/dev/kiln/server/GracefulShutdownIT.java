package dev.kiln.server;

import static dev.kiln.server.Fixture.LSTM;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.onnx.OnnxRuntime;
import java.nio.file.Path;
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

/** {@link KilnServer#close()} drains: a request in flight finishes, new ones are refused. */
class GracefulShutdownIT {
  @TempDir Path repository;
  final GatedRuntime gated = new GatedRuntime();
  final LstmBatch batch = new LstmBatch();
  final ExecutorService threads = Executors.newFixedThreadPool(2);
  TestServer server;

  @BeforeEach
  void start() {
    TestServer.copyModels(repository, LSTM);
    TestServer.setBackend(repository, LSTM, GatedRuntime.NAME);
    server = TestServer.start(repository, Map.of(), List.of(new OnnxRuntime(), gated));
  }

  @AfterEach
  void stop() throws InterruptedException {
    gated.open();
    threads.shutdown();
    threads.awaitTermination(30, TimeUnit.SECONDS);
    server.close();
  }

  @Test
  void close_requestInFlight_letsItFinish() throws Exception {
    Future<TestServer.Reply> request = threads.submit(() -> batch.send(server, LSTM));
    assertThat(gated.awaitEntered(1)).as("request reached the model").isTrue();
    Future<?> closing = threads.submit(() -> server.server().close());
    Poll.until("the server refuses new requests", () -> draining(server));

    gated.open();

    batch.assertAnswered(request.get(60, TimeUnit.SECONDS));
    closing.get(60, TimeUnit.SECONDS);
  }

  @Test
  void close_whileDraining_refusesNewRequestsWith503() throws Exception {
    threads.submit(() -> batch.send(server, LSTM));
    assertThat(gated.awaitEntered(1)).as("request reached the model").isTrue();
    threads.submit(() -> server.server().close());
    Poll.until("the server refuses new requests", () -> draining(server));

    var r = server.post("/v2/models/" + LSTM + "/infer", Fixture.load(LSTM).v2FlatRequest());

    ProblemAssert.assertProblem(r, 503, "shutting down");
  }

  private static boolean draining(TestServer server) {
    return server.get("/v2/health/live").status() == 503;
  }
}
