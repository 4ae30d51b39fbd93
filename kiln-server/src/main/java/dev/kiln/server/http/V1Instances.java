package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.kiln.core.error.Checks;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Turns v1 {@code instances} into one batched tensor per model input. */
final class V1Instances {
  private V1Instances() {}

  static Map<String, Tensor> toTensors(JsonNode instances, ModelSignature sig) {
    List<TensorSpec> specs = sig.inputs();
    if (specs.size() == 1 && instances.get(0).isValueNode() && allScalars(instances)) {
      TensorSpec spec = specs.getFirst();
      long per = fixedRowSize(spec);
      if (per != 1 && instances.size() == per) {
        // A single flat row: {"instances": [x1, ..., xn]}.
        ArrayNode one = JsonNodeFactory.instance.arrayNode().add(instances);
        return Map.of(spec.name(), build(spec, one, "instances"));
      }
    }
    Map<String, ArrayNode> rows = new LinkedHashMap<>();
    for (TensorSpec spec : specs) {
      rows.put(spec.name(), JsonNodeFactory.instance.arrayNode());
    }
    for (int i = 0; i < instances.size(); i++) {
      JsonNode inst = instances.get(i);
      String field = "instances[" + i + "]";
      if (inst.isObject() && specs.size() == 1 && !isKeyedByInputs(inst, specs)) {
        rows.get(specs.getFirst().name()).add(byFeatures(inst, specs.getFirst(), field));
      } else if (inst.isObject()) {
        for (TensorSpec spec : specs) {
          JsonNode v = inst.get(spec.name());
          Checks.requireInput(v != null, "%s: missing input '%s'", field, spec.name());
          rows.get(spec.name()).add(v);
        }
        Set<String> names = new HashSet<>();
        specs.forEach(s -> names.add(s.name()));
        inst.fieldNames()
            .forEachRemaining(n ->
                Checks.requireInput(
                    names.contains(n),
                    "%s: unknown input '%s'; the model takes %s",
                    field,
                    n,
                    names));
      } else {
        Checks.requireInput(
            specs.size() == 1,
            "%s: this model has %d inputs; give each instance as an object of them",
            field,
            specs.size());
        rows.get(specs.getFirst().name()).add(inst);
      }
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (TensorSpec spec : specs) {
      out.put(spec.name(), build(spec, rows.get(spec.name()), "instances"));
    }
    return out;
  }

  private static boolean allScalars(JsonNode instances) {
    for (JsonNode n : instances) {
      if (!n.isValueNode()) {
        return false;
      }
    }
    return true;
  }

  private static boolean isKeyedByInputs(JsonNode inst, List<TensorSpec> specs) {
    return specs.getFirst().features().isEmpty()
        || inst.has(specs.getFirst().name()) && inst.size() == 1;
  }

  private static JsonNode byFeatures(JsonNode inst, TensorSpec spec, String field) {
    List<String> features = spec.features();
    ArrayNode row = JsonNodeFactory.instance.arrayNode(features.size());
    for (String f : features) {
      JsonNode v = inst.get(f);
      Checks.requireInput(v != null, "%s: missing feature '%s'", field, f);
      row.add(v);
    }
    Set<String> known = new HashSet<>(features);
    inst.fieldNames()
        .forEachRemaining(
            n -> Checks.requireInput(known.contains(n), "%s: unknown feature '%s'", field, n));
    return row;
  }

  /** Elements per row from the spec's non-batch dimensions, or -1 if one of them is variable. */
  private static long fixedRowSize(TensorSpec spec) {
    long n = 1;
    for (int i = 1; i < spec.shape().length; i++) {
      if (spec.shape()[i] < 0) {
        return -1;
      }
      n *= spec.shape()[i];
    }
    return n;
  }

  private static Tensor build(TensorSpec spec, ArrayNode rows, String field) {
    String f = field + "." + spec.name();
    DataBuffer data;
    try (JsonParser p = Json.MAPPER.treeAsTokens(rows)) {
      p.nextToken();
      data = DataBuffer.read(p, f);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int count = rows.size();
    long[] shape = spec.shape().clone();
    if (shape.length == 0) {
      Checks.requireInput(data.size() == 1, "%s: a scalar input takes one value", f);
      return new Tensor(spec.name(), spec.datatype(), shape, data.toArray(spec.datatype(), f));
    }
    shape[0] = count;
    long per = fixedRowSize(spec);
    if (per < 0) {
      int variable = 0;
      long fixed = 1;
      for (int i = 1; i < shape.length; i++) {
        if (shape[i] < 0) {
          variable = i;
        } else {
          fixed *= shape[i];
        }
      }
      long perRow = count == 0 ? 0 : data.size() / count;
      Checks.requireInput(
          fixed > 0 && perRow % fixed == 0,
          "%s: rows of %d elements do not fit shape %s",
          f,
          perRow,
          Arrays.toString(spec.shape()));
      shape[variable] = perRow / fixed;
      per = perRow;
    }
    for (int i = 0; i < count; i++) {
      long leaves = leaves(rows.get(i));
      if (leaves != per) {
        throw KilnException.invalid(
            "%s[%d]: a row needs %d elements (shape %s), got %d",
            field, i, per, Arrays.toString(spec.shape()), leaves);
      }
    }
    if (data.size() != per * count) {
      throw KilnException.invalid(
          "%s: each row needs %d elements (shape %s), got %d in %d rows",
          f, per, Arrays.toString(spec.shape()), data.size(), count);
    }
    return new Tensor(spec.name(), spec.datatype(), shape, data.toArray(spec.datatype(), f));
  }

  private static long leaves(JsonNode n) {
    if (!n.isArray()) {
      return 1;
    }
    long c = 0;
    for (JsonNode x : n) {
      c += leaves(x);
    }
    return c;
  }
}
