"""scikit-learn tree models -> IR: one tree_ensemble layer plus how scikit-learn turns its output into predictions.

The layer's output is the estimator's raw output: class probabilities (decision trees, random
forests, extra trees), decision values (gradient boosting, before the sigmoid or softmax),
regression values, or IsolationForest's score_samples. ``model.metadata["classic"]`` says how
predict, predict_proba and decision_function follow from it, exactly as scikit-learn 1.9 does.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier

from ...errors import UnsupportedError
from ...ir import Model
from .ensemble import TreeBuilder


def _info(est, task: str, predict: str, proba: str = "none", proba_scale: float = 1.0, offset: float = 0.0,
          methods=("predict",)) -> dict:
    classes = getattr(est, "classes_", None)
    return {"estimator": type(est).__name__, "task": task, "predict": predict, "proba": proba,
            "proba_scale": float(proba_scale), "offset": float(offset), "methods": list(methods),
            "classes": [-1, 1] if task == "outlier" else (None if classes is None else np.asarray(classes).tolist())}


def _model(est, layer, info: dict, name) -> Model:
    return Model(layers=[layer], input_size=int(est.n_features_in_), name=name or type(est).__name__.lower(),
                 metadata={"classic": info})


def _single_output_classifier(est) -> None:
    if getattr(est, "n_outputs_", 1) != 1:
        raise UnsupportedError(f"{type(est).__name__} was fitted on {est.n_outputs_} outputs; tinyrt converts "
                               f"single-output classifiers only (fit one classifier per output).")


def _add_sklearn_tree(builder: TreeBuilder, tree, values, output: int = 0, feature_map=None) -> None:
    t = tree.tree_
    builder.add(t.children_left, t.children_right, t.feature, t.threshold, values, output, feature_map)


def _tree_values(est, tree) -> np.ndarray:
    """Return the per-node values scikit-learn's predict reads: class fractions or regression values."""
    value = tree.tree_.value
    return value[:, 0, :] if is_classifier(est) else value[:, :, 0]


def from_trees(est, name=None) -> Model:
    """Return the IR of a fitted decision tree, random forest or extra-trees ensemble (mean of the trees)."""
    trees = getattr(est, "estimators_", None) or [est]
    if is_classifier(est):
        _single_output_classifier(est)
        width = len(est.classes_)
        info = _info(est, "classifier", "argmax", "raw", methods=("predict", "predict_proba"))
    else:
        width = int(est.n_outputs_)
        info = _info(est, "regressor", "value")
    builder = TreeBuilder(int(est.n_features_in_), width, width)
    for tree in trees:
        _add_sklearn_tree(builder, tree, _tree_values(est, tree))
    return _model(est, builder.layer("mean", name="trees"), info, name)


def from_gradient_boosting(est, name=None) -> Model:
    """Return the IR of a fitted GradientBoostingClassifier/Regressor (init + learning_rate * trees)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    if not (isinstance(est.init_, (DummyClassifier, DummyRegressor)) or
            (isinstance(est.init_, str) and est.init_ == "zero")):
        raise UnsupportedError(f"{type(est).__name__} with init={type(est.init_).__name__} is not supported; "
                               f"tinyrt converts the default init (a constant prior) or init='zero'.")
    n_stages, K = est.estimators_.shape
    bias = est._raw_predict_init(np.zeros((1, est.n_features_in_), dtype=np.float32))[0]
    builder = TreeBuilder(int(est.n_features_in_), K, 1)
    lr = np.float64(est.learning_rate)
    for i in range(n_stages):
        for k in range(K):
            tree = est.estimators_[i, k]
            _add_sklearn_tree(builder, tree, lr * tree.tree_.value[:, 0, 0], output=k)  # predict_stages: scale * value
    if is_classifier(est):
        binary = K == 1
        info = _info(est, "classifier", "binary_ge" if binary else "argmax", "logistic" if binary else "softmax",
                     2.0 if est.loss == "exponential" else 1.0,
                     methods=("predict", "predict_proba", "decision_function"))
    else:
        info = _info(est, "regressor", "value")
    return _model(est, builder.layer("sum", bias=bias, name="trees"), info, name)


def from_hist_gradient_boosting(est, name=None) -> Model:
    """Return the IR of a fitted HistGradientBoostingClassifier/Regressor (baseline + the trees' leaf values)."""
    categorical = est.is_categorical_ is not None and np.any(est.is_categorical_)
    if categorical or any(p.nodes["is_categorical"].any() for it in est._predictors for p in it):
        raise UnsupportedError(f"{type(est).__name__} has categorical splits, which tinyrt does not convert; "
                               f"one-hot or ordinal-encode those features and refit without categorical_features.")
    K = est.n_trees_per_iteration_
    builder = TreeBuilder(int(est.n_features_in_), K, 1)
    for iteration in est._predictors:
        for k, predictor in enumerate(iteration):
            n = predictor.nodes
            leaf = n["is_leaf"].astype(bool)
            builder.add(np.where(leaf, -1, n["left"].astype(np.int64)), np.where(leaf, -1, n["right"].astype(np.int64)),
                        n["feature_idx"],
                        n["num_threshold"], n["value"], output=k)
    if is_classifier(est):
        binary = K == 1
        info = _info(est, "classifier", "binary_gt" if binary else "argmax", "logistic" if binary else "softmax",
                     methods=("predict", "predict_proba", "decision_function"))
    else:
        link = type(est._loss.link).__name__
        if link not in ("IdentityLink", "LogLink"):
            raise UnsupportedError(f"HistGradientBoostingRegressor with loss={est.loss!r} ({link}) is not supported; "
                                   f"tinyrt converts losses with an identity or log link.")
        info = _info(est, "regressor", "value" if link == "IdentityLink" else "value_exp")
    return _model(est, builder.layer("sum", bias=est._baseline_prediction.ravel(), name="trees"), info, name)


def from_isolation_forest(est, name=None) -> Model:
    """Return the IR of a fitted IsolationForest: score_samples from path lengths, predict with offset_."""
    from sklearn.ensemble._iforest import _average_path_length
    builder = TreeBuilder(int(est.n_features_in_), 1, 1)
    for i, (tree, features) in enumerate(zip(est.estimators_, est.estimators_features_)):
        # the depth of each leaf plus the average path length of the samples left in it, minus one
        leaf_depth = est._decision_path_lengths[i] + est._average_path_length_per_tree[i] - 1.0
        _add_sklearn_tree(builder, tree, leaf_depth, feature_map=features)
    denominator = float((len(est.estimators_) * _average_path_length([est._max_samples]))[0])
    info = _info(est, "outlier", "outlier", offset=est.offset_,
                 methods=("predict", "decision_function", "score_samples"))
    return _model(est, builder.layer("isolation", denominator=denominator, name="trees"), info, name)


CONVERTERS = {
    "DecisionTreeClassifier": from_trees, "DecisionTreeRegressor": from_trees,
    "ExtraTreeClassifier": from_trees, "ExtraTreeRegressor": from_trees,
    "RandomForestClassifier": from_trees, "RandomForestRegressor": from_trees,
    "ExtraTreesClassifier": from_trees, "ExtraTreesRegressor": from_trees,
    "GradientBoostingClassifier": from_gradient_boosting, "GradientBoostingRegressor": from_gradient_boosting,
    "HistGradientBoostingClassifier": from_hist_gradient_boosting,
    "HistGradientBoostingRegressor": from_hist_gradient_boosting,
    "IsolationForest": from_isolation_forest,
}
