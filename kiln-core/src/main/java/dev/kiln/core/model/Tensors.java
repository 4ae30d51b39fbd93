package dev.kiln.core.model;

import dev.kiln.core.error.Checks;
import java.util.Arrays;
import java.util.List;

/** Batch-dimension arithmetic: join requests' tensors into one batch and split results back. */
public final class Tensors {
  private Tensors() {}

  /** Concatenates tensors of the same name, type and trailing shape along dimension 0. */
  public static Tensor concat(List<Tensor> parts) {
    Checks.require(!parts.isEmpty(), "nothing to concatenate");
    Tensor first = parts.getFirst();
    if (parts.size() == 1) {
      return first;
    }
    Checks.require(first.shape().length >= 1, "tensor %s has no batch dimension", first.name());
    long rows = 0;
    int total = 0;
    for (Tensor t : parts) {
      Checks.require(
          t.datatype() == first.datatype()
              && t.shape().length == first.shape().length
              && Arrays.equals(t.shape(), 1, t.shape().length, first.shape(), 1, t.shape().length),
          "cannot batch %s with %s",
          t,
          first);
      rows += t.shape()[0];
      total += t.size();
    }
    Object out = first.datatype().allocate(total);
    int at = 0;
    for (Tensor t : parts) {
      System.arraycopy(t.data(), 0, out, at, t.size());
      at += t.size();
    }
    long[] shape = first.shape().clone();
    shape[0] = rows;
    return new Tensor(first.name(), first.datatype(), shape, out);
  }

  /** Rows {@code [fromRow, fromRow + rowCount)} of a tensor batched along dimension 0. */
  public static Tensor slice(Tensor t, long fromRow, long rowCount) {
    if (fromRow == 0 && rowCount == t.batchSize()) {
      return t;
    }
    long[] shape = t.shape().clone();
    int rowSize = t.shape()[0] == 0 ? 0 : (int) (t.size() / t.shape()[0]);
    shape[0] = rowCount;
    Object out = t.datatype().allocate((int) (rowCount * rowSize));
    System.arraycopy(t.data(), (int) (fromRow * rowSize), out, 0, (int) (rowCount * rowSize));
    return new Tensor(t.name(), t.datatype(), shape, out);
  }

  /**
   * Checks a request against a signature: every input present, known, of the right type and shape,
   * the batch within the limit, no NaN where the input forbids it, every requested output known.
   * The message names the offending field.
   */
  public static void validate(InferenceRequest request, ModelSignature signature) {
    for (String name : request.inputs().keySet()) {
      Checks.requireInput(
          signature.input(name).isPresent(),
          "inputs: unknown input '%s'; the model takes %s",
          name,
          signature.inputs().stream().map(TensorSpec::name).toList());
    }
    long batch = -1;
    for (TensorSpec spec : signature.inputs()) {
      Tensor t = request.inputs().get(spec.name());
      Checks.requireInput(t != null, "inputs: missing input '%s'", spec.name());
      Checks.requireInput(
          t.datatype() == spec.datatype(),
          "inputs.%s.datatype: expected %s, got %s",
          spec.name(),
          spec.datatype(),
          t.datatype());
      Checks.requireInput(
          spec.accepts(t.shape()),
          "inputs.%s.shape: %s does not match the model's %s",
          spec.name(),
          Arrays.toString(t.shape()),
          Arrays.toString(spec.shape()));
      if (spec.batched()) {
        Checks.requireInput(
            batch < 0 || batch == t.shape()[0],
            "inputs.%s.shape: batch size %d differs from other inputs' %d",
            spec.name(),
            t.shape()[0],
            batch);
        batch = t.shape()[0];
      }
      if (!spec.allowNan()) {
        checkFinite(spec.name(), t);
      }
    }
    if (signature.maxBatchSize() > 0 && batch > signature.maxBatchSize()) {
      throw dev.kiln.core.error.KilnException.invalid(
          "inputs: batch size %d exceeds the model's max-batch-size %d",
          batch, signature.maxBatchSize());
    }
    for (String out : request.outputs()) {
      Checks.requireInput(
          signature.output(out).isPresent(),
          "outputs: unknown output '%s'; the model has %s",
          out,
          signature.outputs().stream().map(TensorSpec::name).toList());
    }
  }

  private static void checkFinite(String name, Tensor t) {
    switch (t.datatype()) {
      case FP32 -> {
        float[] a = t.floats();
        for (int i = 0; i < a.length; i++) {
          Checks.requireInput(
              Float.isFinite(a[i]), "inputs.%s.data[%d]: %s is not allowed", name, i, a[i]);
        }
      }
      case FP64 -> {
        double[] a = t.doubles();
        for (int i = 0; i < a.length; i++) {
          Checks.requireInput(
              Double.isFinite(a[i]), "inputs.%s.data[%d]: %s is not allowed", name, i, a[i]);
        }
      }
      default -> {}
    }
  }
}
