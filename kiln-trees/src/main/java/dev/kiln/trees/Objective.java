package dev.kiln.trees;

import java.util.Optional;

/**
 * The XGBoost objectives Kiln serves, with what each does at prediction time: how the stored {@code
 * base_score} becomes the starting margin, and how a margin becomes the prediction. Both follow
 * XGBoost 1.7's C++ code in float32 ({@code ProbToMargin} and {@code PredTransform} in {@code
 * src/objective/regression_loss.h}, {@code common::Softmax} for multi-class), since the fixtures
 * compare with its outputs to 1e-6.
 */
enum Objective {
  SQUARED_ERROR("reg:squarederror", Kind.REGRESSION),
  REG_LOGISTIC("reg:logistic", Kind.REGRESSION),
  BINARY_LOGISTIC("binary:logistic", Kind.BINARY),
  BINARY_LOGITRAW("binary:logitraw", Kind.BINARY),
  MULTI_SOFTPROB("multi:softprob", Kind.MULTI),
  MULTI_SOFTMAX("multi:softmax", Kind.MULTI),
  COUNT_POISSON("count:poisson", Kind.REGRESSION),
  REG_TWEEDIE("reg:tweedie", Kind.REGRESSION);

  /** What the outputs look like: one prediction per row, or class probabilities and a label. */
  enum Kind {
    REGRESSION,
    BINARY,
    MULTI
  }

  private final String xgboostName;
  private final Kind kind;

  Objective(String xgboostName, Kind kind) {
    this.xgboostName = xgboostName;
    this.kind = kind;
  }

  String xgboostName() {
    return xgboostName;
  }

  Kind kind() {
    return kind;
  }

  static Optional<Objective> byName(String name) {
    for (Objective o : values()) {
      if (o.xgboostName.equals(name)) {
        return Optional.of(o);
      }
    }
    return Optional.empty();
  }

  /**
   * The margin every row starts from. XGBoost stores base_score in the objective's output space (a
   * probability for logistic, a mean count for poisson) and maps it back once, in float32: logistic
   * {@code -logf(1/p - 1)}, poisson and tweedie {@code logf(mu)}; the others (logitraw, softmax,
   * squared error) use it as it is.
   */
  float baseMargin(float baseScore) {
    return switch (this) {
      case REG_LOGISTIC, BINARY_LOGISTIC -> -logf(1.0f / baseScore - 1.0f);
      case COUNT_POISSON, REG_TWEEDIE -> logf(baseScore);
      default -> baseScore;
    };
  }

  /**
   * The single-output link: sigmoid for logistic ones ({@code 1 / (1 + expf(-x))}), exp for count
   * and tweedie, identity otherwise. Logitraw's prediction is its margin, but it has a probability:
   * the sigmoid of the margin.
   */
  float link(float margin) {
    return switch (this) {
      case REG_LOGISTIC, BINARY_LOGISTIC, BINARY_LOGITRAW -> sigmoid(margin);
      case COUNT_POISSON, REG_TWEEDIE -> expf(margin);
      default -> margin;
    };
  }

  /** XGBoost's {@code common::Sigmoid}: float32 throughout (its 1e-16 epsilon vanishes there). */
  static float sigmoid(float x) {
    return 1.0f / (expf(-x) + 1.0f);
  }

  /**
   * XGBoost's {@code common::Softmax} on {@code k} margins at {@code from}, into {@code out}: shift
   * by the maximum, exponentiate in float32, sum in double, divide in float32.
   */
  static void softmax(float[] margins, int from, int k, float[] out, int outFrom) {
    float max = margins[from];
    for (int j = 1; j < k; j++) {
      max = Math.max(max, margins[from + j]);
    }
    double sum = 0;
    for (int j = 0; j < k; j++) {
      float e = expf(margins[from + j] - max);
      out[outFrom + j] = e;
      sum += e;
    }
    float total = (float) sum;
    for (int j = 0; j < k; j++) {
      out[outFrom + j] /= total;
    }
  }

  /** The first index of the largest of {@code k} values ({@code std::max_element}). */
  static int argmax(float[] values, int from, int k) {
    int best = 0;
    for (int j = 1; j < k; j++) {
      if (values[from + j] > values[from + best]) {
        best = j;
      }
    }
    return best;
  }

  // expf and logf rounded from the double results: within an ulp of glibc's float functions.
  private static float expf(float x) {
    return (float) Math.exp(x);
  }

  private static float logf(float x) {
    return (float) Math.log(x);
  }
}
