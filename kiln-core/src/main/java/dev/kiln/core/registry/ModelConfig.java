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
 * @param ensemble for {@code backend: ensemble}: the member models and how to combine them
 * @param cache this model's prediction cache settings over the server's {@code cache.*} defaults
 */
public record ModelConfig(
    String backend,
    int maxBatchSize,
    VersionPolicy versionPolicy,
    List<TensorConfig> inputs,
    List<TensorConfig> outputs,
    Map<String, String> parameters,
    DynamicBatching dynamicBatching,
    Ensemble ensemble,
    Cache cache) {
  public static final String FILE_NAME = "config.yaml";

  /** The backend that serves models with an {@code ensemble} block. */
  public static final String ENSEMBLE_BACKEND = "ensemble";

  public ModelConfig {
    backend = backend == null ? "" : backend;
    Checks.require(maxBatchSize >= 0, "max-batch-size must be >= 0, was %d", maxBatchSize);
    versionPolicy = versionPolicy == null ? VersionPolicy.LATEST_ONE : versionPolicy;
    inputs = inputs == null ? List.of() : List.copyOf(inputs);
    outputs = outputs == null ? List.of() : List.copyOf(outputs);
    parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
    if (ensemble != null && backend.isEmpty()) {
      backend = ENSEMBLE_BACKEND; // an ensemble has no files for a runtime to claim
    }
    Checks.require(
        ensemble == null || backend.equals(ENSEMBLE_BACKEND),
        "an ensemble block needs backend '%s', not '%s'",
        ENSEMBLE_BACKEND,
        backend);
    Checks.require(
        ensemble != null || !backend.equals(ENSEMBLE_BACKEND),
        "backend '%s' needs an ensemble block (members, combiner)",
        ENSEMBLE_BACKEND);
  }

  /**
   * The {@code cache:} block: {@code enabled} and {@code ttl} override {@code cache.enabled} and
   * {@code cache.ttl} for this model; absent keys keep the server's.
   */
  public record Cache(Boolean enabled, java.time.Duration ttl) {
    public Cache {
      Checks.require(ttl == null || ttl.toMillis() > 0, "cache.ttl must be > 0");
    }
  }

  /** Triton's {@code dynamic_batching} block; every key optional. */
  public record DynamicBatching(
      Integer maxBatchSize,
      java.time.Duration maxQueueDelay,
      List<Integer> preferredBatchSizes,
      Integer maxQueueSize,
      Integer instances) {}

  /**
   * An ensemble's members and combiner (see docs/model-repository.md). {@code output} is the member
   * output that is combined; it defaults to {@code label} for {@code vote}, else {@code
   * probabilities}. {@code weights} (one per member, >= 0, not all 0) are required by {@code
   * weighted-mean} and optional for {@code vote}; {@code final} names the stacking model, required
   * by {@code stack} and only allowed there.
   */
  public record Ensemble(
      List<String> members,
      String combiner,
      List<Double> weights,
      String output,
      @com.fasterxml.jackson.annotation.JsonProperty("final") String finalModel) {
    public static final List<String> COMBINERS = List.of("mean", "weighted-mean", "vote", "stack");

    public Ensemble {
      Checks.require(
          members != null && !members.isEmpty(), "ensemble.members must name at least one model");
      members = List.copyOf(members);
      for (String m : members) {
        Checks.require(m != null && !m.isBlank(), "ensemble.members: empty model name");
      }
      Checks.require(
          new java.util.HashSet<>(members).size() == members.size(),
          "ensemble.members names a model twice: %s",
          members);
      combiner = combiner == null ? "mean" : combiner;
      Checks.require(
          COMBINERS.contains(combiner),
          "ensemble.combiner must be one of %s, was '%s'",
          COMBINERS,
          combiner);
      weights = weights == null ? List.of() : List.copyOf(weights);
      Checks.require(
          !combiner.equals("weighted-mean") || !weights.isEmpty(),
          "ensemble.combiner weighted-mean needs ensemble.weights");
      Checks.require(
          weights.isEmpty() || combiner.equals("weighted-mean") || combiner.equals("vote"),
          "ensemble.weights is only used by weighted-mean and vote, not %s",
          combiner);
      if (!weights.isEmpty()) {
        Checks.require(
            weights.size() == members.size(),
            "ensemble.weights has %d values for %d members",
            weights.size(),
            members.size());
        double sum = 0;
        for (Double w : weights) {
          Checks.require(
              w != null && w >= 0 && Double.isFinite(w), "ensemble.weights must be >= 0: %s", w);
          sum += w;
        }
        Checks.require(sum > 0, "ensemble.weights must not all be 0");
      }
      if (output == null || output.isBlank()) {
        output = combiner.equals("vote") ? "label" : "probabilities";
      }
      Checks.require(
          combiner.equals("stack") == (finalModel != null && !finalModel.isBlank()),
          "ensemble.final names the stacking model: required by combiner stack, only used there");
    }
  }

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
    return new ModelConfig("", 0, null, null, null, null, null, null, null);
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
