package dev.kiln.core.ensemble;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * The combiners' arithmetic on member outputs, one tensor per member in member order. Means are
 * accumulated in double and returned as FP32; ties (argmax, vote) go to the lowest index or label.
 */
final class Combine {
  private Combine() {}

  /** Weighted mean, element by element; {@code weights} are normalised here (null: equal). */
  static Tensor mean(String name, List<String> members, List<Tensor> parts, double[] weights) {
    Tensor first = parts.getFirst();
    double total = 0;
    for (int m = 0; m < parts.size(); m++) {
      total += weights == null ? 1 : weights[m];
    }
    double[] sum = new double[first.size()];
    for (int m = 0; m < parts.size(); m++) {
      Tensor t = parts.get(m);
      sameShape(members, parts, m);
      double w = (weights == null ? 1 : weights[m]) / total;
      double[] v = doubles(members.get(m), t);
      for (int i = 0; i < sum.length; i++) {
        sum[i] += w * v[i];
      }
    }
    float[] out = new float[sum.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) sum[i];
    }
    return Tensor.ofFloats(name, first.shape().clone(), out);
  }

  /** The index of the largest value of each row of a [N, K] tensor, as INT64 [N]. */
  static Tensor argmax(String name, Tensor scores) {
    long rows = scores.shape()[0];
    int k = rows == 0 ? 0 : (int) (scores.size() / rows);
    float[] v = scores.floats();
    long[] out = new long[(int) rows];
    for (int r = 0; r < rows; r++) {
      int best = 0;
      for (int j = 1; j < k; j++) {
        if (v[r * k + j] > v[r * k + best]) {
          best = j;
        }
      }
      out[r] = best;
    }
    return new Tensor(name, DataType.INT64, new long[] {rows}, out);
  }

  /**
   * The (weighted) majority of the members' labels per row, as INT64 [N]. Each member's tensor
   * holds one integer label per row ([N] or [N, 1]); a tie goes to the lowest label.
   */
  static Tensor vote(String name, List<String> members, List<Tensor> labels, double[] weights) {
    int rows = (int) labels.getFirst().batchSize();
    long[][] byMember = new long[labels.size()][];
    for (int m = 0; m < labels.size(); m++) {
      Tensor t = labels.get(m);
      byMember[m] = integers(members.get(m), t);
      if (byMember[m].length != rows) {
        throw mismatch(
            "member '%s' returned %d labels for %d rows; vote needs one integer label per row",
            members.get(m), byMember[m].length, rows);
      }
    }
    long[] out = new long[rows];
    long[] candidates = new long[labels.size()];
    for (int r = 0; r < rows; r++) {
      for (int m = 0; m < candidates.length; m++) {
        candidates[m] = byMember[m][r];
      }
      long best = 0;
      double bestVotes = -1;
      for (long c : candidates) {
        double votes = 0;
        for (int m = 0; m < candidates.length; m++) {
          if (candidates[m] == c) {
            votes += weights == null ? 1 : weights[m];
          }
        }
        if (votes > bestVotes || (votes == bestVotes && c < best)) {
          best = c;
          bestVotes = votes;
        }
      }
      out[r] = best;
    }
    return new Tensor(name, DataType.INT64, new long[] {rows}, out);
  }

  /** The members' outputs side by side per row: FP32 [N, sum of each member's row width]. */
  static Tensor concatRows(String name, List<String> members, List<Tensor> parts) {
    int rows = (int) parts.getFirst().batchSize();
    int[] widths = new int[parts.size()];
    int width = 0;
    for (int m = 0; m < parts.size(); m++) {
      Tensor t = parts.get(m);
      if (t.batchSize() != rows || (rows > 0 && t.size() % rows != 0)) {
        throw mismatch(
            "member '%s' returned %s for %d rows",
            members.get(m), Arrays.toString(t.shape()), rows);
      }
      widths[m] = rows == 0 ? 0 : t.size() / rows;
      width += widths[m];
    }
    float[] out = new float[rows * width];
    int at = 0;
    for (int m = 0; m < parts.size(); m++) {
      double[] v = doubles(members.get(m), parts.get(m));
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < widths[m]; j++) {
          out[r * width + at + j] = (float) v[r * widths[m] + j];
        }
      }
      at += widths[m];
    }
    return Tensor.ofFloats(name, new long[] {rows, width}, out);
  }

  private static void sameShape(List<String> members, List<Tensor> parts, int m) {
    Tensor first = parts.getFirst();
    Tensor t = parts.get(m);
    if (!Arrays.equals(first.shape(), t.shape())) {
      throw mismatch(
          "member '%s' returned %s %s but member '%s' %s; averaging needs equal shapes",
          members.get(m),
          t.name(),
          Arrays.toString(t.shape()),
          members.getFirst(),
          Arrays.toString(first.shape()));
    }
  }

  private static double[] doubles(String member, Tensor t) {
    int n = t.size();
    double[] out = new double[n];
    switch (t.datatype()) {
      case FP32 -> {
        float[] v = t.floats();
        for (int i = 0; i < n; i++) {
          out[i] = v[i];
        }
      }
      case FP64 -> System.arraycopy(t.doubles(), 0, out, 0, n);
      case INT32 -> {
        int[] v = t.ints();
        for (int i = 0; i < n; i++) {
          out[i] = v[i];
        }
      }
      case INT64 -> {
        long[] v = t.longs();
        for (int i = 0; i < n; i++) {
          out[i] = v[i];
        }
      }
      default ->
          throw mismatch(
              "member '%s' returned %s as %s; only numbers can be combined",
              member, t.name(), t.datatype());
    }
    return out;
  }

  private static long[] integers(String member, Tensor t) {
    return switch (t.datatype()) {
      case INT64 -> t.longs();
      case INT32 -> Arrays.stream(t.ints()).asLongStream().toArray();
      default ->
          throw mismatch(
              "member '%s' returned %s as %s; vote needs INT32 or INT64 labels",
              member, t.name(), t.datatype());
    };
  }

  /** Members that do not fit together: a config problem of the ensemble, not of the request. */
  static KilnException mismatch(String format, Object... args) {
    return KilnException.of(ErrorKind.UNSUPPORTED, format, args);
  }
}
