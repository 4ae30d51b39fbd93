package dev.kiln.core.registry;

import dev.kiln.core.error.Checks;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Overlays a model config on the signature a runtime read from the model file. */
final class Signatures {
  private Signatures() {}

  static ModelSignature merge(ModelSignature inferred, ModelConfig config) {
    List<TensorSpec> inputs = overlay(inferred.inputs(), config.inputs(), "input");
    List<TensorSpec> outputs = overlay(inferred.outputs(), config.outputs(), "output");
    int maxBatch = config.maxBatchSize() > 0 ? config.maxBatchSize() : inferred.maxBatchSize();
    return new ModelSignature(inferred.platform(), inputs, outputs, maxBatch);
  }

  private static List<TensorSpec> overlay(
      List<TensorSpec> specs, List<ModelConfig.TensorConfig> declared, String what) {
    List<TensorSpec> out = new ArrayList<>(specs);
    for (ModelConfig.TensorConfig tc : declared) {
      int i = indexOf(out, tc.name());
      Checks.require(
          i >= 0,
          "config.yaml names %s '%s' but the model's %ss are %s",
          what,
          tc.name(),
          what,
          specs.stream().map(TensorSpec::name).toList());
      TensorSpec s = out.get(i);
      DataType type = s.datatype();
      if (tc.datatype() != null) {
        DataType declaredType = DataType.parse(tc.datatype(), what + " " + tc.name());
        Checks.require(
            declaredType == type,
            "config.yaml declares %s '%s' as %s but the model has %s",
            what,
            tc.name(),
            declaredType,
            type);
      }
      long[] shape = s.shape();
      if (tc.shape() != null && !tc.shape().isEmpty()) {
        long[] declaredShape = tc.shape().stream().mapToLong(Long::longValue).toArray();
        Checks.require(
            declaredShape.length == shape.length,
            "config.yaml declares %s '%s' with shape %s but the model has %s",
            what,
            tc.name(),
            Arrays.toString(declaredShape),
            Arrays.toString(shape));
        shape = declaredShape;
      }
      List<String> features = tc.features().isEmpty() ? s.features() : tc.features();
      List<String> labels = tc.labels().isEmpty() ? s.labels() : tc.labels();
      boolean nan = tc.allowNan() == null ? s.allowNan() : tc.allowNan();
      out.set(i, new TensorSpec(s.name(), type, shape, features, labels, nan));
    }
    return out;
  }

  private static int indexOf(List<TensorSpec> specs, String name) {
    for (int i = 0; i < specs.size(); i++) {
      if (specs.get(i).name().equals(name)) {
        return i;
      }
    }
    return -1;
  }
}
