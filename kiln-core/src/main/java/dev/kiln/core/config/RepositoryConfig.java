package dev.kiln.core.config;

import dev.kiln.core.error.Checks;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Where the models are and how they change ({@code repository.*}). */
public record RepositoryConfig(
    Path path, ModelControl modelControl, Duration pollInterval, List<String> loadModels) {
  public RepositoryConfig {
    Checks.require(path != null, "repository.path is required");
    Checks.require(modelControl != null, "repository.model-control is required");
    Checks.require(
        pollInterval != null && pollInterval.toMillis() >= 10,
        "repository.poll-interval must be >= 10ms, was %s",
        pollInterval);
    loadModels = loadModels == null ? List.of() : List.copyOf(loadModels);
  }
}
