package dev.kiln.jmh;

import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-process cost of one inference call through Kiln's ONNX backend (Kiln tensors in, Kiln
 * tensors out, ONNX Runtime in between) for a demo model at a batch size. Divided by the batch, it
 * is the cost per row, and its fall from batch 1 to batch N is the most that dynamic batching can
 * gain for the model when serving costs nothing else.
 *
 * <p>The input is uniform random data over the model's first input (integers in [1, 255] for
 * integer inputs, as byte ids). Run: {@code java -jar kiln-jmh/target/benchmarks.jar OnnxInProcess
 * -p repo=$PWD/models -p model=stock-lstm -p batch=1,8,32,64}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class OnnxInProcessBenchmark {
  @Param({"breast-cancer-rf"})
  public String model;

  @Param({"1", "32", "1000"})
  public int batch;

  @Param({"models"})
  public String repo;

  /** ONNX Runtime intra-op threads for the session; 0 keeps its default (one per core). */
  @Param({"0"})
  public int intraOpThreads;

  private LoadedModel loaded;
  private InferenceRequest request;

  @Setup(Level.Trial)
  public void setUp() {
    ModelRuntime onnx =
        ServiceLoader.load(ModelRuntime.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(r -> r.name().equals("onnxruntime"))
            .findFirst()
            .orElseThrow();
    Path dir = Path.of(repo, model, "1");
    Map<String, String> parameters =
        intraOpThreads > 0
            ? Map.of("intra-op-threads", Integer.toString(intraOpThreads))
            : Map.of();
    loaded = onnx.load(new ModelSource(model, 1, dir, parameters, KilnConfig.defaults()));
    TensorSpec spec = loaded.signature().inputs().getFirst();
    long[] shape = spec.shape().clone();
    shape[0] = batch;
    for (int i = 1; i < shape.length; i++) {
      shape[i] = Math.max(1, shape[i]);
    }
    int n = (int) Tensor.elementCount(shape);
    var random = new SplittableRandom(42);
    Object data;
    if (spec.datatype() == DataType.INT64) {
      long[] a = new long[n];
      for (int i = 0; i < n; i++) {
        a[i] = random.nextLong(1, 256);
      }
      data = a;
    } else {
      float[] a = new float[n];
      for (int i = 0; i < n; i++) {
        a[i] = (float) random.nextDouble(0, 2);
      }
      data = a;
    }
    request =
        new InferenceRequest(
            null,
            Map.of(spec.name(), new Tensor(spec.name(), spec.datatype(), shape, data)),
            List.of(),
            Map.of());
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    loaded.close();
  }

  @Benchmark
  public Object execute() {
    return loaded.execute(List.of(request));
  }
}
