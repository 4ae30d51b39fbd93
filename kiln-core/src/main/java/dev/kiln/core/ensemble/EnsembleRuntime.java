package dev.kiln.core.ensemble;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelResolver;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.registry.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code ensemble} backend. It owns no files (the version directory may be empty, as in
 * Triton): everything is in the model's {@code config.yaml} {@code ensemble} block, which it reads
 * from the version directory's parent. Chosen only by name, never by claiming files.
 *
 * <p>The served signature is fixed at load. Inputs: those declared in config.yaml (name, datatype
 * and shape each), else the first member's. Outputs: those declared, else by combiner:
 *
 * <ul>
 *   <li>{@code mean}, {@code weighted-mean}: {@code <output>} FP32 with the first member's shape
 *       for it, plus {@code label} INT64 [-1] (argmax, ties to the lowest class) when that shape is
 *       [-1, K] with K != 1;
 *   <li>{@code vote}: {@code label} INT64 [-1];
 *   <li>{@code stack}: the final model's outputs.
 * </ul>
 *
 * Labels names are copied from the first member's {@code label} output. When a member whose
 * signature is needed is not ready at load (and nothing is declared), the load fails and says so;
 * the registry loads ensembles after other models, so members are normally ready.
 */
public final class EnsembleRuntime implements ModelRuntime {
  static final String PLATFORM = "ensemble";

  /** For {@link java.util.ServiceLoader}. */
  public EnsembleRuntime() {}

  @Override
  public String name() {
    return ModelConfig.ENSEMBLE_BACKEND;
  }

  /** Never: an ensemble has no files to recognise, only {@code backend: ensemble}. */
  @Override
  public int claims(Path versionDirectory) {
    return 0;
  }

  @Override
  public LoadedModel load(ModelSource source) {
    Path modelDirectory = source.directory().toAbsolutePath().getParent();
    ModelConfig config = ModelConfig.read(modelDirectory);
    return load(source.model(), config, source.resolver());
  }

  /** Builds the ensemble from an already-read config. */
  static EnsembleModel load(String name, ModelConfig config, ModelResolver resolver) {
    ModelConfig.Ensemble e = config.ensemble();
    if (e == null) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "backend 'ensemble' needs an ensemble block (members, combiner) in config.yaml");
    }
    if (e.members().contains(name) || name.equals(e.finalModel())) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "ensemble '%s' names itself; an ensemble cannot contain itself",
          name);
    }
    Plan plan = Plan.of(e);
    return new EnsembleModel(name, plan, signature(config, plan, resolver), resolver);
  }

  static ModelSignature signature(ModelConfig config, Plan plan, ModelResolver resolver) {
    List<TensorSpec> inputs = declared(config.inputs());
    if (inputs == null) {
      inputs = member(resolver, plan.members().getFirst(), "inputs").inputs();
    }
    List<TensorSpec> outputs = declared(config.outputs());
    if (outputs == null) {
      outputs =
          switch (plan.combiner()) {
            case MEAN, WEIGHTED_MEAN -> meanOutputs(plan, resolver);
            case VOTE ->
                List.of(labelSpec(member(resolver, plan.members().getFirst(), "labels"), plan));
            case STACK -> member(resolver, plan.finalModel(), "outputs").outputs();
          };
    }
    return new ModelSignature(PLATFORM, inputs, outputs, 0);
  }

  private static List<TensorSpec> meanOutputs(Plan plan, ModelResolver resolver) {
    String first = plan.members().getFirst();
    ModelSignature ms = member(resolver, first, "outputs");
    TensorSpec spec =
        ms.output(plan.output())
            .orElseThrow(() ->
                KilnException.of(
                    ErrorKind.UNSUPPORTED,
                    "member '%s' has no output '%s' to combine; its outputs are %s",
                    first,
                    plan.output(),
                    ms.outputs().stream().map(TensorSpec::name).toList()));
    List<TensorSpec> out = new ArrayList<>();
    out.add(new TensorSpec(spec.name(), DataType.FP32, spec.shape(), null, spec.labels(), false));
    long[] shape = spec.shape();
    if (!plan.output().equals(Plan.LABEL) && shape.length == 2 && shape[1] != 1) {
      out.add(labelSpec(ms, plan));
    }
    return out;
  }

  private static TensorSpec labelSpec(ModelSignature member, Plan plan) {
    List<String> names = member.output(Plan.LABEL).map(TensorSpec::labels).orElse(List.of());
    return new TensorSpec(Plan.LABEL, DataType.INT64, new long[] {-1}, null, names, false);
  }

  private static ModelSignature member(ModelResolver resolver, String model, String what) {
    return resolver
        .signature(model)
        .orElseThrow(() ->
            KilnException.of(
                ErrorKind.MODEL_NOT_READY,
                "model '%s' is not ready, so the ensemble's %s are unknown; load it first or"
                    + " declare the ensemble's inputs and outputs (name, datatype, shape) in"
                    + " config.yaml",
                model,
                what));
  }

  /** The declared tensors, when every one has a datatype and a shape; else null. */
  private static List<TensorSpec> declared(List<ModelConfig.TensorConfig> tensors) {
    if (tensors.isEmpty()
        || tensors.stream().anyMatch(t -> t.datatype() == null || t.shape() == null)) {
      return null;
    }
    return tensors.stream()
        .map(t ->
            new TensorSpec(
                t.name(),
                DataType.parse(t.datatype(), t.name()),
                t.shape().stream().mapToLong(Long::longValue).toArray(),
                t.features(),
                t.labels(),
                t.allowNan() != null && t.allowNan()))
        .toList();
  }
}
