package dev.kiln.core.ensemble;

import dev.kiln.core.registry.ModelConfig;
import java.util.List;

/**
 * An ensemble's config in the form execution wants: the combiner as an enum, weights as an array
 * (null when the members count equally).
 */
record Plan(
    List<String> members, Combiner combiner, double[] weights, String output, String finalModel) {
  static final String LABEL = "label";

  enum Combiner {
    MEAN,
    WEIGHTED_MEAN,
    VOTE,
    STACK
  }

  static Plan of(ModelConfig.Ensemble e) {
    Combiner c =
        switch (e.combiner()) {
          case "weighted-mean" -> Combiner.WEIGHTED_MEAN;
          case "vote" -> Combiner.VOTE;
          case "stack" -> Combiner.STACK;
          default -> Combiner.MEAN;
        };
    double[] w =
        e.weights().isEmpty()
            ? null
            : e.weights().stream().mapToDouble(Double::doubleValue).toArray();
    return new Plan(e.members(), c, w, e.output(), e.finalModel());
  }
}
