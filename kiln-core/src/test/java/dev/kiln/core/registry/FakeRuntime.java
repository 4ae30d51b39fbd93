package dev.kiln.core.registry;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.time.FakeTicker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test runtime that claims every version directory. Its models echo input {@code x} as output
 * {@code y} and count their {@link LoadedModel#close()} calls. A file named {@value #BROKEN} in a
 * version directory makes the load fail. Each load advances the ticker by {@link #LOAD_TIME}.
 */
final class FakeRuntime implements ModelRuntime {
  static final String BROKEN = "broken";
  static final Duration LOAD_TIME = Duration.ofMillis(42);

  private final FakeTicker ticker;
  private final List<FakeModel> loaded = new CopyOnWriteArrayList<>();
  private final List<ModelSource> sources = new CopyOnWriteArrayList<>();

  FakeRuntime(FakeTicker ticker) {
    this.ticker = ticker;
  }

  @Override
  public String name() {
    return "fake";
  }

  @Override
  public int claims(Path versionDirectory) {
    return 1;
  }

  @Override
  public LoadedModel load(ModelSource source) {
    sources.add(source);
    ticker.advance(LOAD_TIME);
    if (Files.exists(source.directory().resolve(BROKEN))) {
      throw KilnException.of(
          ErrorKind.INTERNAL,
          "%s version %d: the model file is corrupt",
          source.model(),
          source.version());
    }
    FakeModel m = new FakeModel(source.model(), source.version());
    loaded.add(m);
    return m;
  }

  /** How many loads were attempted, failed ones included. */
  int loadAttempts() {
    return sources.size();
  }

  /** Every model this runtime loaded, in load order. */
  List<FakeModel> loaded() {
    return List.copyOf(loaded);
  }

  /** The one model loaded for this name and version. */
  FakeModel model(String name, long version) {
    return loaded.stream()
        .filter(m -> m.name.equals(name) && m.version == version)
        .reduce((a, b) -> b)
        .orElseThrow(() -> new AssertionError(name + " version " + version + " was never loaded"));
  }

  List<ModelSource> sources() {
    return List.copyOf(sources);
  }

  static final class FakeModel implements LoadedModel {
    static final ModelSignature SIGNATURE =
        new ModelSignature(
            "fake",
            List.of(new TensorSpec("x", DataType.FP32, new long[] {-1, 2})),
            List.of(new TensorSpec("y", DataType.FP32, new long[] {-1, 2})),
            0);

    final String name;
    final long version;
    private final AtomicInteger closes = new AtomicInteger();

    FakeModel(String name, long version) {
      this.name = name;
      this.version = version;
    }

    int closeCount() {
      return closes.get();
    }

    boolean isClosed() {
      return closes.get() > 0;
    }

    @Override
    public ModelSignature signature() {
      return SIGNATURE;
    }

    @Override
    public List<InferenceResult> execute(List<InferenceRequest> batch) {
      if (isClosed()) {
        throw new IllegalStateException(name + " version " + version + " used after close");
      }
      return batch.stream()
          .map(r -> InferenceResult.ok(Map.of("y", r.inputs().get("x").rename("y"))))
          .toList();
    }

    @Override
    public void close() {
      closes.incrementAndGet();
    }
  }

  static InferenceRequest request(float... xs) {
    Tensor x = Tensor.ofFloats("x", new long[] {xs.length / 2, 2}, xs);
    return new InferenceRequest("req", Map.of("x", x), List.of(), Map.of());
  }
}
