package dev.kiln.trees;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A LightGBM model as {@code Booster.save_model} writes it ({@code model.txt}, format v3/v4): a
 * header of {@code key=value} lines, then one {@code Tree=i} block per tree, then {@code end of
 * trees}. Leaf values already include the shrinkage (learning rate) and the initial score.
 *
 * @param featureNames {@code feature_names}, one per feature
 * @param objective the link from raw scores to predictions
 */
record LightgbmText(LightgbmForest forest, LightgbmObjective objective, List<String> featureNames) {

  /** Whether the text starts like a LightGBM model: its first line is {@code tree}. */
  static boolean looksLikeLightgbm(byte[] head) {
    String s = new String(head, java.nio.charset.StandardCharsets.US_ASCII);
    return s.equals("tree") || s.startsWith("tree\n") || s.startsWith("tree\r\n");
  }

  /**
   * Parses the text of {@code file}. A file that is not a LightGBM model is INTERNAL; what Kiln
   * cannot evaluate (linear trees, unknown objectives) is UNSUPPORTED. Both name the file.
   */
  static LightgbmText parse(String text, String file) {
    String[] lines = text.split("\r?\n", -1);
    if (lines.length == 0 || !lines[0].strip().equals("tree")) {
      throw bad(file, "the first line is not 'tree'");
    }
    Map<String, String> header = new HashMap<>();
    int at = 1;
    while (at < lines.length && !lines[at].startsWith("Tree=")) {
      if (lines[at].startsWith("end of trees")) {
        break;
      }
      putKeyValue(header, lines[at]);
      at++;
    }
    int numClass = intOf(header, "num_class", file);
    int perIteration = intOf(header, "num_tree_per_iteration", file);
    int numFeatures = intOf(header, "max_feature_idx", file) + 1;
    if (numClass < 1 || perIteration != numClass || numFeatures < 1) {
      throw bad(
          file,
          "num_class %d, num_tree_per_iteration %d, %d features",
          numClass,
          perIteration,
          numFeatures);
    }
    List<String> names =
        header.containsKey("feature_names")
            ? List.of(header.get("feature_names").strip().split(" +"))
            : List.of();
    if (!names.isEmpty() && names.size() != numFeatures) {
      throw bad(file, "%d feature names for %d features", names.size(), numFeatures);
    }
    LightgbmObjective objective =
        LightgbmObjective.parse(header.getOrDefault("objective", "regression"), numClass, file);

    var trees = new Builder(numFeatures);
    while (at < lines.length && lines[at].startsWith("Tree=")) {
      String id = lines[at].substring("Tree=".length()).strip();
      Map<String, String> block = new HashMap<>();
      at++;
      while (at < lines.length && !lines[at].isBlank()) {
        putKeyValue(block, lines[at]);
        at++;
      }
      while (at < lines.length && lines[at].isBlank()) {
        at++;
      }
      trees.add(block, "Tree=" + id, file);
    }
    if (at >= lines.length || !lines[at].startsWith("end of trees")) {
      throw bad(file, "no 'end of trees' after %d trees", trees.count);
    }
    if (trees.count % numClass != 0) {
      throw bad(file, "%d trees is not a whole number of iterations of %d", trees.count, numClass);
    }
    boolean average = header.containsKey("average_output");
    return new LightgbmText(trees.build(numClass, average), objective, names);
  }

  private static void putKeyValue(Map<String, String> into, String line) {
    int eq = line.indexOf('=');
    if (eq > 0) {
      into.put(line.substring(0, eq).strip(), line.substring(eq + 1));
    } else if (!line.isBlank()) {
      into.put(line.strip(), "");
    }
  }

  private static int intOf(Map<String, String> header, String key, String file) {
    String v = header.get(key);
    if (v == null) {
      throw bad(file, "no %s", key);
    }
    try {
      return Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw bad(file, "%s '%s' is not an integer", key, v);
    }
  }

  static KilnException bad(String file, String format, Object... args) {
    return KilnException.of(
        ErrorKind.INTERNAL,
        "%s: not a valid LightGBM model: %s",
        file,
        String.format(Locale.ROOT, format, args));
  }

  /** Lays the trees out flat: a tree's internal nodes, then its leaves; global indices. */
  private static final class Builder {
    private final int numFeatures;
    private final List<Integer> roots = new ArrayList<>();
    private int[] feature = new int[0];
    private double[] value = new double[0];
    private byte[] decision = new byte[0];
    private int[] left = new int[0];
    private int[] right = new int[0];
    private int[] catFrom = new int[0];
    private int[] catTo = new int[0];
    private final List<Integer> catBits = new ArrayList<>();
    private int size;
    int count;

    Builder(int numFeatures) {
      this.numFeatures = numFeatures;
    }

    void add(Map<String, String> tree, String at, String file) {
      if (tree.containsKey("is_linear") && !tree.get("is_linear").strip().equals("0")) {
        throw KilnException.of(
            ErrorKind.UNSUPPORTED, "%s: %s is a linear tree, which is not supported", file, at);
      }
      int leaves = parseInt(tree.get("num_leaves"), at + " num_leaves", file);
      double[] leafValue = doubles(tree.get("leaf_value"), at + " leaf_value", file);
      if (leaves < 1 || leafValue.length != leaves) {
        throw bad(file, "%s: %d leaves but %d leaf values", at, leaves, leafValue.length);
      }
      int splits = leaves - 1;
      int[] splitFeature = splits == 0 ? new int[0] : ints(tree.get("split_feature"), at, file);
      double[] threshold = splits == 0 ? new double[0] : doubles(tree.get("threshold"), at, file);
      int[] decisionType = splits == 0 ? new int[0] : ints(tree.get("decision_type"), at, file);
      int[] leftChild = splits == 0 ? new int[0] : ints(tree.get("left_child"), at, file);
      int[] rightChild = splits == 0 ? new int[0] : ints(tree.get("right_child"), at, file);
      if (splitFeature.length != splits
          || threshold.length != splits
          || decisionType.length != splits
          || leftChild.length != splits
          || rightChild.length != splits) {
        throw bad(file, "%s: split arrays differ from num_leaves - 1 = %d", at, splits);
      }
      int numCat = tree.containsKey("num_cat") ? parseInt(tree.get("num_cat"), at, file) : 0;
      int[] boundaries = numCat > 0 ? ints(tree.get("cat_boundaries"), at, file) : new int[0];
      int[] bits = numCat > 0 ? ints(tree.get("cat_threshold"), at, file) : new int[0];
      if (numCat > 0 && boundaries.length != numCat + 1) {
        throw bad(
            file, "%s: %d categorical splits but %d boundaries", at, numCat, boundaries.length);
      }
      int base = size;
      int n = splits + leaves;
      grow(size + n);
      // Child ids: >= 0 an internal node, < 0 leaf ~id. Leaves go after the internal nodes.
      for (int i = 0; i < splits; i++) {
        int f = splitFeature[i];
        if (f < 0 || f >= numFeatures) {
          throw bad(file, "%s: node %d splits on feature %d of %d", at, i, f, numFeatures);
        }
        feature[base + i] = f;
        value[base + i] = threshold[i];
        decision[base + i] = (byte) decisionType[i];
        left[base + i] = child(leftChild[i], base, splits, leaves, at, file);
        right[base + i] = child(rightChild[i], base, splits, leaves, at, file);
        if ((decisionType[i] & LightgbmForest.CATEGORICAL) != 0) {
          int c = (int) threshold[i];
          if (c < 0 || c >= numCat || boundaries[c] < 0 || boundaries[c + 1] > bits.length) {
            throw bad(file, "%s: node %d has category set %d of %d", at, i, c, numCat);
          }
          catFrom[base + i] = catBits.size() + boundaries[c] - boundaries[0];
          catTo[base + i] = catBits.size() + boundaries[c + 1] - boundaries[0];
        }
      }
      for (int j = 0; j < leaves; j++) {
        left[base + splits + j] = -1;
        right[base + splits + j] = -1;
        value[base + splits + j] = leafValue[j];
      }
      for (int b = boundaries.length == 0 ? 0 : boundaries[0]; b < bits.length; b++) {
        catBits.add(bits[b]);
      }
      size += n;
      roots.add(base);
      count++;
    }

    private static int child(int c, int base, int splits, int leaves, String at, String file) {
      if (c >= 0 && c < splits) {
        return base + c;
      }
      if (c < 0 && ~c < leaves) {
        return base + splits + ~c;
      }
      throw bad(file, "%s: child %d out of range", at, c);
    }

    private void grow(int capacity) {
      if (capacity > feature.length) {
        int n = Math.max(capacity, 2 * feature.length);
        feature = Arrays.copyOf(feature, n);
        value = Arrays.copyOf(value, n);
        decision = Arrays.copyOf(decision, n);
        left = Arrays.copyOf(left, n);
        right = Arrays.copyOf(right, n);
        catFrom = Arrays.copyOf(catFrom, n);
        catTo = Arrays.copyOf(catTo, n);
      }
    }

    LightgbmForest build(int numClasses, boolean averageOutput) {
      int[] bits = catBits.stream().mapToInt(Integer::intValue).toArray();
      return new LightgbmForest(
          numFeatures,
          numClasses,
          roots.stream().mapToInt(Integer::intValue).toArray(),
          Arrays.copyOf(feature, size),
          Arrays.copyOf(value, size),
          Arrays.copyOf(decision, size),
          Arrays.copyOf(left, size),
          Arrays.copyOf(right, size),
          Arrays.copyOf(catFrom, size),
          Arrays.copyOf(catTo, size),
          bits,
          averageOutput);
    }
  }

  private static int parseInt(String s, String what, String file) {
    if (s == null) {
      throw bad(file, "no %s", what);
    }
    try {
      return Integer.parseInt(s.strip());
    } catch (NumberFormatException e) {
      throw bad(file, "%s '%s' is not an integer", what, s);
    }
  }

  private static int[] ints(String s, String what, String file) {
    if (s == null) {
      throw bad(file, "%s: a field is missing", what);
    }
    try {
      return Arrays.stream(s.strip().split(" +")).mapToInt(Integer::parseInt).toArray();
    } catch (NumberFormatException e) {
      throw bad(file, "%s: not a list of integers", what);
    }
  }

  /** LightGBM writes doubles with 17 significant digits, so parsing gives the same double. */
  private static double[] doubles(String s, String what, String file) {
    if (s == null) {
      throw bad(file, "%s: a field is missing", what);
    }
    try {
      return Arrays.stream(s.strip().split(" +")).mapToDouble(LightgbmText::parseDouble).toArray();
    } catch (NumberFormatException e) {
      throw bad(file, "%s: not a list of numbers", what);
    }
  }

  private static double parseDouble(String s) {
    return switch (s) {
      case "inf", "+inf" -> Double.POSITIVE_INFINITY;
      case "-inf" -> Double.NEGATIVE_INFINITY;
      case "nan", "-nan" -> Double.NaN;
      default -> Double.parseDouble(s);
    };
  }
}
