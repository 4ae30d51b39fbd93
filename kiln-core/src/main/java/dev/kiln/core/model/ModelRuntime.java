package dev.kiln.core.model;

import java.nio.file.Path;

/**
 * A backend that turns model files into {@link LoadedModel}s: ONNX Runtime, Kiln's tree evaluator,
 * the LLM engine. Implementations are found with {@link java.util.ServiceLoader}, so they need a
 * public no-argument constructor and a {@code META-INF/services/dev.kiln.core.model.ModelRuntime}
 * entry.
 */
public interface ModelRuntime {
  /** The backend name a model config uses to pick this runtime, e.g. {@code onnxruntime}. */
  String name();

  /**
   * Whether this runtime recognises the files of a version directory, for configs that name no
   * backend. Higher numbers win; 0 means no.
   */
  int claims(Path versionDirectory);

  /** Loads one version. Throws {@link dev.kiln.core.error.KilnException} with a clear reason. */
  LoadedModel load(ModelSource source);
}
