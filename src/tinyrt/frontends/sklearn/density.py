"""scikit-learn density models -> IR: EllipticEnvelope (Mahalanobis) and GaussianMixture, computed as scikit-learn does.

EllipticEnvelope becomes a ``mahalanobis`` layer whose output is score_samples; decision_function
subtracts ``offset_`` and predict gives +1 where that is >= 0, -1 elsewhere. GaussianMixture becomes
a ``gaussian_mixture`` layer whose output is the weighted log probability of each component; predict
is its argmax, predict_proba exp(output - logsumexp(output)) and score_samples the logsumexp. The
products scikit-learn computes from its fitted parameters at predict time (``means @ prec_chol`` and
the like) are computed here with the same NumPy operations, so they are the same float64 numbers.
"""
from __future__ import annotations

import numpy as np

from ...ir import Layer, Model
from .ensemble import exact_weights as _exact


def _info(est, task: str, predict: str, proba: str, methods, classes, offset: float = 0.0) -> dict:
    return {"estimator": type(est).__name__, "task": task, "predict": predict, "proba": proba,
            "proba_scale": 1.0, "offset": float(offset), "methods": list(methods), "classes": classes}


def _model(est, layer: Layer, info: dict, name) -> Model:
    return Model(layers=[layer], input_size=int(est.n_features_in_), name=name or type(est).__name__.lower(),
                 metadata={"classic": info})


def from_elliptic_envelope(est, name=None) -> Model:
    """Return the IR of a fitted EllipticEnvelope: score_samples, then - offset_ and >= 0 for predict."""
    n = int(est.n_features_in_)
    layer = Layer("mahalanobis", params={"features": n},
                  weights=_exact(location=est.location_, precision=est.get_precision()))
    info = _info(est, "outlier", "outlier", "none", ("predict", "decision_function", "score_samples"), [-1, 1],
                 offset=est.offset_)
    return _model(est, layer, info, name)


def from_gaussian_mixture(est, name=None) -> Model:
    """Return the IR of a fitted GaussianMixture (any covariance type): the weighted log probability per component."""
    from sklearn.mixture._gaussian_mixture import _compute_log_det_cholesky
    cov, n, k = est.covariance_type, int(est.n_features_in_), int(est.n_components)
    chol, means = np.asarray(est.precisions_cholesky_, np.float64), np.asarray(est.means_, np.float64)
    if cov == "full":
        weights = {"prec_chol": chol, "mean_prec": np.stack([means[c] @ chol[c] for c in range(k)])}
    elif cov == "tied":
        weights = {"prec_chol": chol, "mean_prec": np.stack([means[c] @ chol for c in range(k)])}
    elif cov == "diag":
        prec = chol ** 2
        weights = {"prec": prec, "mean_prec": means * prec, "mean_quad": np.sum(means ** 2 * prec, axis=1)}
    else:
        prec = chol ** 2
        weights = {"prec": prec, "means": means, "mean_quad": np.sum(means ** 2, axis=1) * prec}
    log_det = np.broadcast_to(_compute_log_det_cholesky(chol, cov, n), (k,))
    layer = Layer("gaussian_mixture", params={"features": n, "components": k, "covariance": cov},
                  weights=_exact(**weights, log_det=log_det, log_weights=np.log(est.weights_)))
    info = _info(est, "classifier", "argmax", "logsumexp", ("predict", "predict_proba", "score_samples"),
                 list(range(k)))
    info["score"] = "logsumexp"
    return _model(est, layer, info, name)


CONVERTERS = {"EllipticEnvelope": from_elliptic_envelope, "GaussianMixture": from_gaussian_mixture}
