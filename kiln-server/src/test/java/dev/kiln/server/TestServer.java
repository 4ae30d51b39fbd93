package dev.kiln.server;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.registry.ModelRegistry;
import dev.kiln.core.time.Ticker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real Kiln on an ephemeral loopback port, serving a repository the test built in a temp
 * directory, plus a real {@link HttpClient} to talk to it. Every request has a timeout so that a
 * hung server fails the test instead of hanging the build.
 */
final class TestServer implements AutoCloseable {
  /** Lenient on NaN so a test can send the literal; the server must reject it, not the client. */
  static final ObjectMapper MAPPER =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private final KilnServer server;
  private final Path repository;
  private final HttpClient client;
  private final String base;

  private TestServer(KilnServer server, Path repository) {
    this.server = server;
    this.repository = repository;
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    this.base = "http://127.0.0.1:" + server.port();
  }

  /** The repository root, {@code -Dkiln.root}, set by the parent pom for tests. */
  static Path kilnRoot() {
    String root = System.getProperty("kiln.root");
    if (root == null || root.isBlank()) {
      throw new IllegalStateException("system property kiln.root is not set (see the parent pom)");
    }
    return Path.of(root);
  }

  /** Copies demo models from {@code <kiln.root>/models} into {@code repository}. */
  static void copyModels(Path repository, String... names) {
    for (String name : names) {
      copyTree(kilnRoot().resolve("models").resolve(name), repository.resolve(name));
    }
  }

  static void copyTree(Path from, Path to) {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Rewrites the {@code backend:} line of a copied model's config.yaml. */
  static void setBackend(Path repository, String model, String backend) {
    Path config = repository.resolve(model).resolve("config.yaml");
    try {
      String text = Files.readString(config);
      Files.writeString(config, text.replaceFirst("(?m)^backend:.*$", "backend: " + backend));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies the demo models and starts a server on them with the runtimes on the class path. */
  static TestServer withModels(Path repository, Map<String, String> flags, String... models) {
    copyModels(repository, models);
    return start(repository, flags);
  }

  static TestServer start(Path repository, Map<String, String> flags) {
    return start(repository, flags, ModelRegistry.discoverRuntimes());
  }

  static TestServer start(Path repository, Map<String, String> flags, List<ModelRuntime> runtimes) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("server.port", "0");
    all.put("server.host", "127.0.0.1");
    all.put("repository.path", repository.toString());
    all.putAll(flags);
    // No environment layer: a KILN_* variable on the machine must not change what a test sees.
    var config = ConfigLoader.load(null, Map.of(), all);
    return new TestServer(KilnServer.start(config, runtimes, Ticker.system()), repository);
  }

  KilnServer server() {
    return server;
  }

  Path repository() {
    return repository;
  }

  int port() {
    return server.port();
  }

  URI uri(String path) {
    return URI.create(base + path);
  }

  HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(uri(path)).timeout(REQUEST_TIMEOUT);
  }

  Reply get(String path) {
    return send(request(path).GET());
  }

  /** POSTs a JSON text with {@code Content-Type: application/json}. */
  Reply post(String path, String json) {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)));
  }

  /** POSTs a JSON tree. */
  Reply post(String path, JsonNode json) {
    return post(path, json.toString());
  }

  /** POSTs raw bytes with the given header name/value pairs and nothing else (no Content-Type). */
  Reply postBytes(String path, byte[] body, String... headers) {
    var b = request(path).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b);
  }

  Reply send(HttpRequest.Builder request) {
    try {
      HttpResponse<byte[]> r =
          client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      return new Reply(r.statusCode(), r.headers(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } finally {
      client.shutdownNow();
    }
  }

  /** One HTTP answer. */
  record Reply(int status, HttpHeaders headers, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    JsonNode json() {
      try {
        return MAPPER.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException("not JSON (status " + status + "): " + text(), e);
      }
    }

    String contentType() {
      return headers.firstValue("Content-Type").orElse("");
    }

    @Override
    public String toString() {
      return "HTTP " + status + " " + contentType() + " " + text();
    }
  }
}
