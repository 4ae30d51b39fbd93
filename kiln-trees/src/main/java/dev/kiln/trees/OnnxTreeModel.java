package dev.kiln.trees;

import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code model.onnx} whose graph is a scikit-learn style tree ensemble, served by {@link
 * OnnxTreeEnsemble} instead of ONNX Runtime, under the graph's own input and output names so
 * clients see no difference. The graphs Kiln takes: one {@code ai.onnx.ml} TreeEnsembleClassifier
 * or TreeEnsembleRegressor on the one FP32 {@code [N, F]} input, optionally followed by an {@code
 * ArgMax} over the classifier's scores (axis 1, first maximum), which is how Kiln's converter
 * ({@code tools/fixtures/sk2onnx_trees.py}) emits the label. Anything else is UNSUPPORTED, and
 * {@link TreeRuntime#claims} then leaves the file to ONNX Runtime.
 */
final class OnnxTreeModel implements LoadedModel {
  static final String PLATFORM = "kiln_trees_onnx";
  static final String ML_DOMAIN = "ai.onnx.ml";

  private static final System.Logger LOG = System.getLogger(OnnxTreeModel.class.getName());

  private final String label;
  private final OnnxTreeEnsemble trees;
  private final String inputName;
  private final String scoresName;

  /** The ArgMax output, or null. */
  private final String argmaxName;

  private final boolean argmaxKeepDims;
  private final ModelSignature signature;

  private OnnxTreeModel(
      String label,
      OnnxTreeEnsemble trees,
      String inputName,
      String scoresName,
      String argmaxName,
      boolean argmaxKeepDims,
      ModelSignature signature) {
    this.label = label;
    this.trees = trees;
    this.inputName = inputName;
    this.scoresName = scoresName;
    this.argmaxName = argmaxName;
    this.argmaxKeepDims = argmaxKeepDims;
    this.signature = signature;
  }

  /** Reads {@code file} (memory-mapped; initializers are skipped, not read). */
  static OnnxGraph readGraph(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      if (ch.size() > Integer.MAX_VALUE) {
        throw new IOException("larger than 2 GiB");
      }
      ByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
      try {
        return OnnxGraph.parse(buf);
      } catch (IllegalArgumentException e) {
        throw new IOException("not a valid ONNX model: " + e.getMessage(), e);
      }
    }
  }

  /**
   * The model for {@code graph}, or UNSUPPORTED naming what Kiln does not evaluate (then ONNX
   * Runtime serves the file).
   */
  static OnnxTreeModel from(OnnxGraph graph, String label) {
    List<OnnxGraph.ValueInfo> inputs =
        graph.inputs().stream().filter(v -> !graph.initializers().contains(v.name())).toList();
    if (inputs.size() != 1) {
      throw OnnxTreeEnsemble.unsupported("the graph has %d inputs, not 1", inputs.size());
    }
    OnnxGraph.ValueInfo input = inputs.getFirst();
    if (input.elemType() != OnnxGraph.FLOAT
        || input.shape() == null
        || input.shape().length != 2
        || input.shape()[1] < 1) {
      throw OnnxTreeEnsemble.unsupported("input %s is not FLOAT [N, F]", input.name());
    }
    int nf = (int) input.shape()[1];
    List<OnnxGraph.Node> nodes = graph.nodes();
    if (nodes.isEmpty() || nodes.size() > 2) {
      throw OnnxTreeEnsemble.unsupported(
          "%d nodes; Kiln takes a tree ensemble (+ ArgMax)", nodes.size());
    }
    OnnxGraph.Node te = nodes.getFirst();
    boolean classifier = te.opType().equals("TreeEnsembleClassifier");
    if (!te.domain().equals(ML_DOMAIN)
        || !(classifier || te.opType().equals("TreeEnsembleRegressor"))
        || te.inputs().size() != 1
        || !te.inputs().getFirst().equals(input.name())) {
      throw OnnxTreeEnsemble.unsupported(
          "node %s.%s is not a tree ensemble on the input", te.domain(), te.opType());
    }
    // Classifier outputs: Y (ORT's own label, with binary rules sklearn does not share), Z.
    String scores =
        classifier ? (te.outputs().size() > 1 ? te.outputs().get(1) : "") : te.outputs().getFirst();
    String ortLabel = classifier ? te.outputs().getFirst() : "";
    String argmax = null;
    boolean keepDims = false;
    if (nodes.size() == 2) {
      OnnxGraph.Node am = nodes.get(1);
      OnnxGraph.Attribute axis = am.attribute("axis");
      OnnxGraph.Attribute keep = am.attribute("keepdims");
      OnnxGraph.Attribute last = am.attribute("select_last_index");
      if (!classifier
          || !am.opType().equals("ArgMax")
          || !am.domain().isEmpty()
          || am.inputs().size() != 1
          || !am.inputs().getFirst().equals(scores)
          || am.outputs().size() != 1
          || axis == null
          || (axis.i() != 1 && axis.i() != -1)
          || (last != null && last.i() != 0)) {
        throw OnnxTreeEnsemble.unsupported("the second node is not ArgMax(axis=1) of the scores");
      }
      argmax = am.outputs().getFirst();
      keepDims = keep == null || keep.i() != 0;
    }
    OnnxTreeEnsemble trees = OnnxTreeEnsemble.from(te, nf);
    int k = trees.numTargets();
    List<TensorSpec> outputs = new ArrayList<>();
    for (OnnxGraph.ValueInfo out : graph.outputs()) {
      if (out.name().equals(scores) && !scores.isEmpty()) {
        require(out.elemType() == OnnxGraph.FLOAT, "output %s is not FLOAT", out.name());
        outputs.add(spec(out, DataType.FP32, new long[] {-1, k}));
      } else if (out.name().equals(argmax)) {
        require(out.elemType() == OnnxGraph.INT64, "output %s is not INT64", out.name());
        outputs.add(spec(out, DataType.INT64, keepDims ? new long[] {-1, 1} : new long[] {-1}));
      } else if (out.name().equals(ortLabel)) {
        throw OnnxTreeEnsemble.unsupported(
            "output %s is the classifier's own label (ORT's binary rules)", out.name());
      } else {
        throw OnnxTreeEnsemble.unsupported("output %s is not produced by the trees", out.name());
      }
    }
    require(!outputs.isEmpty(), "the graph has no outputs");
    // NaN is refused as for ONNX Runtime models (no allowNan): converted sklearn graphs do not
    // carry sklearn's NaN routing, so a NaN answer would not be sklearn's.
    var in = new TensorSpec(input.name(), DataType.FP32, new long[] {-1, nf});
    var signature = new ModelSignature(PLATFORM, List.of(in), outputs, 0);
    return new OnnxTreeModel(label, trees, input.name(), scores, argmax, keepDims, signature);
  }

  /** The graph's shape where it is concrete (symbolic dims as -1), else the expected one. */
  private static TensorSpec spec(OnnxGraph.ValueInfo out, DataType type, long[] expected) {
    long[] shape = out.shape() == null ? expected : out.shape();
    require(
        shape.length == expected.length
            && (shape.length < 2 || shape[1] == -1 || shape[1] == expected[1]),
        "output %s has shape %s, expected %s",
        out.name(),
        java.util.Arrays.toString(shape),
        java.util.Arrays.toString(expected));
    long[] s = shape.clone();
    s[0] = -1;
    return new TensorSpec(out.name(), type, s);
  }

  private static void require(boolean ok, String format, Object... args) {
    if (!ok) {
      throw OnnxTreeEnsemble.unsupported(format, args);
    }
  }

  OnnxTreeEnsemble trees() {
    return trees;
  }

  @Override
  public ModelSignature signature() {
    return signature;
  }

  @Override
  public List<InferenceResult> execute(List<InferenceRequest> batch) {
    return InferenceResult.eachAlone(batch, this::run, "kiln-trees " + label);
  }

  private Map<String, Tensor> run(InferenceRequest request) {
    Tensor t = request.inputs().get(inputName);
    int nf = trees.numFeatures();
    if (t == null || t.datatype() != DataType.FP32 || t.shape().length != 2 || t.shape()[1] != nf) {
      throw KilnException.invalid(
          "inputs.%s: expected FP32 [-1, %d]%s",
          inputName, nf, t == null ? ", got nothing" : ", got " + t);
    }
    int rows = Math.toIntExact(t.shape()[0]);
    float[] scores = trees.scores(t.floats(), rows);
    int k = trees.numTargets();
    Map<String, Tensor> out = new HashMap<>();
    List<String> wanted =
        request.outputs().isEmpty()
            ? signature.outputs().stream().map(TensorSpec::name).toList()
            : request.outputs();
    for (String name : wanted) {
      if (name.equals(scoresName)) {
        out.put(name, Tensor.ofFloats(name, new long[] {rows, k}, scores));
      } else if (name.equals(argmaxName)) {
        long[] labels = new long[rows];
        for (int r = 0; r < rows; r++) {
          labels[r] = Objective.argmax(scores, r * k, k);
        }
        long[] shape = argmaxKeepDims ? new long[] {rows, 1} : new long[] {rows};
        out.put(name, new Tensor(name, DataType.INT64, shape, labels));
      } else {
        throw KilnException.invalid(
            "outputs: unknown output '%s'; the model has %s",
            name, signature.outputs().stream().map(TensorSpec::name).toList());
      }
    }
    return out;
  }

  @Override
  public void close() {
    // Plain arrays: nothing to release.
  }
}
