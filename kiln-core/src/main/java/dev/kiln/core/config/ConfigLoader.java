package dev.kiln.core.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Merges the four layers, in order: embedded defaults, the {@code --config} file (YAML or JSON),
 * {@code KILN_*} environment variables, and {@code --key=value} flags. Keys are kebab-case and
 * dotted ({@code server.max-body-bytes}); the environment spells them upper-case with underscores
 * ({@code KILN_SERVER_MAX_BODY_BYTES}). This is the only class that reads the environment.
 */
public final class ConfigLoader {
  private static final ObjectMapper YAML =
      JsonMapper.builder(new YAMLFactory())
          .propertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
          .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .addModule(new SimpleModule().addDeserializer(Duration.class, new DurationDeserializer()))
          .build();

  private ConfigLoader() {}

  /** The shared YAML/JSON mapper with Kiln's conventions (kebab-case, "5s" durations). */
  public static ObjectMapper mapper() {
    return YAML;
  }

  /** Reads the process environment and merges the layers. */
  public static KilnConfig load(Path file, Map<String, String> flags) {
    return load(file, System.getenv(), flags);
  }

  public static KilnConfig load(Path file, Map<String, String> env, Map<String, String> flags) {
    Map<String, String> values = new TreeMap<>();
    Set<String> listKeys = new HashSet<>();
    try (InputStream in = ConfigLoader.class.getResourceAsStream("defaults.yaml")) {
      flatten("", YAML.readTree(in), values, listKeys);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read embedded defaults", e);
    }
    Set<String> known = Set.copyOf(values.keySet());
    if (file != null) {
      Map<String, String> fromFile = new TreeMap<>();
      try {
        flatten("", YAML.readTree(Files.readAllBytes(file)), fromFile, new HashSet<>());
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot read config file " + file + ": " + e.getMessage());
      }
      merge(values, fromFile, known, "config file " + file);
    }
    Map<String, String> fromEnv = new TreeMap<>();
    for (String key : known) {
      String name = "KILN_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
      String v = env.get(name);
      if (v != null) {
        fromEnv.put(key, v);
      }
    }
    merge(values, fromEnv, known, "environment");
    merge(values, flags, known, "flags");
    Map<String, Object> tree = unflatten(values, listKeys);
    ServerConfig server = YAML.convertValue(tree.get("server"), ServerConfig.class);
    RepositoryConfig repository = YAML.convertValue(tree.get("repository"), RepositoryConfig.class);
    return new KilnConfig(server, repository, new TreeMap<>(values));
  }

  static <T> T bind(Map<String, String> values, String prefix, Class<T> type) {
    Map<String, String> sub = new TreeMap<>();
    values.forEach((k, v) -> {
      if (k.startsWith(prefix + ".")) {
        sub.put(k.substring(prefix.length() + 1), v);
      }
    });
    try {
      return YAML.convertValue(unflatten(sub, Set.of()), type);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("config section " + prefix + ": " + e.getMessage(), e);
    }
  }

  private static void merge(
      Map<String, String> into, Map<String, String> layer, Set<String> known, String from) {
    for (var e : layer.entrySet()) {
      if (!known.contains(e.getKey())) {
        throw new IllegalArgumentException(
            "unknown config key '" + e.getKey() + "' in " + from + "; known keys: " + known);
      }
      into.put(e.getKey(), e.getValue());
    }
  }

  private static void flatten(
      String prefix, JsonNode node, Map<String, String> out, Set<String> listKeys) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return;
    }
    if (node.isObject()) {
      for (var it = node.properties().iterator(); it.hasNext(); ) {
        var e = it.next();
        flatten(
            prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out, listKeys);
      }
    } else if (node.isArray()) {
      List<String> items = new ArrayList<>();
      node.forEach(n -> items.add(n.asText()));
      out.put(prefix, String.join(",", items));
      listKeys.add(prefix);
    } else {
      out.put(prefix, node.asText());
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> unflatten(Map<String, String> values, Set<String> listKeys) {
    Map<String, Object> root = new LinkedHashMap<>();
    values.forEach((key, value) -> {
      String[] parts = key.split("\\.");
      Map<String, Object> node = root;
      for (int i = 0; i < parts.length - 1; i++) {
        node = (Map<String, Object>) node.computeIfAbsent(parts[i], k -> new LinkedHashMap<>());
      }
      Object leaf =
          listKeys.contains(key)
              ? Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()
              : value;
      node.put(parts[parts.length - 1], leaf);
    });
    return root;
  }

  /** Parses durations as "250ms", "5s", "2m", "1h" or ISO-8601 ("PT5S"). */
  public static Duration parseDuration(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.startsWith("pt") || s.startsWith("p")) {
      return Duration.parse(text.trim());
    }
    int i = 0;
    while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
      i++;
    }
    if (i == 0) {
      throw new IllegalArgumentException("not a duration: '" + text + "' (use e.g. 250ms, 5s, 2m)");
    }
    double n = Double.parseDouble(s.substring(0, i));
    String unit = s.substring(i).trim();
    double nanos =
        switch (unit) {
          case "ns" -> n;
          case "us" -> n * 1e3;
          case "ms" -> n * 1e6;
          case "s", "" -> n * 1e9;
          case "m" -> n * 60e9;
          case "h" -> n * 3600e9;
          default ->
              throw new IllegalArgumentException(
                  "not a duration: '" + text + "' (units: ns, us, ms, s, m, h)");
        };
    return Duration.ofNanos(Math.round(nanos));
  }

  private static final class DurationDeserializer extends StdScalarDeserializer<Duration> {
    private static final long serialVersionUID = 1L;

    DurationDeserializer() {
      super(Duration.class);
    }

    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
      return parseDuration(p.getValueAsString());
    }
  }
}
