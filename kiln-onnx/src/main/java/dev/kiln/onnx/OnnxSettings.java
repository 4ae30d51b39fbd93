package dev.kiln.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession.SessionOptions.ExecutionMode;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.kiln.core.error.Checks;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ONNX Runtime session settings: the server-wide {@code onnx.*} config section, which one model can
 * override with the same keys under {@code parameters} in its config.yaml. A thread count of 0
 * keeps ONNX Runtime's default (intra-op: one thread per core). That default suits one model per
 * box, but every session owns its own pool, so several busy models oversubscribe the cores; that is
 * why a model can lower its own count.
 *
 * @param intraOpThreads threads that split the work of one operator (a matmul, a tree ensemble)
 * @param interOpThreads threads that run independent graph branches at once; above 1 this switches
 *     the session to parallel execution, since sequential execution ignores the setting
 * @param optimizationLevel how far ONNX Runtime rewrites the graph when it loads it
 */
record OnnxSettings(int intraOpThreads, int interOpThreads, OptimizationLevel optimizationLevel) {
  static final String INTRA_OP_THREADS = "intra-op-threads";
  static final String INTER_OP_THREADS = "inter-op-threads";
  static final String OPTIMIZATION_LEVEL = "optimization-level";
  private static final List<String> KEYS =
      List.of(INTRA_OP_THREADS, INTER_OP_THREADS, OPTIMIZATION_LEVEL);

  OnnxSettings {
    Checks.require(
        intraOpThreads >= 0, "%s must be >= 0, was %d", INTRA_OP_THREADS, intraOpThreads);
    Checks.require(
        interOpThreads >= 0, "%s must be >= 0, was %d", INTER_OP_THREADS, interOpThreads);
    Checks.require(
        optimizationLevel != null,
        "%s is required (none, basic, extended or all)",
        OPTIMIZATION_LEVEL);
  }

  /** ONNX Runtime's graph optimisation levels, by the names the config uses. */
  enum OptimizationLevel {
    NONE(OptLevel.NO_OPT),
    BASIC(OptLevel.BASIC_OPT),
    EXTENDED(OptLevel.EXTENDED_OPT),
    ALL(OptLevel.ALL_OPT);

    private final OptLevel ort;

    OptimizationLevel(OptLevel ort) {
      this.ort = ort;
    }

    static OptimizationLevel parse(String text, String field) {
      try {
        return valueOf(text.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            String.format(
                Locale.ROOT,
                "%s: '%s' is not an optimization level (none, basic, extended or all)",
                field,
                text),
            e);
      }
    }
  }

  /**
   * These settings with one model's parameters on top. An unknown key is an error rather than
   * ignored, as everywhere else in Kiln's config, so that a typo does not pass silently.
   */
  OnnxSettings withOverrides(Map<String, String> parameters) {
    int intra = intraOpThreads;
    int inter = interOpThreads;
    OptimizationLevel level = optimizationLevel;
    for (var e : parameters.entrySet()) {
      String field = "parameters." + e.getKey();
      switch (e.getKey()) {
        case INTRA_OP_THREADS -> intra = parseCount(e.getValue(), field);
        case INTER_OP_THREADS -> inter = parseCount(e.getValue(), field);
        case OPTIMIZATION_LEVEL -> level = OptimizationLevel.parse(e.getValue(), field);
        default ->
            throw new IllegalArgumentException(
                String.format(
                    Locale.ROOT,
                    "%s: unknown parameter for the onnxruntime backend; it knows %s",
                    field,
                    KEYS));
      }
    }
    return new OnnxSettings(intra, inter, level);
  }

  /** Sets these options on a session about to be created. */
  void applyTo(SessionOptions options) throws OrtException {
    if (intraOpThreads > 0) {
      options.setIntraOpNumThreads(intraOpThreads);
    }
    if (interOpThreads > 0) {
      options.setInterOpNumThreads(interOpThreads);
    }
    if (interOpThreads > 1) {
      options.setExecutionMode(ExecutionMode.PARALLEL);
    }
    options.setOptimizationLevel(optimizationLevel.ort);
  }

  private static int parseCount(String text, String field) {
    int n;
    try {
      n = Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          String.format(Locale.ROOT, "%s: '%s' is not a whole number", field, text), e);
    }
    Checks.require(n >= 0, "%s must be >= 0, was %d", field, n);
    return n;
  }
}
