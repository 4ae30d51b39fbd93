package dev.kiln.core.model;

import dev.kiln.core.error.Checks;
import java.util.Arrays;
import java.util.List;

/**
 * What a model declares for one input or output. A dimension of -1 is variable (the batch
 * dimension, usually). {@code features} optionally names the columns of the last dimension, so the
 * v1 API can take rows as objects; {@code labels} optionally names class ids of an output. {@code
 * allowNan} says whether NaN is a legal input value (tree models read it as "missing").
 */
public record TensorSpec(
    String name,
    DataType datatype,
    long[] shape,
    List<String> features,
    List<String> labels,
    boolean allowNan) {
  public TensorSpec {
    Checks.require(name != null && !name.isEmpty(), "tensor spec name must not be empty");
    Checks.require(datatype != null, "tensor %s: datatype is required", name);
    Checks.require(shape != null, "tensor %s: shape is required", name);
    for (long d : shape) {
      Checks.require(d >= -1, "tensor %s: dimension %d must be >= -1", name, d);
    }
    features = features == null ? List.of() : List.copyOf(features);
    labels = labels == null ? List.of() : List.copyOf(labels);
    if (!features.isEmpty()) {
      Checks.require(
          shape.length >= 1
              && (shape[shape.length - 1] == -1 || shape[shape.length - 1] == features.size()),
          "tensor %s: %d feature names do not fit shape %s",
          name,
          features.size(),
          Arrays.toString(shape));
    }
  }

  public TensorSpec(String name, DataType datatype, long[] shape) {
    this(name, datatype, shape, List.of(), List.of(), false);
  }

  /** True when the first dimension is variable, so requests can be batched along it. */
  public boolean batched() {
    return shape.length > 0 && shape[0] == -1;
  }

  /** Whether a concrete shape fits this spec (same rank; fixed dimensions equal). */
  public boolean accepts(long[] concrete) {
    if (concrete.length != shape.length) {
      return false;
    }
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] != -1 && shape[i] != concrete[i]) {
        return false;
      }
    }
    return true;
  }

  public TensorSpec withDetails(List<String> newFeatures, List<String> newLabels, boolean nan) {
    return new TensorSpec(name, datatype, shape, newFeatures, newLabels, nan);
  }

  @Override
  public String toString() {
    return name + " " + datatype + " " + Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorSpec t
        && name.equals(t.name)
        && datatype == t.datatype
        && Arrays.equals(shape, t.shape)
        && features.equals(t.features)
        && labels.equals(t.labels)
        && allowNan == t.allowNan;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }
}
