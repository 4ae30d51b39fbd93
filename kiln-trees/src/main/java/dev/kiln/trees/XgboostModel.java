package dev.kiln.trees;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * An XGBoost model as {@code Booster.save_model} writes it (JSON or UBJSON, schema of XGBoost 1.x),
 * read into a {@link TreeEnsemble} plus what prediction needs besides the trees.
 *
 * @param numParallelTree trees per output group per boosting round ({@code num_parallel_tree})
 * @param bestIteration {@code learner.attributes.best_iteration}, when the file records it
 * @param featureNames {@code learner.feature_names}, empty when the model was trained without
 */
record XgboostModel(
    TreeEnsemble ensemble,
    Objective objective,
    float baseMargin,
    int numParallelTree,
    OptionalInt bestIteration,
    List<String> featureNames,
    String booster) {

  /** Trees per boosting round: XGBoost's "layer", the unit of {@code iteration_range}. */
  int treesPerIteration() {
    return numParallelTree * ensemble.numGroups();
  }

  /** Boosting rounds in the file. */
  int iterations() {
    return ensemble.numTrees() / treesPerIteration();
  }

  /**
   * Reads the document {@link Documents} or {@link Ubjson} made of {@code file}. A file that is not
   * an XGBoost model is an INTERNAL error naming the file and what is wrong; a model Kiln cannot
   * evaluate (gblinear, an unknown objective, an unknown split type, vector leaves) is UNSUPPORTED.
   */
  static XgboostModel from(Object document, String file) {
    var r = new Reader(file);
    Map<String, Object> learner =
        r.object(r.object(document, "(document)").get("learner"), "learner");
    Map<String, Object> booster =
        r.object(learner.get("gradient_booster"), "learner.gradient_booster");
    String boosterName = r.string(booster.get("name"), "learner.gradient_booster.name");
    Map<String, Object> model;
    float[] weightDrop = null;
    switch (boosterName) {
      case "gbtree" -> model = r.object(booster.get("model"), "gradient_booster.model");
      case "dart" -> {
        Map<String, Object> gbtree = r.object(booster.get("gbtree"), "gradient_booster.gbtree");
        model = r.object(gbtree.get("model"), "gradient_booster.gbtree.model");
        weightDrop = r.floats(booster.get("weight_drop"), "gradient_booster.weight_drop");
      }
      default ->
          throw KilnException.of(
              ErrorKind.UNSUPPORTED,
              "%s: booster '%s' is not supported; Kiln evaluates tree boosters (gbtree, dart)",
              file,
              boosterName);
    }
    String objectiveName =
        r.string(r.object(learner.get("objective"), "learner.objective").get("name"), "objective");
    Objective objective =
        Objective.byName(objectiveName)
            .orElseThrow(() ->
                KilnException.of(
                    ErrorKind.UNSUPPORTED,
                    "%s: objective '%s' is not supported (supported: %s)",
                    file,
                    objectiveName,
                    java.util.Arrays.stream(Objective.values())
                        .map(Objective::xgboostName)
                        .toList()));

    Map<String, Object> params =
        r.object(learner.get("learner_model_param"), "learner.learner_model_param");
    int numFeature = r.intParam(params.get("num_feature"), "learner_model_param.num_feature");
    int numClass =
        params.containsKey("num_class")
            ? r.intParam(params.get("num_class"), "learner_model_param.num_class")
            : 0;
    if (params.containsKey("num_target")
        && r.intParam(params.get("num_target"), "learner_model_param.num_target") > 1) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED, "%s: multi-target models are not supported", file);
    }
    int numGroups = Math.max(1, numClass);
    if (objective.kind() == Objective.Kind.MULTI && numClass < 2) {
      throw r.bad("objective %s needs num_class >= 2, the file has %d", objectiveName, numClass);
    }
    float baseScore = r.baseScore(params.get("base_score"));

    Map<String, Object> treeParams =
        r.object(model.get("gbtree_model_param"), "gradient_booster.model.gbtree_model_param");
    int numParallelTree =
        treeParams.containsKey("num_parallel_tree")
            ? Math.max(1, r.intParam(treeParams.get("num_parallel_tree"), "num_parallel_tree"))
            : 1;
    List<Object> trees = r.list(model.get("trees"), "gradient_booster.model.trees");
    long[] treeInfo = r.longs(model.get("tree_info"), "gradient_booster.model.tree_info");
    if (treeInfo.length != trees.size()) {
      throw r.bad("%d trees but %d tree_info entries", trees.size(), treeInfo.length);
    }
    if (weightDrop != null && weightDrop.length != trees.size()) {
      throw r.bad("%d trees but %d dart weights", trees.size(), weightDrop.length);
    }
    if (trees.size() % (numParallelTree * numGroups) != 0) {
      throw r.bad(
          "%d trees is not a whole number of rounds of %d groups x %d parallel trees",
          trees.size(), numGroups, numParallelTree);
    }
    List<String> featureNames = r.strings(learner.get("feature_names"), "learner.feature_names");
    if (!featureNames.isEmpty() && featureNames.size() != numFeature) {
      throw r.bad("%d feature names for %d features", featureNames.size(), numFeature);
    }

    var builder = new TreeEnsemble.Builder(numFeature, numGroups);
    for (int t = 0; t < trees.size(); t++) {
      if (treeInfo[t] < 0 || treeInfo[t] >= numGroups) {
        throw r.bad("tree %d: output group %d, but the model has %d", t, treeInfo[t], numGroups);
      }
      float weight = weightDrop == null ? 1.0f : weightDrop[t];
      r.addTree(builder, trees.get(t), t, (int) treeInfo[t], weight, numFeature, featureNames);
    }
    OptionalInt best = OptionalInt.empty();
    if (learner.get("attributes") instanceof Map<?, ?> attributes
        && attributes.get("best_iteration") instanceof String s) {
      try {
        best = OptionalInt.of(Integer.parseInt(s.strip()));
      } catch (NumberFormatException e) {
        throw r.bad("attributes.best_iteration '%s' is not an integer", s);
      }
    }
    TreeEnsemble ensemble;
    try {
      ensemble = builder.build();
    } catch (IllegalArgumentException e) {
      throw r.bad("%s", e.getMessage());
    }
    return new XgboostModel(
        ensemble,
        objective,
        objective.baseMargin(baseScore),
        numParallelTree,
        best,
        featureNames,
        boosterName);
  }

  /** Typed access to the document, with errors that name the file and the field. */
  private record Reader(String file) {
    KilnException bad(String format, Object... args) {
      return KilnException.of(
          ErrorKind.INTERNAL,
          "%s: not a valid XGBoost model: %s",
          file,
          String.format(Locale.ROOT, format, args));
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> object(Object o, String field) {
      if (o instanceof Map<?, ?> m) {
        return (Map<String, Object>) m;
      }
      throw o == null ? bad("no %s", field) : bad("%s is not an object", field);
    }

    @SuppressWarnings("unchecked")
    List<Object> list(Object o, String field) {
      if (o instanceof List<?> l) {
        return (List<Object>) l;
      }
      if (o instanceof long[] a && a.length == 0) {
        return List.of();
      }
      throw o == null ? bad("no %s", field) : bad("%s is not a list of objects", field);
    }

    String string(Object o, String field) {
      if (o instanceof String s) {
        return s;
      }
      throw o == null ? bad("no %s", field) : bad("%s is not a string", field);
    }

    List<String> strings(Object o, String field) {
      if (o == null) {
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (Object item : list(o, field)) {
        out.add(string(item, field + "[]"));
      }
      return out;
    }

    /** XGBoost writes its parameters as strings ("30"); accept numbers too. */
    int intParam(Object o, String field) {
      try {
        return o instanceof Long l ? Math.toIntExact(l) : Integer.parseInt(string(o, field));
      } catch (NumberFormatException | ArithmeticException e) {
        throw bad("%s '%s' is not an integer", field, o);
      }
    }

    /** "5E-1" in XGBoost 1.x; "[5E-1]" in 2.x, which keeps one per target. */
    float baseScore(Object o) {
      if (o == null) {
        return 0.5f;
      }
      String s = o instanceof String str ? str.strip() : String.valueOf(o);
      if (s.startsWith("[") && s.endsWith("]")) {
        s = s.substring(1, s.length() - 1).strip();
      }
      try {
        return Float.parseFloat(s);
      } catch (NumberFormatException e) {
        throw bad("learner_model_param.base_score '%s' is not a number", o);
      }
    }

    float[] floats(Object o, String field) {
      return switch (o) {
        case float[] a -> a;
        case long[] a -> {
          float[] f = new float[a.length];
          for (int i = 0; i < a.length; i++) {
            f[i] = a[i];
          }
          yield f;
        }
        case null -> throw bad("no %s", field);
        default -> throw bad("%s is not a list of numbers", field);
      };
    }

    long[] longs(Object o, String field) {
      return switch (o) {
        case long[] a -> a;
        case List<?> l when l.stream().allMatch(Boolean.class::isInstance) -> {
          long[] a = new long[l.size()];
          for (int i = 0; i < a.length; i++) {
            a[i] = (Boolean) l.get(i) ? 1 : 0;
          }
          yield a;
        }
        case null -> throw bad("no %s", field);
        default -> throw bad("%s is not a list of integers", field);
      };
    }

    void addTree(
        TreeEnsemble.Builder builder,
        Object treeObject,
        int t,
        int group,
        float weight,
        int numFeature,
        List<String> featureNames) {
      String at = "trees[" + t + "]";
      Map<String, Object> tree = object(treeObject, at);
      long[] leftIn = longs(tree.get("left_children"), at + ".left_children");
      long[] rightIn = longs(tree.get("right_children"), at + ".right_children");
      long[] splitIndex = longs(tree.get("split_indices"), at + ".split_indices");
      float[] conditions = floats(tree.get("split_conditions"), at + ".split_conditions");
      long[] defaults = longs(tree.get("default_left"), at + ".default_left");
      long[] splitType =
          tree.containsKey("split_type")
              ? longs(tree.get("split_type"), at + ".split_type")
              : new long[leftIn.length];
      int n = leftIn.length;
      if (n == 0
          || rightIn.length != n
          || splitIndex.length != n
          || conditions.length != n
          || defaults.length != n
          || splitType.length != n) {
        throw bad("%s: node arrays are empty or differ in length", at);
      }
      if (tree.get("tree_param") instanceof Map<?, ?> p
          && p.get("size_leaf_vector") instanceof String s
          && !s.equals("0")) {
        throw KilnException.of(
            ErrorKind.UNSUPPORTED, "%s: %s has vector leaves, which are not supported", file, at);
      }
      int[][] listed = categories(tree, at, n);
      int[][] categories = listed == null ? null : new int[n][];
      int[] left = new int[n];
      int[] right = new int[n];
      int[] feature = new int[n];
      boolean[] defaultLeft = new boolean[n];
      // Walk from the root: only reachable nodes are copied as they are; nodes XGBoost deleted
      // while pruning stay in the arrays with stale fields and become unreachable leaves.
      boolean[] reached = new boolean[n];
      int[] stack = new int[n];
      int top = 0;
      stack[top++] = 0;
      java.util.Arrays.fill(left, -1);
      java.util.Arrays.fill(right, -1);
      while (top > 0) {
        int i = stack[--top];
        if (reached[i]) {
          throw bad("%s: node %d is reached twice", at, i);
        }
        reached[i] = true;
        if (leftIn[i] < 0) {
          continue;
        }
        if (leftIn[i] >= n || rightIn[i] < 0 || rightIn[i] >= n) {
          throw bad("%s: node %d has children out of range", at, i);
        }
        if (splitIndex[i] < 0 || splitIndex[i] >= numFeature) {
          throw bad("%s: node %d splits on feature %d of %d", at, i, splitIndex[i], numFeature);
        }
        if (splitType[i] != 0) {
          int f = (int) splitIndex[i];
          if (splitType[i] != 1 || listed == null || listed[i] == null) {
            throw KilnException.of(
                ErrorKind.UNSUPPORTED,
                "%s: %s node %d has a split of type %d on feature %s without a category set;"
                    + " Kiln supports numeric (0) and categorical (1) splits",
                file,
                at,
                i,
                splitType[i],
                featureNames.isEmpty() ? "f" + f : "'" + featureNames.get(f) + "' (f" + f + ")");
          }
          categories[i] = listed[i];
        }
        left[i] = (int) leftIn[i];
        right[i] = (int) rightIn[i];
        feature[i] = (int) splitIndex[i];
        defaultLeft[i] = defaults[i] != 0;
        if (top + 2 > n) {
          throw bad("%s: not a tree", at);
        }
        stack[top++] = left[i];
        stack[top++] = right[i];
      }
      builder.addTree(group, feature, conditions, left, right, defaultLeft, weight, categories);
    }

    /**
     * The category sets of a tree's categorical splits, by node, or null when it has none. XGBoost
     * lists them flat: {@code categories_nodes[k]}'s set is {@code categories[segments[k] ..
     * segments[k] + sizes[k])}, the categories that go right.
     */
    private int[][] categories(Map<String, Object> tree, String at, int n) {
      if (!(tree.get("categories_nodes") instanceof long[] nodes) || nodes.length == 0) {
        return null;
      }
      long[] all = longs(tree.get("categories"), at + ".categories");
      long[] segments = longs(tree.get("categories_segments"), at + ".categories_segments");
      long[] sizes = longs(tree.get("categories_sizes"), at + ".categories_sizes");
      if (segments.length != nodes.length || sizes.length != nodes.length) {
        throw bad("%s: categories_nodes, _segments and _sizes differ in length", at);
      }
      int[][] byNode = new int[n][];
      for (int k = 0; k < nodes.length; k++) {
        long node = nodes[k];
        long from = segments[k];
        long size = sizes[k];
        if (node < 0 || node >= n || from < 0 || size < 0 || from + size > all.length) {
          throw bad("%s: category set %d is out of range", at, k);
        }
        int[] set = new int[(int) size];
        for (int j = 0; j < set.length; j++) {
          long c = all[(int) from + j];
          if (c < 0 || c >= 16777216) {
            throw bad("%s: node %d has category %d, outside [0, 2^24)", at, node, c);
          }
          set[j] = (int) c;
        }
        byNode[(int) node] = set;
      }
      return byNode;
    }
  }
}
