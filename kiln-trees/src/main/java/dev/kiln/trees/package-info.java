/**
 * Pure-Java tree ensembles: {@link dev.kiln.trees.TreeRuntime} (backend {@code kiln-trees}) serves
 * XGBoost models saved by {@code Booster.save_model} as {@code model.json} or {@code model.ubj}
 * (gbtree and dart boosters), LightGBM text models ({@code model.txt}, platform {@code
 * kiln_lightgbm}, same outputs convention as below) and scikit-learn forests exported as an ONNX
 * TreeEnsembleClassifier/Regressor ({@code model.onnx}, platform {@code kiln_trees_onnx}, with the
 * graph's own input and output names), with no native library.
 *
 * <h2>Outputs convention (platform {@code kiln_xgboost})</h2>
 *
 * <ul>
 *   <li>One input, {@code input}: FP32 {@code [-1, n_features]}, NaN allowed and read as missing (a
 *       split then follows its default direction). Its feature names are the model file's {@code
 *       feature_names}, when it has them. A categorical feature is sent as its integer code.
 *   <li>Regression and count objectives ({@code reg:squarederror}, {@code reg:logistic}, {@code
 *       count:poisson}, {@code reg:tweedie}): {@code prediction} FP32 {@code [-1]}, what {@code
 *       Booster.predict} returns.
 *   <li>Classifiers ({@code binary:logistic}, {@code binary:logitraw}, {@code multi:softprob},
 *       {@code multi:softmax}): {@code probabilities} FP32 {@code [-1, K]} (binary: K = 2, {@code
 *       [1 - p, p]}) and {@code label} INT64 {@code [-1]} (binary: {@code p > 0.5}; multi-class:
 *       the first largest margin). For {@code binary:logitraw}, p is the sigmoid of the margin.
 *   <li>Always {@code margin}: the raw sum of the trees plus the base margin, before the link, FP32
 *       {@code [-1]} or {@code [-1, K]} for K classes; what {@code predict(output_margin=True)}
 *       returns.
 * </ul>
 *
 * A request that names outputs (v2 {@code outputs}) gets only those; only they are computed beyond
 * the margins. Request parameter {@code iteration_range} ({@code "begin,end"} in boosting rounds,
 * end 0 meaning all) evaluates a slice of the model, as XGBoost's {@code
 * predict(iteration_range=)}. By default every tree is used, as {@code Booster.predict} does; model
 * parameter {@code use-best-iteration: true} stops at the file's {@code best_iteration}, as the
 * sklearn wrapper does.
 */
package dev.kiln.trees;
