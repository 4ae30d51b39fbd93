package dev.kiln.trees;

import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One LightGBM model version ({@code model.txt}), with the same outputs as an XGBoost one (see
 * {@link TreeModel}): {@code prediction} for regression, {@code probabilities} and {@code label}
 * for classifiers, always {@code margin} (LightGBM's {@code raw_score=True}). Scores are computed
 * in double, as LightGBM does, and rounded to FP32 only in the outputs. Immutable.
 */
final class LightgbmModel implements LoadedModel {
  static final String PLATFORM = "kiln_lightgbm";

  private static final System.Logger LOG = System.getLogger(LightgbmModel.class.getName());

  private final String label;
  private final LightgbmText model;
  private final LightgbmForest forest;
  private final ModelSignature signature;

  LightgbmModel(String label, LightgbmText model) {
    this.label = label;
    this.model = model;
    this.forest = model.forest();
    int nf = forest.numFeatures();
    int k = forest.numClasses();
    var input =
        new TensorSpec(
            TreeModel.INPUT,
            DataType.FP32,
            new long[] {-1, nf},
            model.featureNames(),
            List.of(),
            true);
    List<TensorSpec> outputs = new ArrayList<>();
    if (model.objective().kind() == Objective.Kind.REGRESSION) {
      outputs.add(new TensorSpec(TreeModel.PREDICTION, DataType.FP32, new long[] {-1}));
    } else {
      int classes = Math.max(2, k);
      outputs.add(new TensorSpec(TreeModel.PROBABILITIES, DataType.FP32, new long[] {-1, classes}));
      outputs.add(new TensorSpec(TreeModel.LABEL, DataType.INT64, new long[] {-1}));
    }
    outputs.add(
        new TensorSpec(
            TreeModel.MARGIN, DataType.FP32, k == 1 ? new long[] {-1} : new long[] {-1, k}));
    this.signature = new ModelSignature(PLATFORM, List.of(input), outputs, 0);
  }

  @Override
  public ModelSignature signature() {
    return signature;
  }

  LightgbmText model() {
    return model;
  }

  @Override
  public List<InferenceResult> execute(List<InferenceRequest> batch) {
    return InferenceResult.eachAlone(batch, this::run, "kiln-trees " + label);
  }

  private Map<String, Tensor> run(InferenceRequest request) {
    Tensor t = request.inputs().get(TreeModel.INPUT);
    int nf = forest.numFeatures();
    if (t == null || t.datatype() != DataType.FP32 || t.shape().length != 2 || t.shape()[1] != nf) {
      throw KilnException.invalid(
          "inputs.%s: expected FP32 [-1, %d]%s",
          TreeModel.INPUT, nf, t == null ? ", got nothing" : ", got " + t);
    }
    int rows = Math.toIntExact(t.shape()[0]);
    double[] raw = forest.rawScores(t.floats(), rows);
    List<String> wanted =
        request.outputs().isEmpty()
            ? signature.outputs().stream().map(TensorSpec::name).toList()
            : request.outputs();
    int k = forest.numClasses();
    LightgbmObjective objective = model.objective();
    Map<String, Tensor> out = new HashMap<>();
    for (String name : wanted) {
      switch (name) {
        case TreeModel.MARGIN ->
            out.put(
                name,
                Tensor.ofFloats(
                    name, k == 1 ? new long[] {rows} : new long[] {rows, k}, toFloats(raw)));
        case TreeModel.PREDICTION -> {
          float[] p = new float[rows];
          for (int r = 0; r < rows; r++) {
            p[r] = (float) objective.apply(raw[r]);
          }
          out.put(name, Tensor.ofFloats(name, new long[] {rows}, p));
        }
        case TreeModel.PROBABILITIES -> out.put(name, probabilities(raw, rows));
        case TreeModel.LABEL -> {
          long[] labels = new long[rows];
          for (int r = 0; r < rows; r++) {
            labels[r] = k == 1 ? (objective.apply(raw[r]) > 0.5 ? 1 : 0) : argmax(raw, r * k, k);
          }
          out.put(name, new Tensor(name, DataType.INT64, new long[] {rows}, labels));
        }
        default ->
            throw KilnException.invalid(
                "outputs: unknown output '%s'; the model has %s",
                name, signature.outputs().stream().map(TensorSpec::name).toList());
      }
    }
    return out;
  }

  private Tensor probabilities(double[] raw, int rows) {
    int k = forest.numClasses();
    LightgbmObjective objective = model.objective();
    if (k == 1) {
      float[] p = new float[rows * 2];
      for (int r = 0; r < rows; r++) {
        double p1 = objective.apply(raw[r]);
        p[2 * r] = (float) (1.0 - p1);
        p[2 * r + 1] = (float) p1;
      }
      return Tensor.ofFloats(TreeModel.PROBABILITIES, new long[] {rows, 2}, p);
    }
    double[] row = new double[k];
    float[] p = new float[rows * k];
    for (int r = 0; r < rows; r++) {
      objective.probabilities(raw, r * k, k, row);
      for (int j = 0; j < k; j++) {
        p[r * k + j] = (float) row[j];
      }
    }
    return Tensor.ofFloats(TreeModel.PROBABILITIES, new long[] {rows, k}, p);
  }

  private static int argmax(double[] v, int from, int k) {
    int best = 0;
    for (int j = 1; j < k; j++) {
      if (v[from + j] > v[from + best]) {
        best = j;
      }
    }
    return best;
  }

  private static float[] toFloats(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }

  @Override
  public void close() {
    // Plain arrays: nothing to release.
  }

  @Override
  public String toString() {
    return label + " " + Arrays.toString(new int[] {forest.numTrees(), forest.numNodes()});
  }
}
