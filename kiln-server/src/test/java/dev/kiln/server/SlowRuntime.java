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

/**
 * ONNX Runtime plus a fixed delay per execution, so that a model's capacity is known (batch size /
 * delay) whatever the machine: overload tests offer a multiple of it. Models pick it with {@code
 * backend: slow-onnxruntime}.
 */
final class SlowRuntime implements ModelRuntime {
  static final String NAME = "slow-onnxruntime";

  private final OnnxRuntime onnx = new OnnxRuntime();
  private final long delayMillis;

  SlowRuntime(long delayMillis) {
    this.delayMillis = delayMillis;
  }

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
        try {
          Thread.sleep(delayMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
        return real.execute(batch);
      }

      @Override
      public void close() {
        real.close();
      }
    };
  }
}
