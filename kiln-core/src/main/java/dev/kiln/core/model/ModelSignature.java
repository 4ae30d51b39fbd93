package dev.kiln.core.model;

import dev.kiln.core.error.Checks;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

/**
 * A model's inputs and outputs as served. {@code platform} names the runtime and format (as in
 * KServe v2 metadata, e.g. {@code onnxruntime_onnx}); {@code maxBatchSize} 0 means unlimited.
 */
public record ModelSignature(
    String platform, List<TensorSpec> inputs, List<TensorSpec> outputs, int maxBatchSize) {
  public ModelSignature {
    Checks.require(platform != null && !platform.isEmpty(), "platform is required");
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    Checks.require(!inputs.isEmpty(), "a model needs at least one input");
    Checks.require(!outputs.isEmpty(), "a model needs at least one output");
    Checks.require(maxBatchSize >= 0, "max-batch-size must be >= 0, was %d", maxBatchSize);
    var names = new HashSet<String>();
    for (TensorSpec s : inputs) {
      Checks.require(names.add("in:" + s.name()), "input %s is declared twice", s.name());
    }
    for (TensorSpec s : outputs) {
      Checks.require(names.add("out:" + s.name()), "output %s is declared twice", s.name());
    }
  }

  public Optional<TensorSpec> input(String name) {
    return inputs.stream().filter(s -> s.name().equals(name)).findFirst();
  }

  public Optional<TensorSpec> output(String name) {
    return outputs.stream().filter(s -> s.name().equals(name)).findFirst();
  }
}
