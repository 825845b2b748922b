"""tinyrt.convert for EllipticEnvelope and GaussianMixture: the C agrees exactly with scikit-learn.

Every estimator and covariance type on held-out float32 data: the same prediction on every sample
(and on the training rows, which lie closest to EllipticEnvelope's threshold), scores and
probabilities within float32 rounding, the float64 raw output equal to scikit-learn's to 1e-13
relative; int16 features with a measured agreement; the C engine and the .tinyrt file; a
pedantic C99 header; the refusals with their messages.
"""
import functools
import subprocess

import numpy as np
import pytest
from sklearn.covariance import EllipticEnvelope
from sklearn.datasets import make_classification
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import tinyrt
from tinyrt import convert
from tinyrt.c.build import build
from tinyrt.errors import InputError, ModelError, UnsupportedError
from tinyrt.frontends.sklearn import to_ir
from tinyrt.ir import Layer, Model

N_TRAIN = 600


@functools.cache
def data():
    """Return (X_train float64, X_test float32): float32-valued features, shifted and scaled, full rank."""
    X, _ = make_classification(n_samples=1600, n_features=5, n_informative=3, n_redundant=0, n_classes=3,
                               random_state=0)
    X = (X * np.array([1, 3, 0.1, 10, 2]) + np.array([0, 5, -1, 40, 1])).astype(np.float32)
    return X[:N_TRAIN].astype(np.float64), X[N_TRAIN:]


CASES = {
    "EllipticEnvelope": lambda: EllipticEnvelope(contamination=0.1, random_state=0),
    "Pipeline-StandardScaler-EllipticEnvelope": lambda: make_pipeline(StandardScaler(),
                                                                      EllipticEnvelope(random_state=0)),
    "GaussianMixture-full": lambda: GaussianMixture(3, random_state=0),
    "GaussianMixture-tied": lambda: GaussianMixture(3, covariance_type="tied", random_state=0),
    "GaussianMixture-diag": lambda: GaussianMixture(4, covariance_type="diag", random_state=0),
    "GaussianMixture-spherical": lambda: GaussianMixture(3, covariance_type="spherical", random_state=0),
    "Pipeline-MinMaxScaler-GaussianMixture": lambda: make_pipeline(MinMaxScaler(), GaussianMixture(4, random_state=0)),
}


@functools.cache
def fitted(case: str):
    """Return (fitted estimator, held-out float32 X) of a case."""
    X, X_test = data()
    return CASES[case]().fit(X), X_test


def final(est):
    """Return the last step of a pipeline (or the estimator)."""
    return est.steps[-1][1] if hasattr(est, "steps") else est


@pytest.mark.parametrize("case", list(CASES))
def test_c_agrees_exactly_with_sklearn_on_every_held_out_sample(case):
    est, X = fitted(case)
    cm = convert(est)
    a = cm.agreement(est, X)
    assert a["agree"] == a["samples"] == len(X)
    train = data()[0].astype(np.float32)
    assert (cm.predict(train) == est.predict(train)).all()  # the rows nearest EllipticEnvelope's threshold
    raw = cm.raw(X)
    np.testing.assert_allclose(raw, cm.model.reference().process(X), rtol=1e-13, atol=1e-12)
    spherical = "spherical" in case  # scikit-learn sums |x|**2 in float32 in an order of its own: 1 float32 step
    score = est.score_samples(X)
    np.testing.assert_allclose(cm.score_samples(X), score, rtol=4e-6 if spherical else 1.2e-7)
    if isinstance(final(est), EllipticEnvelope):
        np.testing.assert_allclose(raw[:, 0], score, rtol=1e-13)  # the float64 score itself
        assert np.abs(cm.decision_function(X) - est.decision_function(X)).max() <= 1.2e-7 * np.abs(score).max()
        assert set(cm.predict(X)) == {-1, 1}
    else:
        z = est[:-1].transform(X) if hasattr(est, "steps") else X
        np.testing.assert_allclose(raw, final(est)._estimate_weighted_log_prob(z), rtol=4e-6 if spherical else 1e-13)
        assert np.abs(cm.predict_proba(X) - est.predict_proba(X)).max() < (4e-6 if spherical else 1.2e-7)


@pytest.mark.parametrize("case", ["Pipeline-StandardScaler-EllipticEnvelope", "Pipeline-MinMaxScaler-GaussianMixture"])
def test_int16_features_agree_on_the_dequantised_input_and_nearly_on_the_float_one(case):
    est, X = fitted(case)
    cm = convert(est, features="int16")
    dequantised = (cm.quantize(X).astype(np.float32) / cm.scale).astype(np.float32)
    assert (cm.predict(X) == est.predict(dequantised)).all()
    a = cm.agreement(est, X)
    assert a["fraction"] >= 0.99


PROGRAM = r"""
#include <stdio.h>
#include "ee.h"
#include "gmm.h"
int main(void)
{
    float x[EE_N_FEATURES] = {0.5f, 5.0f, -1.0f, 41.0f, 1.5f}, proba[GMM_N_CLASSES];
    gmm_predict_proba(x, proba);
    printf("%d %.9g %.9g %d %.9g %.9g\n", ee_predict(x), (double)ee_decision_function(x),
           (double)ee_score_samples(x), gmm_predict(x), (double)gmm_score_samples(x), (double)proba[0]);
    return 0;
}
"""


def test_saved_headers_are_pedantic_c99_and_agree_with_sklearn(tmp_path):
    ee, gmm = fitted("EllipticEnvelope")[0], fitted("GaussianMixture-diag")[0]
    files = {"ee.h": convert(ee).save(tmp_path / "ee.h").read_text(),
             "gmm.h": convert(gmm).save(tmp_path / "gmm.h").read_text(), "main.c": PROGRAM}
    exe = build(files, "main", kind="executable", profile="sanitize", extra_flags=["-pedantic", "-Wshadow"])
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    row = np.array([[0.5, 5.0, -1.0, 41.0, 1.5]], np.float32)
    assert int(out[0]) == ee.predict(row)[0] and int(out[3]) == gmm.predict(row)[0]
    np.testing.assert_allclose([float(v) for v in out[1:3]], [ee.decision_function(row)[0], ee.score_samples(row)[0]],
                               rtol=1.2e-7)
    np.testing.assert_allclose([float(out[4]), float(out[5])],
                               [gmm.score_samples(row)[0], gmm.predict_proba(row)[0, 0]], rtol=1.2e-7, atol=1e-9)


def test_tinyrt_file_c_engine_and_engines_without_these_layers(tmp_path):
    for case in ("Pipeline-StandardScaler-EllipticEnvelope", "GaussianMixture-full"):
        est, X = fitted(case)
        model = Model.load(to_ir(est).save(tmp_path / "m.tinyrt"))
        reference = model.reference().process(X)
        out = tinyrt.backend(model, "c").process(X)  # the general C engine: float32 between layers
        np.testing.assert_allclose(out, reference, rtol=1e-6, atol=1e-5)
        kind = model.layers[-1].type
        with pytest.raises(UnsupportedError, match=f"a {kind} layer has no PyTorch form in tinyrt"):
            tinyrt.backend(Model(layers=model.layers[-1:], input_size=5), "torch")
        with pytest.raises(UnsupportedError, match=rf"\({model.layers[0].type}\) has no ONNX form in tinyrt"):
            tinyrt.backend(model, "onnxruntime")
        with pytest.raises(UnsupportedError, match="cannot be written as RTNeural JSON"):
            tinyrt.export(model, "rtneural", tmp_path / "m.json")


def _bad_covariance():
    layer = to_ir(fitted("GaussianMixture-diag")[0]).layers[0]
    layer.params["covariance"] = "banded"
    return Model(layers=[layer], input_size=5).validate()


REFUSALS = [
    (lambda: convert(KNeighborsClassifier(3, metric="chebyshev").fit(data()[0], np.arange(N_TRAIN) % 2)),
     UnsupportedError, r"KNeighborsClassifier"),
    (lambda: convert(GaussianMixture(2)), InputError, r"the GaussianMixture is not fitted; call fit"),
    (lambda: convert(fitted("EllipticEnvelope")[0]).predict_proba(data()[1]), UnsupportedError,
     "EllipticEnvelope has no predict_proba; it has predict, decision_function, score_samples"),
    (lambda: convert(fitted("GaussianMixture-tied")[0]).decision_function(data()[1]), UnsupportedError,
     "GaussianMixture has no decision_function; it has predict, predict_proba, score_samples"),
    (lambda: convert(fitted("GaussianMixture-full")[0]).score_samples(np.zeros((1, 4))), InputError,
     r"expects X of shape \(n_samples, 5\), got \(1, 4\)"),
    (lambda: convert(fitted("EllipticEnvelope")[0], features="int16"), InputError,
     "int16 features need scale= for a model without a leading scaler"),
    (_bad_covariance, ModelError,
     r"layer 0 \(gaussian_mixture\): parameter 'covariance' = 'banded' is not one of full, tied, diag, spherical"),
    (lambda: Model(layers=[Layer("mahalanobis", params={"features": 2}, weights={})], input_size=2).validate(),
     ModelError, r"layer 0 \(mahalanobis\): weight 'location' is missing \(expected shape \(2,\)\)"),
]


@pytest.mark.parametrize("call, error, message", REFUSALS)
def test_refusals_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()
