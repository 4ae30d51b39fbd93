package dev.kiln.core.registry;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.error.Checks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The optional per-model config file, {@code <repo>/<model>/config.yaml} (YAML or JSON; the
 * counterpart of Triton's {@code config.pbtxt}). Every key is optional: what the model file itself
 * declares is inferred, and what is given here overrides or adds to it. See
 * docs/model-repository.md.
 *
 * @param backend the runtime name ({@code onnxruntime}, ...); inferred from the files when empty
 * @param maxBatchSize the largest batch accepted; 0 means unlimited
 * @param versionPolicy which versions to serve; latest 1 by default
 * @param inputs declared inputs: datatype, shape, optional feature names
 * @param outputs declared outputs: datatype, shape, optional labels
 * @param parameters free-form backend options, passed to the runtime as strings
 * @param dynamicBatching present (even empty) to batch this model dynamically; its keys override
 *     the server's {@code batching.*} defaults
 */
public record ModelConfig(
    String backend,
    int maxBatchSize,
    VersionPolicy versionPolicy,
    List<TensorConfig> inputs,
    List<TensorConfig> outputs,
    Map<String, String> parameters,
    DynamicBatching dynamicBatching) {
  public static final String FILE_NAME = "config.yaml";

  public ModelConfig {
    backend = backend == null ? "" : backend;
    Checks.require(maxBatchSize >= 0, "max-batch-size must be >= 0, was %d", maxBatchSize);
    versionPolicy = versionPolicy == null ? VersionPolicy.LATEST_ONE : versionPolicy;
    inputs = inputs == null ? List.of() : List.copyOf(inputs);
    outputs = outputs == null ? List.of() : List.copyOf(outputs);
    parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
  }

  /** Triton's {@code dynamic_batching} block; every key optional. */
  public record DynamicBatching(
      Integer maxBatchSize,
      java.time.Duration maxQueueDelay,
      List<Integer> preferredBatchSizes,
      Integer maxQueueSize,
      Integer instances) {}

  /** One declared tensor. Datatype and shape may be omitted to keep what the model declares. */
  public record TensorConfig(
      String name,
      String datatype,
      List<Long> shape,
      List<String> features,
      List<String> labels,
      Boolean allowNan) {
    public TensorConfig {
      Checks.require(name != null && !name.isEmpty(), "every input/output needs a name");
      features = features == null ? List.of() : List.copyOf(features);
      labels = labels == null ? List.of() : List.copyOf(labels);
    }
  }

  public static ModelConfig empty() {
    return new ModelConfig("", 0, null, null, null, null, null);
  }

  /** Reads {@code config.yaml} from a model directory, or returns the empty config if absent. */
  public static ModelConfig read(Path modelDirectory) {
    Path file = modelDirectory.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      return empty();
    }
    ObjectMapper mapper = ConfigLoader.mapper();
    try (JsonParser p = mapper.createParser(file.toFile())) {
      // An empty or comments-only file has no document: it declares nothing, like no file at all.
      if (p.nextToken() == null) {
        return empty();
      }
      ModelConfig c =
          mapper
              .readerFor(ModelConfig.class)
              .with(
                  com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
              .<ModelConfig>readValue(p);
      return c == null ? empty() : c;
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          file + ": " + e.getMessage().lines().findFirst().orElse("invalid"), e);
    }
  }
}
