package dev.kiln.trees;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One XGBoost model version served from a {@link TreeEnsemble}. Immutable after load, so concurrent
 * {@link #execute} calls need no locking.
 *
 * <p>A batch runs as one evaluation: the rows of every request that uses the model's default tree
 * range are stacked, evaluated together (so a batch of many small requests still gets blocking and
 * threads), and cut back per request. A request with its own {@code iteration_range} runs alone.
 * Only the outputs a request asks for are computed beyond the margins.
 */
final class TreeModel implements LoadedModel {
  static final String PLATFORM = "kiln_xgboost";
  static final String INPUT = "input";
  static final String MARGIN = "margin";
  static final String PREDICTION = "prediction";
  static final String PROBABILITIES = "probabilities";
  static final String LABEL = "label";
  static final String ITERATION_RANGE = "iteration_range";

  private static final System.Logger LOG = System.getLogger(TreeModel.class.getName());

  private final String label;
  private final XgboostModel model;
  private final TreeEnsemble trees;
  private final ModelSignature signature;
  private final Set<String> allOutputs;
  private final int defaultTreeEnd;

  /**
   * @param useBestIteration evaluate trees up to {@code best_iteration} by default, as XGBoost's
   *     sklearn wrapper does, instead of all trees, as {@code Booster.predict} does
   */
  TreeModel(String label, XgboostModel model, boolean useBestIteration) {
    this.label = label;
    this.model = model;
    this.trees = model.ensemble();
    this.signature = signature(model);
    var names = new LinkedHashSet<String>();
    signature.outputs().forEach(s -> names.add(s.name()));
    this.allOutputs = names;
    int end = trees.numTrees();
    if (useBestIteration && model.bestIteration().isPresent()) {
      end = Math.min(end, (model.bestIteration().getAsInt() + 1) * model.treesPerIteration());
    }
    this.defaultTreeEnd = end;
  }

  static ModelSignature signature(XgboostModel model) {
    int nf = model.ensemble().numFeatures();
    int k = model.ensemble().numGroups();
    var input =
        new TensorSpec(
            INPUT, DataType.FP32, new long[] {-1, nf}, model.featureNames(), List.of(), true);
    List<TensorSpec> outputs = new ArrayList<>();
    long[] marginShape = k == 1 ? new long[] {-1} : new long[] {-1, k};
    switch (model.objective().kind()) {
      case REGRESSION -> outputs.add(new TensorSpec(PREDICTION, DataType.FP32, new long[] {-1}));
      case BINARY, MULTI -> {
        int classes = Math.max(2, k);
        outputs.add(new TensorSpec(PROBABILITIES, DataType.FP32, new long[] {-1, classes}));
        outputs.add(new TensorSpec(LABEL, DataType.INT64, new long[] {-1}));
      }
    }
    outputs.add(new TensorSpec(MARGIN, DataType.FP32, marginShape));
    return new ModelSignature(PLATFORM, List.of(input), outputs, 0);
  }

  @Override
  public ModelSignature signature() {
    return signature;
  }

  XgboostModel model() {
    return model;
  }

  @Override
  public List<InferenceResult> execute(List<InferenceRequest> batch) {
    InferenceResult[] results = new InferenceResult[batch.size()];
    List<Integer> stacked = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      try {
        InferenceRequest request = batch.get(i);
        rows(request);
        int[] range = treeRange(request);
        if (range == null) {
          stacked.add(i);
        } else {
          results[i] = InferenceResult.ok(run(request, range[0], range[1]));
        }
      } catch (KilnException e) {
        results[i] = InferenceResult.failed(e);
      } catch (RuntimeException e) {
        results[i] = unexpected(e);
      }
    }
    if (!stacked.isEmpty()) {
      try {
        runStacked(batch, stacked, results);
      } catch (RuntimeException e) {
        InferenceResult failure = unexpected(e);
        stacked.forEach(i -> results[i] = failure);
      }
    }
    return Arrays.asList(results);
  }

  private InferenceResult unexpected(RuntimeException e) {
    LOG.log(Level.WARNING, label + ": unexpected failure evaluating trees", e);
    return InferenceResult.failed(
        new KilnException(ErrorKind.INTERNAL, "kiln-trees: " + e.getClass().getSimpleName(), e));
  }

  private Map<String, Tensor> run(InferenceRequest request, int treeBegin, int treeEnd) {
    int rows = rows(request);
    float[] x = request.inputs().get(INPUT).floats();
    float[] margins = trees.margins(x, rows, treeBegin, treeEnd, model.baseMargin());
    return outputs(wanted(request), margins, 0, rows);
  }

  /** Stacks the rows of {@code which} requests, evaluates them once and slices each its rows. */
  private void runStacked(List<InferenceRequest> batch, List<Integer> which, Object[] results) {
    int nf = trees.numFeatures();
    int total = 0;
    for (int i : which) {
      total += rows(batch.get(i));
    }
    float[] x;
    if (which.size() == 1) {
      x = batch.get(which.getFirst()).inputs().get(INPUT).floats();
    } else {
      x = new float[total * nf];
      int at = 0;
      for (int i : which) {
        float[] part = batch.get(i).inputs().get(INPUT).floats();
        System.arraycopy(part, 0, x, at, part.length);
        at += part.length;
      }
    }
    float[] margins = trees.margins(x, total, 0, defaultTreeEnd, model.baseMargin());
    int from = 0;
    for (int i : which) {
      int rows = rows(batch.get(i));
      results[i] = InferenceResult.ok(outputs(wanted(batch.get(i)), margins, from, rows));
      from += rows;
    }
  }

  private Set<String> wanted(InferenceRequest request) {
    return request.outputs().isEmpty() ? allOutputs : new LinkedHashSet<>(request.outputs());
  }

  /** The wanted outputs for rows {@code [from, from + rows)} of the margins. */
  private Map<String, Tensor> outputs(Set<String> wanted, float[] margins, int from, int rows) {
    int k = trees.numGroups();
    Objective objective = model.objective();
    Map<String, Tensor> out = new HashMap<>();
    for (String name : wanted) {
      switch (name) {
        case MARGIN -> {
          float[] m = Arrays.copyOfRange(margins, from * k, (from + rows) * k);
          long[] shape = k == 1 ? new long[] {rows} : new long[] {rows, k};
          out.put(MARGIN, Tensor.ofFloats(MARGIN, shape, m));
        }
        case PREDICTION -> {
          float[] p = new float[rows];
          for (int r = 0; r < rows; r++) {
            p[r] = objective.link(margins[from + r]);
          }
          out.put(PREDICTION, Tensor.ofFloats(PREDICTION, new long[] {rows}, p));
        }
        case PROBABILITIES -> {
          out.put(PROBABILITIES, probabilities(margins, from, rows));
        }
        case LABEL -> {
          long[] labels = new long[rows];
          for (int r = 0; r < rows; r++) {
            labels[r] =
                k == 1
                    ? (objective.link(margins[from + r]) > 0.5f ? 1 : 0)
                    : Objective.argmax(margins, (from + r) * k, k);
          }
          out.put(LABEL, new Tensor(LABEL, DataType.INT64, new long[] {rows}, labels));
        }
        default ->
            throw KilnException.invalid(
                "outputs: unknown output '%s'; the model has %s", name, allOutputs);
      }
    }
    return out;
  }

  private Tensor probabilities(float[] margins, int from, int rows) {
    int k = trees.numGroups();
    if (k == 1) {
      float[] p = new float[rows * 2];
      for (int r = 0; r < rows; r++) {
        float p1 = model.objective().link(margins[from + r]);
        p[2 * r] = 1.0f - p1;
        p[2 * r + 1] = p1;
      }
      return Tensor.ofFloats(PROBABILITIES, new long[] {rows, 2}, p);
    }
    float[] p = new float[rows * k];
    for (int r = 0; r < rows; r++) {
      Objective.softmax(margins, (from + r) * k, k, p, r * k);
    }
    return Tensor.ofFloats(PROBABILITIES, new long[] {rows, k}, p);
  }

  /** The request's row count, after checking its one input (the registry validates too). */
  private int rows(InferenceRequest request) {
    Tensor t = request.inputs().get(INPUT);
    if (t == null) {
      throw KilnException.invalid("inputs: missing input '%s'", INPUT);
    }
    long[] shape = t.shape();
    int nf = trees.numFeatures();
    if (t.datatype() != DataType.FP32 || shape.length != 2 || shape[1] != nf) {
      throw KilnException.invalid(
          "inputs.%s: expected FP32 [-1, %d], got %s %s",
          INPUT, nf, t.datatype(), Arrays.toString(shape));
    }
    return Math.toIntExact(shape[0]);
  }

  /**
   * The request's {@code iteration_range} parameter as a tree range, or null for the default. Like
   * XGBoost's {@code predict(iteration_range=(a, b))}: boosting rounds {@code [a, b)}, where b = 0
   * means all of them; given as "a,b" or as a list of two integers.
   */
  int[] treeRange(InferenceRequest request) {
    Object p = request.parameters().get(ITERATION_RANGE);
    if (p == null) {
      return null;
    }
    long a;
    long b;
    try {
      if (p instanceof String s) {
        String[] parts = s.split(",", -1);
        if (parts.length != 2) {
          throw new NumberFormatException();
        }
        a = Long.parseLong(parts[0].strip());
        b = Long.parseLong(parts[1].strip());
      } else if (p instanceof List<?> l
          && l.size() == 2
          && l.get(0) instanceof Number x
          && l.get(1) instanceof Number y) {
        a = x.longValue();
        b = y.longValue();
      } else {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw KilnException.invalid(
          "parameters.%s: expected \"begin,end\" (boosting rounds), got %s", ITERATION_RANGE, p);
    }
    int iterations = model.iterations();
    if (b == 0) {
      b = iterations;
    }
    if (a < 0 || b > iterations || a >= b) {
      throw KilnException.invalid(
          "parameters.%s: [%d, %d) is not a range of the model's %d boosting rounds",
          ITERATION_RANGE, a, b, iterations);
    }
    int per = model.treesPerIteration();
    return new int[] {(int) a * per, (int) b * per};
  }

  @Override
  public void close() {
    // Nothing to release: the trees are plain arrays.
  }
}
