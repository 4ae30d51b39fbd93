package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import org.junit.jupiter.api.Test;

/**
 * LightGBM's missing-value rules ({@code Tree::NumericalDecision}) on a one-split model: x <= 0.5
 * goes left (leaf 1.0), else right (leaf 2.0).
 */
class LightgbmMissingTest {
  /** decision_type: 2 = default left; missing type in bits 3-4 (4 = Zero, 8 = NaN). */
  static String model(int decisionType, String objective) {
    return String.join(
        "\n",
        "tree",
        "version=v4",
        "num_class=1",
        "num_tree_per_iteration=1",
        "label_index=0",
        "max_feature_idx=0",
        "objective=" + objective,
        "feature_names=x",
        "",
        "Tree=0",
        "num_leaves=2",
        "num_cat=0",
        "split_feature=0",
        "threshold=0.5",
        "decision_type=" + decisionType,
        "left_child=-1",
        "right_child=-2",
        "leaf_value=1 2",
        "shrinkage=1",
        "",
        "",
        "end of trees",
        "");
  }

  static double score(int decisionType, float x) {
    LightgbmText m = LightgbmText.parse(model(decisionType, "regression"), "model.txt");
    return m.forest().rawScores(new float[] {x}, 1)[0];
  }

  @Test
  void missingTypeNone_nan_isTreatedAsZero() {
    assertThat(score(0, Float.NaN)).isEqualTo(1.0); // 0.0 <= 0.5: left
    assertThat(score(2, Float.NaN)).isEqualTo(1.0);
  }

  @Test
  void missingTypeZero_zeroAndNan_goDefaultDirection() {
    assertThat(score(4, 0.0f)).isEqualTo(2.0); // Zero, default right
    assertThat(score(4, Float.NaN)).isEqualTo(2.0); // NaN becomes 0.0 first
    assertThat(score(4 | 2, 0.0f)).isEqualTo(1.0); // default left
    assertThat(score(4, 1e-36f)).isEqualTo(2.0); // within kZeroThreshold
    assertThat(score(4, 0.25f)).isEqualTo(1.0); // not zero: threshold
  }

  @Test
  void missingTypeNan_nanGoesDefault_zeroComparesNormally() {
    assertThat(score(8, Float.NaN)).isEqualTo(2.0);
    assertThat(score(8 | 2, Float.NaN)).isEqualTo(1.0);
    assertThat(score(8, 0.0f)).isEqualTo(1.0);
    assertThat(score(8 | 2, 0.75f)).isEqualTo(2.0);
  }

  @Test
  void parse_binaryObjective_readsSigmoidParameter() {
    LightgbmText m = LightgbmText.parse(model(0, "binary sigmoid:0.5"), "model.txt");

    assertThat(m.objective().sigmoid()).isEqualTo(0.5);
    assertThat(m.objective().apply(2.0)).isEqualTo(1.0 / (1.0 + Math.exp(-1.0)));
    assertThat(m.featureNames()).containsExactly("x");
  }

  @Test
  void parse_unknownObjective_isUnsupported() {
    assertThatThrownBy(() -> LightgbmText.parse(model(0, "lambdarank"), "model.txt"))
        .isInstanceOfSatisfying(
            KilnException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED);
              assertThat(e.getMessage()).contains("lambdarank");
            });
  }

  @Test
  void parse_linearTree_isUnsupported() {
    String text = model(0, "regression").replace("shrinkage=1", "is_linear=1\nshrinkage=1");

    assertThatThrownBy(() -> LightgbmText.parse(text, "model.txt"))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED));
  }

  @Test
  void parse_truncatedFile_isInternal() {
    String text = model(0, "regression").replace("end of trees", "");

    assertThatThrownBy(() -> LightgbmText.parse(text, "model.txt"))
        .isInstanceOfSatisfying(
            KilnException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL));
  }
}
