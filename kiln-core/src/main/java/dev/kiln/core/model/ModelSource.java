package dev.kiln.core.model;

import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.Checks;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.nio.file.Path;
import java.util.Locale;
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

  /**
   * Parameter {@code key} as a boolean ({@code true} or {@code false}, in any case), {@code
   * fallback} when absent; anything else fails the load naming the parameter.
   */
  public boolean booleanParameter(String key, boolean fallback) {
    String v = parameters.get(key);
    if (v == null) {
      return fallback;
    }
    return switch (v.strip().toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw KilnException.of(
              ErrorKind.INTERNAL, "parameter %s must be true or false, was '%s'", key, v);
    };
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
