"""tinyrt.convert for scalers, pipelines, linear models, GaussianNB and MLPs: the C agrees exactly with scikit-learn.

Every estimator type on held-out float32 data (the C input type): the same class on every sample,
probabilities and decision values within float32 rounding, the float64 raw output equal to
scikit-learn's decision values / joint log likelihood and to the IR reference runner; int16
features with a measured agreement; the C engine and the .tinyrt file; a pedantic C99 header
and a Cortex-M4 build; the refusals with their messages.
"""
import functools
import subprocess
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC, LinearSVC

import tinyrt
from tinyrt import convert
from tinyrt.c.build import build
from tinyrt.errors import InputError, ModelError, UnsupportedError
from tinyrt.frontends.sklearn import to_ir
from tinyrt.frontends.sklearn.linear import fold_scalers, scaler_layer
from tinyrt.ir import Layer, Model

N_TRAIN = 600


@functools.cache
def data(kind: str):
    """Return (X_train float64, y_train, X_test float32): float32-valued features, shifted and scaled."""
    if kind == "regression":
        X, y = make_regression(n_samples=1600, n_features=6, n_informative=4, noise=2.0, random_state=1)
    elif kind == "regression2":
        X, y = make_regression(n_samples=1600, n_features=6, n_targets=2, random_state=2)
    else:
        X, y = make_classification(n_samples=1600, n_features=6, n_informative=4, n_redundant=1,
                                   n_classes=2 if kind == "binary" else 3, random_state=0)
    X = (X * np.array([1, 3, 0.1, 10, 1, 2]) + np.array([0, 5, -1, 40, 0, 1])).astype(np.float32)
    return X[:N_TRAIN].astype(np.float64), y[:N_TRAIN], X[N_TRAIN:]


def mlp(cls, **kw):
    return cls(hidden_layer_sizes=(12, 6), max_iter=150, random_state=0, **kw)


CASES = {
    "LogisticRegression": (lambda: LogisticRegression(max_iter=1000), "classes"),
    "LogisticRegression-binary": (lambda: LogisticRegression(max_iter=1000), "binary"),
    "LinearSVC": (lambda: LinearSVC(), "classes"),
    "LinearSVC-binary": (lambda: LinearSVC(), "binary"),
    "LinearRegression": (lambda: LinearRegression(), "regression"),
    "Ridge-2-outputs": (lambda: Ridge(alpha=2.0), "regression2"),
    "GaussianNB": (lambda: GaussianNB(), "classes"),
    "GaussianNB-binary-smoothed": (lambda: GaussianNB(var_smoothing=1e-3), "binary"),
    "MLPClassifier-relu": (lambda: make_pipeline(StandardScaler(), mlp(MLPClassifier)), "classes"),
    "MLPClassifier-binary-tanh": (lambda: make_pipeline(StandardScaler(), mlp(MLPClassifier, activation="tanh")),
                                  "binary"),
    "MLPClassifier-logistic": (lambda: make_pipeline(MinMaxScaler(), mlp(MLPClassifier, activation="logistic")),
                               "classes"),
    "MLPRegressor-identity": (lambda: make_pipeline(StandardScaler(), mlp(MLPRegressor, activation="identity")),
                              "regression"),
    "Pipeline-StandardScaler-LogisticRegression": (lambda: make_pipeline(StandardScaler(), LogisticRegression()),
                                                   "classes"),
    "Pipeline-MinMax-Standard-LinearSVC": (lambda: make_pipeline(MinMaxScaler(), StandardScaler(), LinearSVC()),
                                           "binary"),
    "Pipeline-MinMaxScaler-GaussianNB": (lambda: make_pipeline(MinMaxScaler((-1, 2)), GaussianNB()), "classes"),
    "Pipeline-StandardScaler-Ridge": (lambda: make_pipeline(StandardScaler(with_mean=False), Ridge()), "regression"),
    "Pipeline-StandardScaler-RandomForest": (lambda: make_pipeline(
        StandardScaler(), RandomForestClassifier(8, max_depth=6, random_state=0)), "classes"),
    "Pipeline-MinMaxScaler-HistGradientBoosting": (lambda: make_pipeline(
        MinMaxScaler(), HistGradientBoostingClassifier(max_iter=6, max_leaf_nodes=8, random_state=0)), "binary"),
    "Pipeline-scalers-GradientBoosting": (lambda: make_pipeline(
        StandardScaler(), MinMaxScaler(), GradientBoostingClassifier(n_estimators=6, max_depth=3, random_state=0)),
        "classes"),
}


@functools.cache
def fitted(case: str):
    """Return (fitted estimator, held-out float32 X) of a case."""
    make, kind = CASES[case]
    X, y, X_test = data(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short MLP training does not converge; it need not
        return make().fit(X, y), X_test


def final(est):
    """Return the last step of a pipeline (or the estimator)."""
    return est.steps[-1][1] if hasattr(est, "steps") else est


@pytest.mark.parametrize("case", list(CASES))
def test_c_agrees_exactly_with_sklearn_on_every_held_out_sample(case):
    est, X = fitted(case)
    cm = convert(est)
    a = cm.agreement(est, X)
    assert a["agree"] == a["samples"] == len(X)
    ours, theirs = cm.predict(X), est.predict(X)
    assert ours.shape == np.shape(theirs)
    if "Regressor" in case or "Regression" in case or "Ridge" in case:
        np.testing.assert_allclose(ours, theirs, rtol=2e-7, atol=1e-6)
    else:
        assert (ours == theirs).all()
    raw = cm.raw(X)
    reference = cm.model.reference().process(X)
    tree = isinstance(final(est), (RandomForestClassifier, HistGradientBoostingClassifier, GradientBoostingClassifier))
    np.testing.assert_allclose(raw, reference, rtol=0 if tree else 1e-13, atol=0 if tree else 1e-12)
    if hasattr(est, "predict_proba"):
        assert np.abs(cm.predict_proba(X) - est.predict_proba(X)).max() < 1.2e-7
    if isinstance(final(est), (LogisticRegression, LinearSVC)):  # the float64 decision values themselves
        theirs = est.decision_function(X)
        np.testing.assert_allclose(raw.reshape(theirs.shape), theirs, rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(cm.decision_function(X), est.decision_function(X), rtol=1.2e-7, atol=1e-7)
    if isinstance(final(est), GaussianNB) and not hasattr(est, "steps"):
        np.testing.assert_allclose(raw, est.predict_joint_log_proba(X), rtol=1e-13)


def test_folded_scaler_thresholds_decide_like_the_scaled_comparison_for_every_nearby_float32():
    """Around every folded threshold, x <= folded is exactly scaled(x) <= the original threshold."""
    est, X = fitted("Pipeline-scalers-GradientBoosting")
    pre = [scaler_layer(s) for _, s in est.steps[:-1]]
    plain = to_ir(est.steps[-1][1]).layers[0]
    folded = to_ir(est.steps[-1][1]).layers[0]
    fold_scalers(folded, pre)
    split = plain.weights["left"] >= 0
    feature, t, f = plain.weights["feature"][split].astype(int), plain.weights["threshold"][split], \
        folded.weights["threshold"][split]
    steps = Model(layers=pre, input_size=6).reference()
    for k in range(-3, 4):  # the folded threshold and its float32 neighbours
        x = f.copy()
        for _ in range(abs(k)):
            x = np.nextafter(x, np.float32(np.sign(k) * np.inf))
        rows = np.zeros((len(x), 6), np.float32)
        rows[np.arange(len(x)), feature] = x
        scaled = steps.process(rows)[np.arange(len(x)), feature]
        assert ((x <= f) == (scaled <= t)).all()


@pytest.mark.parametrize("case, scale", [("LogisticRegression", "given"), ("Pipeline-StandardScaler-LogisticRegression",
                                                                         None),
                                         ("Pipeline-MinMax-Standard-LinearSVC", None),
                                         ("MLPClassifier-relu", None), ("Pipeline-MinMaxScaler-GaussianNB", None),
                                         ("Pipeline-StandardScaler-RandomForest", None)])
def test_int16_features_agree_on_the_dequantised_input_and_nearly_on_the_float_one(case, scale):
    est, X = fitted(case)
    if scale == "given":
        scale = 32767 / (np.abs(data("classes")[0]).max(axis=0) * 1.25)
    cm = convert(est, features="int16", scale=scale)
    q = cm.quantize(X)
    assert q.dtype == np.int16 and (np.abs(q.astype(np.int32)) <= 32767).all()
    dequantised = (q.astype(np.float32) / cm.scale).astype(np.float32)
    assert (cm.predict(X) == est.predict(dequantised)).all()  # exact on what the int16 model reads
    a = cm.agreement(est, X)  # against scikit-learn on the float input: the measured cost of int16
    assert a["fraction"] >= 0.98


PROGRAM = r"""
#include <stdio.h>
#include "model.h"
int main(void)
{
    float x[MODEL_N_FEATURES] = {0}, proba[MODEL_N_CLASSES], dec[MODEL_N_OUTPUTS];
    int16_t xq[MODEL_N_FEATURES];
    model_quantize(x, xq);
    model_predict_proba(xq, proba);
    model_decision_function(xq, dec);
    printf("%d %.7f %.7f\n", model_predict(xq), (double)proba[0], (double)dec[0]);
    return 0;
}
"""


def test_saved_header_is_a_pedantic_c99_library_and_builds_for_cortex_m4(tmp_path):
    est, X = fitted("Pipeline-StandardScaler-LogisticRegression")
    cm = convert(est, "pipe", features="int16")
    header = cm.save(tmp_path / "model.h").read_text()
    assert "#include" not in header.replace("#include <", "")
    exe = build({"model.h": header, "main.c": PROGRAM}, "main", kind="executable", profile="sanitize",
                extra_flags=["-pedantic", "-Wshadow"])
    cls, p0, d0 = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    row = (cm.quantize(np.zeros((1, 6), np.float32)).astype(np.float32) / cm.scale).astype(np.float32)
    assert int(cls) == est.predict(row)[0]
    assert abs(float(p0) - est.predict_proba(row)[0, 0]) < 1e-6
    assert abs(float(d0) - est.decision_function(row)[0, 0]) < 1e-5
    m4 = convert(final(est), "logreg").object_sizes("cortex-m4")
    print("Cortex-M4 predict of a 6-feature 3-class LogisticRegression:", m4)
    assert 0 < m4["text"] < 2048 and m4["rodata"] > 0 and m4["data"] == m4["bss"] == 0


def test_tinyrt_file_c_engine_and_engines_without_these_layers(tmp_path):
    est, X = fitted("MLPClassifier-logistic")
    model = Model.load(to_ir(est, "mlp").save(tmp_path / "mlp.tinyrt"))
    reference = model.reference().process(X)
    out = tinyrt.backend(model, "c").process(X)  # the general C engine: float32 between layers
    np.testing.assert_allclose(out, reference, atol=2e-6)
    for layer in ("linear", "scaler"):
        with pytest.raises(UnsupportedError, match=f"a {layer} layer has no PyTorch form in tinyrt"):
            tinyrt.backend(Model(layers=[lay for lay in model.layers if lay.type == layer][:1], input_size=6), "torch")
    with pytest.raises(UnsupportedError, match=r"layer 0 \(scaler\) has no ONNX form in tinyrt"):
        tinyrt.backend(model, "onnxruntime")
    with pytest.raises(UnsupportedError, match=r"layer 0 \(scaler\) cannot be written as RTNeural JSON"):
        tinyrt.export(model, "rtneural", tmp_path / "m.json")
    nb = to_ir(fitted("GaussianNB")[0])
    np.testing.assert_allclose(tinyrt.backend(nb, "c").process(X), nb.reference().process(X), rtol=1e-6)


def _bad_scaler():
    layer = scaler_layer(fitted("Pipeline-StandardScaler-LogisticRegression")[0].steps[0][1])
    layer.weights["scale"] = np.zeros(6, np.float32)
    return Model(layers=[layer], input_size=6).validate()


REFUSALS = [
    (lambda: convert(SVC().fit(*data("binary")[:2])), UnsupportedError,
     r"tinyrt cannot convert SVC; it converts .*GaussianNB.*LinearSVC.*LogisticRegression.*MLPClassifier.*Pipeline"),
    (lambda: convert(LogisticRegression()), InputError,
     r"the LogisticRegression is not fitted; call fit\(X, y\) before tinyrt.convert"),
    (lambda: convert(make_pipeline(StandardScaler(), GaussianNB())), InputError, "the Pipeline is not fitted"),
    (lambda: convert(fitted("LogisticRegression")[0]).predict(np.zeros((2, 5))), InputError,
     r"expects X of shape \(n_samples, 6\), got \(2, 5\)"),
    (lambda: convert(fitted("GaussianNB")[0]).predict_proba(np.full((1, 6), np.nan)), InputError,
     "X contains NaN or infinite values"),
    (lambda: convert(fitted("LinearSVC")[0]).predict_proba(np.zeros((1, 6))), UnsupportedError,
     "LinearSVC has no predict_proba; it has predict, decision_function"),
    (lambda: convert(make_pipeline(MinMaxScaler(clip=True), GaussianNB()).fit(*data("binary")[:2])),
     UnsupportedError, r"MinMaxScaler\(clip=True\) is not supported"),
    (lambda: convert(make_pipeline(PCA(2), GaussianNB()).fit(*data("binary")[:2])), UnsupportedError,
     "tinyrt converts Pipelines of StandardScaler and MinMaxScaler steps followed by one estimator; this one has PCA"),
    (lambda: convert(make_pipeline(StandardScaler(), SVC()).fit(*data("binary")[:2])), UnsupportedError,
     "tinyrt cannot convert SVC"),
    (lambda: convert(MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), max_iter=5).fit(
        data("binary")[0], data("binary")[1] + 1.0)), UnsupportedError, "MLP output activation 'exp' is not supported"),
    (lambda: convert(fitted("LogisticRegression")[0], features="int16"), InputError,
     r"int16 features need scale= for a model without a leading scaler"),
    (lambda: convert(fitted("LogisticRegression")[0], form="inline"), UnsupportedError,
     "form='inline' applies to tree models; logisticregression has no trees"),
    (lambda: convert(fitted("LogisticRegression")[0], features="int8"), UnsupportedError,
     "features must be one of float32, int16, got 'int8'"),
    (lambda: convert(fitted("LogisticRegression")[0]).save("model.bin"), UnsupportedError,
     r"the loadable .bin format holds tree models; save LogisticRegression as a .h C library"),
    (_bad_scaler, ModelError, r"layer 0 \(scaler\): weight 'scale' must not be zero"),
    (lambda: Model(layers=[Layer("scaler", params={"features": 2, "mode": "robust"},
                                 weights={k: np.ones(s) for k, s in (("offset", 2), ("scale", 2),
                                                                     ("offset_lo", (2, 2)), ("scale_lo", (2, 2)))})],
                   input_size=2).validate(), ModelError, "parameter 'mode' = 'robust' is not one of standard, minmax"),
]


@pytest.mark.parametrize("call, error, message", REFUSALS)
def test_refusals_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()
