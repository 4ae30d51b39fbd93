package dev.kiln.trees;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;

/**
 * A LightGBM objective line ({@code objective=binary sigmoid:1}) reduced to what prediction needs:
 * the kind of outputs and the link from raw score to prediction, in double as LightGBM's {@code
 * ConvertOutput}.
 *
 * @param name the objective's name as in the file
 * @param kind regression (one prediction), binary or multi-class
 * @param link how a raw score becomes the prediction
 * @param sigmoid the {@code sigmoid:} parameter of binary and ova objectives (default 1)
 */
record LightgbmObjective(String name, Objective.Kind kind, Link link, double sigmoid) {
  enum Link {
    IDENTITY,
    SIGMOID,
    EXP,
    SOFTMAX,
    /** multiclassova: each class its own sigmoid, not normalised. */
    OVA_SIGMOID,
    /** cross_entropy: plain logistic, no sigmoid parameter. */
    LOGISTIC
  }

  static LightgbmObjective parse(String line, int numClass, String file) {
    String[] parts = line.strip().split(" +");
    String name = parts[0];
    double sigmoid = 1.0;
    boolean sqrt = false;
    for (int i = 1; i < parts.length; i++) {
      if (parts[i].startsWith("sigmoid:")) {
        try {
          sigmoid = Double.parseDouble(parts[i].substring("sigmoid:".length()));
        } catch (NumberFormatException e) {
          throw LightgbmText.bad(file, "objective parameter '%s'", parts[i]);
        }
      } else if (parts[i].equals("sqrt")) {
        sqrt = true;
      }
    }
    if (sqrt) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED, "%s: objective '%s' with sqrt is not supported", file, line);
    }
    var o =
        switch (name) {
          case "regression", "regression_l1", "huber", "fair", "quantile", "mape" ->
              new LightgbmObjective(name, Objective.Kind.REGRESSION, Link.IDENTITY, sigmoid);
          case "poisson", "gamma", "tweedie" ->
              new LightgbmObjective(name, Objective.Kind.REGRESSION, Link.EXP, sigmoid);
          case "binary" ->
              new LightgbmObjective(name, Objective.Kind.BINARY, Link.SIGMOID, sigmoid);
          case "cross_entropy" ->
              new LightgbmObjective(name, Objective.Kind.BINARY, Link.LOGISTIC, sigmoid);
          case "multiclass" ->
              new LightgbmObjective(name, Objective.Kind.MULTI, Link.SOFTMAX, sigmoid);
          case "multiclassova" ->
              new LightgbmObjective(name, Objective.Kind.MULTI, Link.OVA_SIGMOID, sigmoid);
          default ->
              throw KilnException.of(
                  ErrorKind.UNSUPPORTED,
                  "%s: objective '%s' is not supported (supported: regression, regression_l1,"
                      + " huber, fair, quantile, mape, poisson, gamma, tweedie, binary,"
                      + " cross_entropy, multiclass, multiclassova)",
                  file,
                  name);
        };
    if ((o.kind == Objective.Kind.MULTI) != (numClass > 1)) {
      throw LightgbmText.bad(file, "objective %s with num_class %d", name, numClass);
    }
    return o;
  }

  /** The prediction for one output's raw score (not softmax, which needs the whole row). */
  double apply(double raw) {
    return switch (link) {
      case IDENTITY, SOFTMAX -> raw;
      case SIGMOID, OVA_SIGMOID -> 1.0 / (1.0 + Math.exp(-sigmoid * raw));
      case LOGISTIC -> 1.0 / (1.0 + Math.exp(-raw));
      case EXP -> Math.exp(raw);
    };
  }

  /**
   * Row {@code from} of {@code raw}, {@code k} classes, to probabilities in {@code out}. Softmax is
   * LightGBM's {@code Common::Softmax}: shift by the maximum, exponentiate, divide by the sum, all
   * in double.
   */
  void probabilities(double[] raw, int from, int k, double[] out) {
    if (link != Link.SOFTMAX) {
      for (int j = 0; j < k; j++) {
        out[j] = apply(raw[from + j]);
      }
      return;
    }
    double max = raw[from];
    for (int j = 1; j < k; j++) {
      max = Math.max(max, raw[from + j]);
    }
    double sum = 0;
    for (int j = 0; j < k; j++) {
      out[j] = Math.exp(raw[from + j] - max);
      sum += out[j];
    }
    for (int j = 0; j < k; j++) {
      out[j] /= sum;
    }
  }
}
