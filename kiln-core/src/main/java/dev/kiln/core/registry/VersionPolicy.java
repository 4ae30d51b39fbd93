package dev.kiln.core.registry;

import com.fasterxml.jackson.annotation.JsonCreator;
import dev.kiln.core.error.Checks;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Which versions of a model to serve, as Triton's {@code version_policy}: the latest N (default 1),
 * all, or a specific list. In {@code config.yaml}: {@code version-policy: latest}, {@code
 * version-policy: all}, {@code version-policy: {latest: 2}} or {@code version-policy: {specific:
 * [1, 3]}}.
 */
public record VersionPolicy(Kind kind, int latest, List<Long> specific) {
  public enum Kind {
    LATEST,
    ALL,
    SPECIFIC
  }

  public VersionPolicy {
    Checks.require(kind != null, "version-policy kind is required");
    specific = specific == null ? List.of() : List.copyOf(specific);
    Checks.require(kind != Kind.LATEST || latest >= 1, "version-policy latest must be >= 1");
    Checks.require(
        kind != Kind.SPECIFIC || !specific.isEmpty(), "version-policy specific needs versions");
  }

  public static final VersionPolicy LATEST_ONE = new VersionPolicy(Kind.LATEST, 1, List.of());

  @JsonCreator
  static VersionPolicy fromYaml(Object value) {
    if (value instanceof String s) {
      return switch (s.trim()) {
        case "latest" -> LATEST_ONE;
        case "all" -> new VersionPolicy(Kind.ALL, 0, List.of());
        default -> throw new IllegalArgumentException("version-policy: unknown policy '" + s + "'");
      };
    }
    if (value instanceof Map<?, ?> m && m.size() == 1) {
      var e = m.entrySet().iterator().next();
      switch (String.valueOf(e.getKey())) {
        case "latest" -> {
          Object n =
              e.getValue() instanceof Map<?, ?> inner ? inner.get("num-versions") : e.getValue();
          return new VersionPolicy(Kind.LATEST, Integer.parseInt(String.valueOf(n)), List.of());
        }
        case "all" -> {
          return new VersionPolicy(Kind.ALL, 0, List.of());
        }
        case "specific" -> {
          Object v = e.getValue() instanceof Map<?, ?> inner ? inner.get("versions") : e.getValue();
          if (v instanceof Collection<?> c) {
            return new VersionPolicy(
                Kind.SPECIFIC, 0, c.stream().map(x -> Long.parseLong(String.valueOf(x))).toList());
          }
          throw new IllegalArgumentException(
              "version-policy specific: expected a list of versions");
        }
        default -> {}
      }
    }
    throw new IllegalArgumentException(
        "version-policy: expected latest, all, {latest: N} or {specific: [..]}, got " + value);
  }

  /** The versions to serve out of those present on disk. */
  public TreeSet<Long> select(Collection<Long> available) {
    var sorted = new TreeSet<>(available);
    return switch (kind) {
      case ALL -> sorted;
      case SPECIFIC -> {
        var out = new TreeSet<Long>(specific);
        out.retainAll(sorted);
        yield out;
      }
      case LATEST -> {
        var out = new TreeSet<Long>();
        for (Long v : sorted.descendingSet()) {
          if (out.size() == latest) {
            break;
          }
          out.add(v);
        }
        yield out;
      }
    };
  }
}
