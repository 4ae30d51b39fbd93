package dev.kiln.core.registry;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.ModelRuntime;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** The runtimes on the class path, and the choice of one for a model. */
final class Runtimes {
  private final List<ModelRuntime> all;

  Runtimes(List<ModelRuntime> all) {
    this.all = List.copyOf(all);
  }

  static List<ModelRuntime> discover() {
    return ServiceLoader.load(ModelRuntime.class).stream()
        .map(ServiceLoader.Provider::get)
        .toList();
  }

  ModelRuntime choose(String backend, Path versionDirectory) {
    if (!backend.isEmpty()) {
      return all.stream()
          .filter(r -> r.name().equals(backend))
          .findFirst()
          .orElseThrow(() ->
              KilnException.of(
                  ErrorKind.UNSUPPORTED,
                  "backend '%s' is not available; installed: %s",
                  backend,
                  all.stream().map(ModelRuntime::name).toList()));
    }
    return all.stream()
        .filter(r -> r.claims(versionDirectory) > 0)
        .max(Comparator.comparingInt(r -> r.claims(versionDirectory)))
        .orElseThrow(() ->
            KilnException.of(
                ErrorKind.UNSUPPORTED,
                "no runtime recognises the files in %s; name a backend in config.yaml",
                versionDirectory));
  }
}
