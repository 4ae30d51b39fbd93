package dev.kiln.core.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Builds a model repository in a temporary directory, in Triton's layout. */
final class TestRepository {
  private final Path root;

  TestRepository(Path root) {
    this.root = root;
  }

  Path root() {
    return root;
  }

  /** Adds {@code <root>/<model>/<version>/model.fake}. */
  TestRepository version(String model, long version) {
    write(root.resolve(model).resolve(Long.toString(version)).resolve("model.fake"), "fake");
    return this;
  }

  /** Adds a version whose load fails. */
  TestRepository brokenVersion(String model, long version) {
    version(model, version);
    write(root.resolve(model).resolve(Long.toString(version)).resolve(FakeRuntime.BROKEN), "");
    return this;
  }

  TestRepository config(String model, String yaml) {
    write(root.resolve(model).resolve(ModelConfig.FILE_NAME), yaml);
    return this;
  }

  TestRepository directory(String relative) {
    try {
      Files.createDirectories(root.resolve(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  TestRepository file(String relative) {
    write(root.resolve(relative), "");
    return this;
  }

  TestRepository remove(String relative) {
    try (Stream<Path> s = Files.walk(root.resolve(relative))) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  private static void write(Path file, String text) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
