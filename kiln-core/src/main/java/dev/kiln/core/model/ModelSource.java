package dev.kiln.core.model;

import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.Checks;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything a runtime needs to load one version: where its files are, the per-model parameters
 * from its config file, the server config (for runtime-wide settings such as thread counts), and a
 * {@link ModelResolver} to call other served models through (ensembles).
 */
public record ModelSource(
    String model,
    long version,
    Path directory,
    Map<String, String> parameters,
    KilnConfig config,
    ModelResolver resolver) {
  public ModelSource {
    Checks.require(model != null && !model.isEmpty(), "model name is required");
    Checks.require(version >= 1, "version must be >= 1, was %d", version);
    Checks.require(directory != null, "directory is required");
    Checks.require(config != null, "config is required");
    parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
    resolver = resolver == null ? ModelResolver.NONE : resolver;
  }

  /** A source with no resolver: the model cannot call other models. */
  public ModelSource(
      String model,
      long version,
      Path directory,
      Map<String, String> parameters,
      KilnConfig config) {
    this(model, version, directory, parameters, config, ModelResolver.NONE);
  }
}
