package dev.kiln.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;
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
 * Issue 4: one 500-tree, depth-8 XGBoost model (binary:logistic, 30 features; built by
 * tools/fixtures/bench_trees/make_bench_model.py) predicted by three engines, side by side:
 *
 * <ul>
 *   <li>{@code kiln}: kiln-trees' {@code LoadedModel} on {@code model.json}, output {@code
 *       probabilities} (Kiln tensors in and out, the call the server makes);
 *   <li>{@code onnxruntime}: kiln-onnx's {@code LoadedModel} on {@code model.onnx}, the same trees
 *       as a TreeEnsembleRegressor + Sigmoid, intra-op threads 2 (both cores, as the others use);
 *   <li>{@code xgboost4j}: XGBoost4J 3.4.0 {@code Booster.inplace_predict} on the same {@code
 *       model.json}, nthread 2 (its fastest dense path: no DMatrix to build).
 * </ul>
 *
 * Throughput is calls per second; rows/s = score x {@code rows}. Setup checks every engine against
 * xgboost's own predictions (rows.json) so that the three really compute the same thing.
 *
 * <p>Run from the repository root: {@code java --enable-native-access=ALL-UNNAMED -jar
 * kiln-jmh/target/benchmarks.jar Trees}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {
      "--enable-native-access=ALL-UNNAMED",
      "--add-modules=jdk.incubator.vector",
      "-Xmx2g"
    })
public class TreesBenchmark {
  @Param({"kiln", "onnxruntime", "xgboost4j"})
  public String engine;

  @Param({"1", "32", "1000", "100000"})
  public int rows;

  @Param({"tools/fixtures/bench_trees"})
  public String dir;

  private static final int FEATURES = 30;

  private LoadedModel model;
  private InferenceRequest request;
  private Booster booster;
  private float[] data;

  @Setup(Level.Trial)
  public void setUp() throws IOException, XGBoostError {
    JsonNode reference = new ObjectMapper().readTree(Path.of(dir, "rows.json").toFile());
    data = rows(reference.get("rows"), rows);
    switch (engine) {
      case "kiln" -> model = load("kiln-trees", Map.of());
      case "onnxruntime" -> model = load("onnxruntime", Map.of("intra-op-threads", "2"));
      case "xgboost4j" -> {
        booster = XGBoost.loadModel(Path.of(dir, "model.json").toString());
        booster.setParam("nthread", 2);
      }
      default -> throw new IllegalArgumentException(engine);
    }
    request = request(data, rows);
    check(reference);
  }

  private LoadedModel load(String runtime, Map<String, String> parameters) {
    ModelRuntime r =
        ServiceLoader.load(ModelRuntime.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(x -> x.name().equals(runtime))
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("no runtime " + runtime));
    return r.load(new ModelSource("bench", 1, Path.of(dir), parameters, KilnConfig.defaults()));
  }

  /** The 20 reference rows, then rows jittered around them (+-5% per feature, seeded). */
  private static float[] rows(JsonNode base, int n) {
    var random = new SplittableRandom(4);
    float[] out = new float[n * FEATURES];
    for (int r = 0; r < n; r++) {
      JsonNode row = base.get(r % base.size());
      boolean exact = r < base.size();
      for (int f = 0; f < FEATURES; f++) {
        double v = row.get(f).asDouble();
        out[r * FEATURES + f] = (float) (exact ? v : v * (1 + random.nextDouble(-0.05, 0.05)));
      }
    }
    return out;
  }

  /** Asks for the probability output only (kiln-trees computes no label or margin tensor then). */
  private InferenceRequest request(float[] data, int n) {
    String output = engine.equals("onnxruntime") ? "probability" : "probabilities";
    return new InferenceRequest(
        null,
        Map.of("input", Tensor.ofFloats("input", new long[] {n, FEATURES}, data)),
        List.of(output),
        Map.of());
  }

  /** The engine's probability of class 1 for the reference rows must be xgboost's. */
  private void check(JsonNode reference) throws XGBoostError {
    int n = reference.get("predict").size();
    float[] x = rows(reference.get("rows"), n);
    float[] p = probabilities(x, n, request(x, n));
    for (int i = 0; i < n; i++) {
      double expected = reference.get("predict").get(i).asDouble();
      if (Math.abs(p[i] - expected) > 1e-5) {
        throw new IllegalStateException(
            engine + " row " + i + ": " + p[i] + ", xgboost says " + expected);
      }
    }
  }

  private float[] probabilities(float[] x, int n, InferenceRequest req) throws XGBoostError {
    if (booster != null) {
      float[][] out = booster.inplace_predict(x, n, FEATURES, Float.NaN);
      float[] p = new float[n];
      for (int i = 0; i < n; i++) {
        p[i] = out[i][0];
      }
      return p;
    }
    Map<String, Tensor> out = model.execute(List.of(req)).getFirst().orThrow();
    Tensor t = out.containsKey("probabilities") ? out.get("probabilities") : out.get("probability");
    float[] v = t.floats();
    int width = v.length / n;
    float[] p = new float[n];
    for (int i = 0; i < n; i++) {
      p[i] = v[i * width + width - 1];
    }
    return p;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (model != null) {
      model.close();
    }
    if (booster != null) {
      booster.dispose();
    }
  }

  @Benchmark
  public Object predict() throws XGBoostError {
    if (booster != null) {
      return booster.inplace_predict(data, rows, FEATURES, Float.NaN);
    }
    return model.execute(List.of(request));
  }
}
