package dev.kiln.trees;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parts of an ONNX {@code ModelProto} that the tree evaluator needs, read with {@link
 * Protobuf}: the graph's nodes with their attributes, its inputs and outputs with element types and
 * shapes, and its initializers' names (their data is skipped). Field numbers are those of {@code
 * onnx/onnx.proto3}.
 */
record OnnxGraph(
    List<Node> nodes, List<ValueInfo> inputs, List<ValueInfo> outputs, Set<String> initializers) {

  /** ONNX {@code TensorProto.DataType} codes Kiln maps. */
  static final int FLOAT = 1;

  static final int INT64 = 7;

  record Node(
      String opType,
      String domain,
      List<String> inputs,
      List<String> outputs,
      Map<String, Attribute> attributes) {
    Attribute attribute(String name) {
      return attributes.get(name);
    }
  }

  /**
   * One attribute; only the fields Kiln reads. {@code other} is true when the attribute holds a
   * tensor, graph or other value Kiln does not read.
   */
  record Attribute(
      String name,
      float f,
      long i,
      String s,
      float[] floats,
      long[] ints,
      List<String> strings,
      boolean other) {}

  /** A graph input or output: {@code elemType} 0 when not a tensor; -1 for symbolic dims. */
  record ValueInfo(String name, int elemType, long[] shape) {}

  static OnnxGraph parse(ByteBuffer model) {
    var r = new Protobuf(model);
    OnnxGraph graph = null;
    while (r.next()) {
      if (r.field() == 7) {
        graph = graph(r.message());
      } else {
        r.skip();
      }
    }
    if (graph == null) {
      throw new IllegalArgumentException("no graph");
    }
    return graph;
  }

  private static OnnxGraph graph(Protobuf r) {
    List<Node> nodes = new ArrayList<>();
    List<ValueInfo> inputs = new ArrayList<>();
    List<ValueInfo> outputs = new ArrayList<>();
    Set<String> initializers = new HashSet<>();
    while (r.next()) {
      switch (r.field()) {
        case 1 -> nodes.add(node(r.message()));
        case 5, 15 -> initializers.add(initializerName(r.message(), r.field() == 15));
        case 11 -> inputs.add(valueInfo(r.message()));
        case 12 -> outputs.add(valueInfo(r.message()));
        default -> r.skip();
      }
    }
    return new OnnxGraph(nodes, inputs, outputs, initializers);
  }

  /** TensorProto.name is field 8; a SparseTensorProto's name is in its values (field 1). */
  private static String initializerName(Protobuf r, boolean sparse) {
    String name = "";
    while (r.next()) {
      if (sparse && r.field() == 1) {
        name = initializerName(r.message(), false);
      } else if (!sparse && r.field() == 8) {
        name = r.string();
      } else {
        r.skip();
      }
    }
    return name;
  }

  private static Node node(Protobuf r) {
    List<String> in = new ArrayList<>();
    List<String> out = new ArrayList<>();
    String op = "";
    String domain = "";
    Map<String, Attribute> attributes = new HashMap<>();
    while (r.next()) {
      switch (r.field()) {
        case 1 -> in.add(r.string());
        case 2 -> out.add(r.string());
        case 4 -> op = r.string();
        case 7 -> domain = r.string();
        case 5 -> {
          Attribute a = attribute(r.message());
          attributes.put(a.name(), a);
        }
        default -> r.skip();
      }
    }
    return new Node(op, domain, in, out, attributes);
  }

  private static Attribute attribute(Protobuf r) {
    String name = "";
    float f = 0;
    long i = 0;
    String s = null;
    var floats = new Protobuf.FloatList();
    var ints = new Protobuf.LongList();
    List<String> strings = new ArrayList<>();
    boolean other = false;
    while (r.next()) {
      switch (r.field()) {
        case 1 -> name = r.string();
        case 2 -> f = r.fixed32Float();
        case 3 -> i = r.varint();
        case 4 -> s = r.string();
        case 7 -> r.floats(floats);
        case 8 -> r.int64s(ints);
        case 9 -> strings.add(r.string());
        case 5, 6, 10, 11, 14, 15, 22, 23 -> {
          other = true;
          r.skip();
        }
        default -> r.skip();
      }
    }
    return new Attribute(name, f, i, s, floats.toArray(), ints.toArray(), strings, other);
  }

  private static ValueInfo valueInfo(Protobuf r) {
    String name = "";
    int elem = 0;
    long[] shape = null;
    while (r.next()) {
      if (r.field() == 1) {
        name = r.string();
      } else if (r.field() == 2) {
        Protobuf type = r.message();
        while (type.next()) {
          if (type.field() == 1) { // TypeProto.tensor_type
            Protobuf tensor = type.message();
            while (tensor.next()) {
              if (tensor.field() == 1) {
                elem = (int) tensor.varint();
              } else if (tensor.field() == 2) {
                shape = shape(tensor.message());
              } else {
                tensor.skip();
              }
            }
          } else {
            type.skip();
          }
        }
      } else {
        r.skip();
      }
    }
    return new ValueInfo(name, elem, shape);
  }

  private static long[] shape(Protobuf r) {
    var dims = new Protobuf.LongList();
    while (r.next()) {
      if (r.field() == 1) {
        Protobuf dim = r.message();
        long v = -1;
        while (dim.next()) {
          if (dim.field() == 1) {
            v = dim.varint();
          } else {
            dim.skip();
          }
        }
        dims.add(v);
      } else {
        r.skip();
      }
    }
    return dims.toArray();
  }
}
