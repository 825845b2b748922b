"""scikit-learn scalers, pipelines, linear models, GaussianNB and MLPs -> IR, computed as scikit-learn does.

Scalers become ``scaler`` layers, linear models and MLP layers ``linear`` layers (float64-exact
weights, float64 arithmetic) with ``activation`` layers between them, GaussianNB a ``gaussian_nb``
layer. A Pipeline of scalers followed by a tree model folds the scalers into the split thresholds
(exactly: each threshold becomes the largest float32 input the scaled comparison still sends left).
``model.metadata["classic"]`` says how predict, predict_proba and decision_function follow from
the raw output, as in trees.py.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier

from ...errors import UnsupportedError
from ...ir import Layer, Model
from ...ir.reference import make_step
from .density import CONVERTERS as DENSITY_CONVERTERS
from .ensemble import exact_weights as _exact
from .knn import CONVERTERS as KNN_CONVERTERS
from .trees import CONVERTERS as TREE_CONVERTERS
from .trees import _info

SCALERS = ("StandardScaler", "MinMaxScaler")
MLP_ACTIVATIONS = {"identity": "identity", "relu": "relu", "tanh": "tanh", "logistic": "sigmoid"}


def scaler_layer(est) -> Layer:
    """Return the scaler layer of a fitted StandardScaler or MinMaxScaler."""
    n = int(est.n_features_in_)
    if type(est).__name__ == "MinMaxScaler":
        if est.clip:
            raise UnsupportedError("MinMaxScaler(clip=True) is not supported; tinyrt converts clip=False.")
        return Layer("scaler", params={"features": n, "mode": "minmax"},
                     weights=_exact(offset=est.min_, scale=est.scale_))
    # StandardScaler casts mean_ and scale_ to the dtype of X (float32) before it subtracts and divides
    mean = np.asarray(est.mean_, np.float32) if est.with_mean else np.zeros(n)
    scale = np.asarray(est.scale_, np.float32) if est.with_std else np.ones(n)
    return Layer("scaler", params={"features": n, "mode": "standard"}, weights=_exact(offset=mean, scale=scale))


def linear_layer(coef, intercept) -> Layer:
    """Return the linear layer computing X @ coef.T + intercept (coef: (outputs, features))."""
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    bias = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (coef.shape[0],))
    return Layer("linear", params={"in_features": coef.shape[1], "out_features": coef.shape[0]},
                 weights=_exact(weight=coef, bias=bias))


def _model(est, layers: list, info: dict, name) -> Model:
    return Model(layers=layers, input_size=int(est.n_features_in_), name=name or type(est).__name__.lower(),
                 metadata={"classic": info})


def from_linear_classifier(est, name=None) -> Model:
    """Return the IR of a fitted LogisticRegression or LinearSVC: decision values, then argmax or > 0."""
    binary = len(est.classes_) == 2
    has_proba = type(est).__name__ == "LogisticRegression"
    proba = ("logistic" if binary else "softmax") if has_proba else "none"
    methods = ("predict", "predict_proba", "decision_function") if has_proba else ("predict", "decision_function")
    info = _info(est, "classifier", "binary_gt" if binary else "argmax", proba, methods=methods)
    return _model(est, [linear_layer(est.coef_, est.intercept_)], info, name)


def from_linear_regressor(est, name=None) -> Model:
    """Return the IR of a fitted LinearRegression or Ridge: X @ coef.T + intercept."""
    return _model(est, [linear_layer(est.coef_, est.intercept_)], _info(est, "regressor", "value"), name)


def from_gaussian_nb(est, name=None) -> Model:
    """Return the IR of a fitted GaussianNB: the joint log likelihood per class, argmax, logsumexp."""
    var = np.asarray(est.var_, dtype=np.float64)
    log_norm = np.array([-0.5 * np.sum(np.log(2.0 * np.pi * v)) for v in var])
    layer = Layer("gaussian_nb", params={"features": int(est.n_features_in_), "classes": len(est.classes_)},
                  weights=_exact(theta=est.theta_, var=var, log_prior=np.log(est.class_prior_), log_norm=log_norm))
    info = _info(est, "classifier", "argmax", "logsumexp", methods=("predict", "predict_proba"))
    return _model(est, [layer], info, name)


def from_mlp(est, name=None) -> Model:
    """Return the IR of a fitted MLPClassifier/MLPRegressor: linear and activation layers, output activation last."""
    if est.activation not in MLP_ACTIVATIONS:
        raise UnsupportedError(f"MLP activation {est.activation!r} is not supported; tinyrt converts "
                               f"{', '.join(MLP_ACTIVATIONS)}.")
    layers = []
    for i, (coef, bias) in enumerate(zip(est.coefs_, est.intercepts_)):
        layers.append(linear_layer(np.asarray(coef).T, bias))
        last = i == len(est.coefs_) - 1
        function = MLP_ACTIVATIONS.get(est.out_activation_, est.out_activation_) if last else \
            MLP_ACTIVATIONS[est.activation]
        if function not in ("identity", "sigmoid", "softmax", "relu", "tanh"):
            raise UnsupportedError(f"MLP output activation {est.out_activation_!r} is not supported; tinyrt "
                                   f"converts identity, logistic and softmax outputs.")
        if function != "identity":
            layers.append(Layer("activation", params={"function": function, "features": int(len(bias))}))
    if is_classifier(est):
        if est.out_activation_ == "logistic" and len(est.classes_) != 2:
            raise UnsupportedError("MLPClassifier fitted on multilabel targets is not supported; tinyrt converts "
                                   "binary and multiclass MLPClassifiers.")
        binary = len(est.classes_) == 2
        info = _info(est, "classifier", "binary_gt_half" if binary else "argmax", "binary_raw" if binary else "raw",
                     methods=("predict", "predict_proba"))
    else:
        info = _info(est, "regressor", "value")
    return _model(est, layers, info, name)


def _ordered(x32: np.ndarray) -> np.ndarray:
    """Return int64 keys that order float32 values as numbers (-0.0 just below +0.0)."""
    bits = x32.view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF) - 1, bits)


def _from_ordered(key: np.ndarray) -> np.ndarray:
    bits = np.where(key < 0, (-(key + 1)) | -0x80000000, key)
    return bits.astype(np.int32).view(np.float32)


def fold_scalers(layer: Layer, scalers: list) -> None:
    """Move the scalers in front of a tree_ensemble into its thresholds, keeping every decision exact.

    Scaling is monotone, so scaled(x) <= t exactly when x <= the largest float32 x with scaled(x) <= t,
    found by bisection over the float32 values in order; a split no input reaches goes right for
    every input above -FLT_MAX.
    """
    steps = [make_step(s) for s in scalers]
    w = layer.weights
    split = w["left"] >= 0
    feature, target = w["feature"][split].astype(np.int64), w["threshold"][split].astype(np.float64)
    big = np.finfo(np.float32).max

    def scaled(key):
        x = np.zeros((len(key), layer.params["features"]))
        x[np.arange(len(key)), feature] = _from_ordered(key)
        for step in steps:
            x = step.process(x)
        return x[np.arange(len(key)), feature]

    lo = np.full(len(feature), _ordered(np.array([-big], np.float32))[0])
    hi = np.full(len(feature), _ordered(np.array([big], np.float32))[0])
    left_ok = scaled(lo) <= target
    top_ok = scaled(hi) <= target
    while True:  # invariant: scaled(lo) <= target < scaled(hi) where left_ok & ~top_ok
        open_ = hi - lo > 1
        if not open_.any():
            break
        mid = (lo + hi) // 2
        ok = scaled(mid) <= target
        lo, hi = np.where(open_ & ok, mid, lo), np.where(open_ & ~ok, mid, hi)
    folded = np.where(top_ok, big, np.where(left_ok, _from_ordered(lo), -big)).astype(np.float32)
    threshold = w["threshold"].copy()
    threshold[split] = folded
    layer.weights["threshold"] = threshold


def from_pipeline(pipe, name=None) -> Model:
    """Return the IR of a fitted Pipeline of StandardScaler/MinMaxScaler steps and one supported estimator."""
    steps = [step for _, step in pipe.steps if step not in (None, "passthrough")]
    *pre, last = steps
    bad = [type(s).__name__ for s in pre if type(s).__name__ not in SCALERS]
    if bad or type(last).__name__ in SCALERS or type(last).__name__ == "Pipeline":
        kinds = ", ".join(bad) or type(last).__name__
        raise UnsupportedError(f"tinyrt converts Pipelines of {' and '.join(SCALERS)} steps followed by one "
                               f"estimator; this one has {kinds} where that does not fit.")
    kind = type(last).__name__
    if kind not in CONVERTERS:
        raise UnsupportedError(f"tinyrt cannot convert {kind}; it converts {', '.join(sorted(CONVERTERS))}.")
    inner = CONVERTERS[kind](last, name or f"pipeline_{kind.lower()}")
    scalers = [scaler_layer(s) for s in pre]
    info = {**inner.metadata["classic"], "estimator": "Pipeline(" + ", ".join(type(s).__name__ for s in steps) + ")"}
    if kind in TREE_CONVERTERS:
        if scalers:
            fold_scalers(inner.layers[0], scalers)
        layers = inner.layers
    else:
        layers = scalers + inner.layers
    return Model(layers=layers, input_size=int(pipe.n_features_in_), name=inner.name, metadata={"classic": info})


CONVERTERS = {
    **TREE_CONVERTERS,
    "LogisticRegression": from_linear_classifier, "LinearSVC": from_linear_classifier,
    "LinearRegression": from_linear_regressor, "Ridge": from_linear_regressor,
    "GaussianNB": from_gaussian_nb,
    "MLPClassifier": from_mlp, "MLPRegressor": from_mlp,
    "Pipeline": from_pipeline,
    **DENSITY_CONVERTERS,
    **KNN_CONVERTERS,
}
