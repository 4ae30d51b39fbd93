package dev.kiln.server;

import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.TensorSpec;
import java.nio.file.Path;
import java.util.List;

/**
 * A backend whose models load fine and then fail every request with an unexpected exception whose
 * message must never reach a client. Models pick it with {@code backend: failing-test}.
 */
final class FailingRuntime implements ModelRuntime {
  static final String NAME = "failing-test";
  static final String SECRET = "secret internals";

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
    var signature =
        new ModelSignature(
            "failing_test",
            List.of(new TensorSpec("x", DataType.FP32, new long[] {-1, 2})),
            List.of(new TensorSpec("y", DataType.FP32, new long[] {-1, 1})),
            0);
    return new LoadedModel() {
      @Override
      public ModelSignature signature() {
        return signature;
      }

      @Override
      public List<InferenceResult> execute(List<InferenceRequest> batch) {
        throw new IllegalStateException(SECRET);
      }

      @Override
      public void close() {}
    };
  }
}
