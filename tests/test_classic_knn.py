"""tinyrt.convert for KNeighborsClassifier: the C agrees exactly with scikit-learn's predict.

Brute-force, KD-tree and ball-tree models, uniform and distance weights, euclidean / manhattan /
minkowski on held-out data: the same class on every sample, probabilities within float32 rounding, the
float64 votes equal to the reference runner's; integer grids full of exact distance ties (the heap's
tie rule, the GEMM-trick distances, the fitted tree's depth-first visiting order and sort); a scaler
pipeline with int16 features; the C engine; pedantic C99 headers; the refusals with their messages.
"""
import functools
import subprocess

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import tinyrt
from tinyrt import convert
from tinyrt.c.build import build
from tinyrt.errors import ModelError, UnsupportedError
from tinyrt.frontends.sklearn import to_ir
from tinyrt.ir import Model


@functools.cache
def data(grid: bool = False):
    """Return (X_train, y_train, X_test float32): continuous float32 values, or a small integer grid (many ties)."""
    rng = np.random.default_rng(1)
    if grid:
        X = rng.integers(0, 6, size=(700, 3)).astype(np.float64)
        y = rng.integers(0, 3, size=700)
        return X[:400], y[:400], X[400:].astype(np.float32)
    X = (rng.normal(size=(900, 4)) * [1, 3, 0.1, 10]).astype(np.float32)
    y = (X[:, 0] + X[:, 1] / 3 > 0).astype(int) + (X[:, 3] > 5)
    return X[:500].astype(np.float64), y[:500], X[500:]


CASES = {
    "brute-uniform": dict(algorithm="brute"),
    "brute-distance": dict(algorithm="brute", weights="distance"),
    "auto-kdtree-uniform": dict(),
    "auto-kdtree-distance-k9": dict(n_neighbors=9, weights="distance"),
    "brute-manhattan": dict(algorithm="brute", metric="manhattan", n_neighbors=4),
    "brute-minkowski3-distance": dict(algorithm="brute", p=3, weights="distance"),
    "kdtree-manhattan-distance": dict(algorithm="kd_tree", metric="manhattan", weights="distance"),
    "balltree-minkowski3": dict(algorithm="ball_tree", p=3, n_neighbors=7),
}


def check(est, X, proba_tol=1.2e-7):
    """Assert exact predict agreement (scikit-learn on float64 X holding the float32 values) and close probabilities."""
    cm = convert(est)
    x64 = X.astype(np.float64)
    a = cm.agreement(est, x64)
    assert a["agree"] == a["samples"] == len(X), a
    assert np.abs(cm.predict_proba(X) - est.predict_proba(x64)).max() <= proba_tol
    np.testing.assert_allclose(cm.raw(X), cm.model.reference().process(X), rtol=1e-14, atol=0)
    return cm


@pytest.mark.parametrize("case", list(CASES))
def test_c_agrees_exactly_with_sklearn_on_continuous_data(case):
    X, y, X_test = data()
    est = KNeighborsClassifier(**CASES[case]).fit(X, y)
    check(est, X_test)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("k", [4, 5])
def test_c_agrees_exactly_on_an_integer_grid_full_of_ties(weights, k):
    X, y, X_test = data(grid=True)
    est = KNeighborsClassifier(k, weights=weights, algorithm="brute").fit(X, y)
    check(est, X_test)


@pytest.mark.parametrize("features", [3, 20])
def test_on_ties_c_agrees_with_single_threaded_sklearn(features):
    """With 1000 training rows scikit-learn splits the search across threads, and which of several equally
    near neighbours it keeps then depends on its thread count (on 2 threads it disagrees with itself on
    its 1-thread result on up to a fifth of tie-heavy samples); the C search is the single-threaded one."""
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(3)
    X, y = rng.integers(0, 6, (1000, features)).astype(np.float64), rng.integers(0, 3, 1000)
    Q = rng.integers(0, 6, (400, features)).astype(np.float64)
    for k, weights in ((4, "uniform"), (10, "uniform"), (5, "distance")):
        est = KNeighborsClassifier(k, weights=weights, algorithm="brute").fit(X, y)
        with threadpool_limits(1):
            want = est.predict(Q)
        np.testing.assert_array_equal(convert(est).predict(Q.astype(np.float32)), want)


GRID_SEARCHES = [(k, weights) for k in (4, 5, 10) for weights in ("uniform", "distance")] + [(20, "distance")]


@pytest.mark.parametrize("algorithm", ["auto", "kd_tree", "ball_tree"])
@pytest.mark.parametrize("features, rows", [(3, 400), (5, 1000)])
def test_tree_models_agree_exactly_on_integer_grids_full_of_ties(features, rows, algorithm):
    """Among equally near rows scikit-learn's tree query keeps those its depth-first search meets first
    (and orders them with its introsort past 15 neighbours); the C searches the same fitted tree."""
    rng = np.random.default_rng(features + rows)
    X, y = rng.integers(0, 6, (rows, features)).astype(np.float64), rng.integers(0, 3, rows)
    Q = rng.integers(0, 6, (300, features)).astype(np.float32)
    for k, weights in GRID_SEARCHES:
        est = KNeighborsClassifier(k, weights=weights, algorithm=algorithm).fit(X, y)
        assert est._fit_method == ("kd_tree" if algorithm == "auto" else algorithm)
        cm = convert(est)
        np.testing.assert_array_equal(cm.predict(Q), est.predict(Q.astype(np.float64)), err_msg=f"k={k} {weights}")
        np.testing.assert_array_equal(cm.raw(Q), cm.model.reference().process(Q))
        assert np.abs(cm.predict_proba(Q) - est.predict_proba(Q.astype(np.float64))).max() <= 1.2e-7


def test_pipeline_with_int16_features_and_the_c_engine(tmp_path):
    X, y, X_test = data()
    est = make_pipeline(StandardScaler(), KNeighborsClassifier(5)).fit(X, y)
    check(est, X_test)
    cm = convert(est, features="int16")
    dequantised = (cm.quantize(X_test).astype(np.float32) / cm.scale).astype(np.float32)
    assert (cm.predict(X_test) == est.predict(dequantised.astype(np.float64))).all()
    model = Model.load(to_ir(est).save(tmp_path / "m.tinyrt"))
    np.testing.assert_allclose(tinyrt.backend(model, "c").process(X_test[:50]), model.reference().process(X_test[:50]),
                               rtol=1e-6)
    with pytest.raises(UnsupportedError, match="a knn layer has no PyTorch form in tinyrt"):
        tinyrt.backend(Model(layers=model.layers[-1:], input_size=4), "torch")
    with pytest.raises(UnsupportedError, match="has no ONNX form in tinyrt"):
        tinyrt.backend(model, "onnxruntime")
    with pytest.raises(UnsupportedError, match="cannot be written as RTNeural JSON"):
        tinyrt.export(model, "rtneural", tmp_path / "m.json")


PROGRAM = r"""
#include <stdio.h>
#include "knn.h"
int main(void)
{
    float x[KNN_N_FEATURES] = {0.5f, 1.0f, 0.0f, 4.0f}, proba[KNN_N_CLASSES];
    knn_predict_proba(x, proba);
    printf("%d %.9g\n", knn_predict(x), (double)proba[1]);
    return 0;
}
"""


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "ball_tree"])
def test_saved_header_is_pedantic_c99_and_agrees(tmp_path, algorithm):
    X, y, _ = data()
    est = KNeighborsClassifier(5, weights="distance", algorithm=algorithm).fit(X, y)
    header = convert(est).save(tmp_path / "knn.h").read_text()
    assert not any(call in header for call in ("malloc(", "calloc(", "realloc(", "alloca("))
    if algorithm != "brute":  # the search stack is bounded by the tree's depth, a constant
        assert f"int32_t stack_node[{int(np.log2(len(est._tree.get_arrays()[2]) + 1))}];" in header
    files = {"knn.h": header, "main.c": PROGRAM}
    exe = build(files, "main", kind="executable", profile="sanitize", extra_flags=["-pedantic", "-Wshadow"])
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    row = np.array([[0.5, 1.0, 0.0, 4.0]])
    assert int(out[0]) == est.predict(row)[0]
    assert abs(float(out[1]) - est.predict_proba(row)[0, 1]) <= 1.2e-7


def _bad_labels():
    X, y, _ = data()
    layer = to_ir(KNeighborsClassifier(3).fit(X, y)).layers[0]
    layer.weights["labels"] = layer.weights["labels"] + 5
    return Model(layers=[layer], input_size=4).validate()


def _bad_tree(key):
    X, y, _ = data()
    layer = to_ir(KNeighborsClassifier(3, algorithm="kd_tree").fit(X, y)).layers[0]
    if key == "tree_index":
        layer.weights[key] = layer.weights[key] * 0
    else:
        del layer.weights[key]
    return Model(layers=[layer], input_size=4).validate()


REFUSALS = [
    (lambda: convert(KNeighborsClassifier(3, metric="chebyshev").fit(data()[0], data()[1])), UnsupportedError,
     r"tinyrt converts KNeighborsClassifier with weights 'uniform' or 'distance', one output and metric euclidean, "
     r"manhattan or minkowski\(p\) without metric_params; this one has weights='uniform', metric='chebyshev'"),
    (lambda: convert(KNeighborsClassifier(3, weights=lambda d: d).fit(data()[0], data()[1])), UnsupportedError,
     "this one has weights=<function"),
    (lambda: convert(KNeighborsClassifier(3).fit(data()[0], np.stack([data()[1]] * 2, axis=1))), UnsupportedError,
     "one output"),
    (lambda: convert(KNeighborsClassifier(3).fit(data()[0], data()[1])).decision_function(data()[2]), UnsupportedError,
     "KNeighborsClassifier has no decision_function; it has predict, predict_proba"),
    (_bad_labels, ModelError, r"layer 0 \(knn\): weight 'labels' must hold class indices in 0..2"),
    (lambda: _bad_tree("tree_index"), ModelError,
     r"layer 0 \(knn\): weight 'tree_index' must be a permutation of the 500 training rows"),
    (lambda: _bad_tree("tree_bounds"), ModelError,
     r"layer 0 \(knn\): weight 'tree_bounds' is missing \(expected shape \(2, 31, 4\)\) for a kd_tree"),
]


@pytest.mark.parametrize("call, error, message", REFUSALS)
def test_refusals_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()
