package dev.kiln.jmh;

import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
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
 * tensors out, ONNX Runtime in between), on the demo breast-cancer random forest. This is the
 * baseline the served end-to-end latency is compared with in docs/benchmarks.md.
 *
 * <p>Run: {@code java -jar kiln-jmh/target/benchmarks.jar OnnxInProcess -p repo=$PWD/models}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class OnnxInProcessBenchmark {
  @Param({"1", "32", "1000"})
  public int batch;

  @Param({"models"})
  public String repo;

  private LoadedModel model;
  private InferenceRequest request;

  @Setup(Level.Trial)
  public void setUp() {
    ModelRuntime onnx =
        ServiceLoader.load(ModelRuntime.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(r -> r.name().equals("onnxruntime"))
            .findFirst()
            .orElseThrow();
    Path dir = Path.of(repo, "breast-cancer-rf", "1");
    model = onnx.load(new ModelSource("breast-cancer-rf", 1, dir, Map.of(), KilnConfig.defaults()));
    var random = new SplittableRandom(42);
    float[] data = new float[batch * 30];
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) random.nextDouble(0, 100);
    }
    request =
        new InferenceRequest(
            null,
            Map.of("input", Tensor.ofFloats("input", new long[] {batch, 30}, data)),
            List.of(),
            Map.of());
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    model.close();
  }

  @Benchmark
  public Object execute() {
    return model.execute(List.of(request));
  }
}
