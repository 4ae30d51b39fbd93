package dev.kiln.core.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A directory in Triton's layout: {@code <root>/<model>/<version>/<files>}, versions being positive
 * integers, with an optional {@code <root>/<model>/config.yaml}. Other entries are ignored. Hidden
 * directories (starting with '.') are skipped, so a version can be staged as {@code .3} and renamed
 * into place atomically.
 */
public final class ModelRepository {
  private final Path root;

  public ModelRepository(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  public List<String> modelNames() {
    if (!Files.isDirectory(root)) {
      throw new IllegalStateException("model repository " + root + " is not a directory");
    }
    try (Stream<Path> s = Files.list(root)) {
      return s.filter(Files::isDirectory)
          .map(p -> p.getFileName().toString())
          .filter(n -> !n.startsWith("."))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
  }

  public Path modelDirectory(String model) {
    return root.resolve(model);
  }

  public TreeSet<Long> versions(String model) {
    var out = new TreeSet<Long>();
    Path dir = modelDirectory(model);
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(Files::isDirectory)
          .map(p -> p.getFileName().toString())
          .filter(n -> n.matches("[1-9][0-9]{0,17}"))
          .forEach(n -> out.add(Long.parseLong(n)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
    return out;
  }
}
