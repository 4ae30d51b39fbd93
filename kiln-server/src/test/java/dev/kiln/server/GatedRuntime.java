package dev.kiln.server;

import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.ModelSource;
import dev.kiln.onnx.OnnxRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * ONNX Runtime behind a gate: every execute call announces itself, then waits until the test opens
 * the gate, then runs the real model. Tests use it to hold requests in flight for as long as they
 * need, so that "while a request runs" is a fact rather than a race. Models pick it with {@code
 * backend: gated-onnxruntime}.
 */
final class GatedRuntime implements ModelRuntime {
  static final String NAME = "gated-onnxruntime";

  private final OnnxRuntime onnx = new OnnxRuntime();
  private final Semaphore entered = new Semaphore(0);
  private final CountDownLatch gate = new CountDownLatch(1);
  private final AtomicInteger closed = new AtomicInteger();

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int claims(Path versionDirectory) {
    return 0;
  }

  @Override
  public LoadedModel load(ModelSource source) {
    LoadedModel real = onnx.load(source);
    return new LoadedModel() {
      @Override
      public ModelSignature signature() {
        return real.signature();
      }

      @Override
      public List<InferenceResult> execute(List<InferenceRequest> batch) {
        entered.release();
        try {
          if (!gate.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the test never opened the gate");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
        return real.execute(batch);
      }

      @Override
      public void close() {
        closed.incrementAndGet();
        real.close();
      }
    };
  }

  /** Waits (bounded) until {@code n} execute calls are held at the gate. */
  boolean awaitEntered(int n) throws InterruptedException {
    return entered.tryAcquire(n, 30, TimeUnit.SECONDS);
  }

  /** Execute calls that have announced themselves and are not yet counted by awaitEntered. */
  int enteredNow() {
    return entered.availablePermits();
  }

  /** Lets every held and future execute call run. */
  void open() {
    gate.countDown();
  }

  /** How many loaded models of this runtime have been closed. */
  int closedModels() {
    return closed.get();
  }
}
