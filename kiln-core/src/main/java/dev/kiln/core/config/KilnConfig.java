package dev.kiln.core.config;

import dev.kiln.core.error.Checks;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The effective configuration: typed sections for the core, plus every effective value by its
 * dotted key, so that a runtime module can bind its own section ({@link #section}) without the core
 * knowing its type. Build it with {@link ConfigLoader}.
 */
public record KilnConfig(
    ServerConfig server, RepositoryConfig repository, SortedMap<String, String> values) {
  public KilnConfig {
    Checks.require(server != null, "server config is required");
    Checks.require(repository != null, "repository config is required");
    values = values == null ? new TreeMap<>() : new TreeMap<>(values);
  }

  /** Binds the keys under {@code prefix.} to a record whose components are the kebab-case keys. */
  public <T> T section(String prefix, Class<T> type) {
    return ConfigLoader.bind(values, prefix, type);
  }

  /** The effective values for logging, with secrets masked. */
  public Map<String, String> redacted() {
    var out = new TreeMap<String, String>(values);
    out.replaceAll((k, v) -> k.endsWith("token") && !v.isEmpty() ? "******" : v);
    return out;
  }

  /** The embedded defaults alone. */
  public static KilnConfig defaults() {
    return ConfigLoader.load(null, Map.of(), Map.of());
  }
}
