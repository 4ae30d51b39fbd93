package dev.kiln.core.model;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.Map;
import java.util.Optional;

/**
 * Runs requests on other models by name, for runtimes whose models call models (ensembles). Names
 * are resolved at each call, so the models called may load in any order and their reloads are
 * picked up; each call holds the named model's highest ready version for its own length.
 */
public interface ModelResolver {
  /** For runtimes loaded outside a registry: every call fails with UNSUPPORTED. */
  ModelResolver NONE =
      new ModelResolver() {
        @Override
        public Optional<ModelSignature> signature(String model) {
          return Optional.empty();
        }

        @Override
        public Map<String, Tensor> infer(String model, InferenceRequest request) {
          throw KilnException.of(
              ErrorKind.UNSUPPORTED, "no model registry to call model '%s' through", model);
        }
      };

  /** The served signature of the model's highest ready version, or empty if none is ready. */
  Optional<ModelSignature> signature(String model);

  /**
   * Validates one request against the model's highest ready version and runs it. Returns the
   * outputs; throws the request's {@link KilnException} (MODEL_NOT_FOUND, MODEL_NOT_READY, ...).
   */
  Map<String, Tensor> infer(String model, InferenceRequest request);
}
