package dev.kiln.core.ensemble;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelResolver;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.model.Tensors;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** In-memory member models behind a {@link ModelResolver}, as the registry would serve them. */
final class FakeMembers implements ModelResolver {
  private final Map<String, LoadedModel> models = new ConcurrentHashMap<>();

  FakeMembers put(String name, LoadedModel model) {
    models.put(name, model);
    return this;
  }

  @Override
  public Optional<ModelSignature> signature(String model) {
    return Optional.ofNullable(models.get(model)).map(LoadedModel::signature);
  }

  @Override
  public Map<String, Tensor> infer(String model, InferenceRequest request) {
    LoadedModel m = models.get(model);
    if (m == null) {
      throw KilnException.of(ErrorKind.MODEL_NOT_FOUND, "model '%s' not found", model);
    }
    Tensors.validate(request, m.signature());
    return m.execute(List.of(request)).getFirst().orThrow();
  }

  /** Input {@code x} FP32 [-1, 2]; outputs {@code probabilities} [-1, 2] and {@code label}. */
  static ModelSignature classifierSignature() {
    return new ModelSignature(
        "fake",
        List.of(new TensorSpec("x", DataType.FP32, new long[] {-1, 2})),
        List.of(
            new TensorSpec("probabilities", DataType.FP32, new long[] {-1, 2}),
            new TensorSpec(
                "label", DataType.INT64, new long[] {-1}, null, List.of("no", "yes"), false)),
        0);
  }

  /** A classifier whose probabilities per row are {@code rowFn(x row)}; label is their argmax. */
  static LoadedModel classifier(Function<float[], float[]> rowFn) {
    return model(
        classifierSignature(),
        x -> {
          int rows = (int) x.batchSize();
          float[] p = new float[rows * 2];
          long[] label = new long[rows];
          for (int r = 0; r < rows; r++) {
            float[] out = rowFn.apply(new float[] {x.floats()[2 * r], x.floats()[2 * r + 1]});
            p[2 * r] = out[0];
            p[2 * r + 1] = out[1];
            label[r] = out[1] > out[0] ? 1 : 0;
          }
          return Map.of(
              "probabilities",
              Tensor.ofFloats("probabilities", new long[] {rows, 2}, p),
              "label",
              new Tensor("label", DataType.INT64, new long[] {rows}, label));
        });
  }

  /** A model that answers every request with {@code fn(first input)}. */
  static LoadedModel model(ModelSignature signature, Function<Tensor, Map<String, Tensor>> fn) {
    return new LoadedModel() {
      @Override
      public ModelSignature signature() {
        return signature;
      }

      @Override
      public List<InferenceResult> execute(List<InferenceRequest> batch) {
        return batch.stream()
            .map(r -> {
              try {
                return InferenceResult.ok(fn.apply(r.inputs().values().iterator().next()));
              } catch (KilnException e) {
                return InferenceResult.failed(e);
              }
            })
            .toList();
      }

      @Override
      public void close() {}
    };
  }
}
