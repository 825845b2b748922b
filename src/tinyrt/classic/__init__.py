"""Classic machine learning (scikit-learn) to C, agreeing exactly with scikit-learn.

``tinyrt.convert(estimator)`` turns a fitted estimator into the IR (a ``tree_ensemble`` layer
for tree models; ``scaler``, ``linear``, ``gaussian_nb`` and ``activation`` layers for scalers,
pipelines, linear models, GaussianNB and MLPs; ``mahalanobis`` for EllipticEnvelope, ``gaussian_mixture``
for GaussianMixture) and compiles it to a C99 library; the returned CModel runs that C library
through scikit-learn's method names, so agreement can be checked in one line.
"""
from __future__ import annotations

from ..errors import DependencyError, InputError, UnsupportedError
from .cmodel import CModel


def _converters() -> dict:
    try:
        from .linear import CONVERTERS
    except ImportError:
        raise DependencyError("converting scikit-learn models needs scikit-learn; "
                              "install it with pip install 'tinyrt[classic]'.") from None
    return CONVERTERS


def supported() -> list:
    """Return the names of the scikit-learn estimators tinyrt converts."""
    return sorted(_converters())


def to_ir(estimator, name: str | None = None):
    """Return the IR Model of a fitted scikit-learn estimator (its output: the estimator's raw output)."""
    converters = _converters()
    kind = type(estimator).__name__
    if kind not in converters:
        raise UnsupportedError(f"tinyrt cannot convert {kind}; it converts {', '.join(sorted(converters))}.")
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise InputError(f"the {kind} is not fitted; call fit(X, y) before tinyrt.convert.") from None
    return converters[kind](estimator, name)


def convert(estimator, name: str | None = None, features: str = "float32", form: str = "nodes", scale=None,
            profile: str = "portable") -> CModel:
    """Return the compiled C model (CModel) of a fitted scikit-learn estimator.

    ``features``: "float32" or "int16" (fixed point; ``scale`` per feature or one number, default
    from the model's thresholds, or from a pipeline's leading scaler). ``form``: "nodes" (compact node arrays) or "inline" (if/else code).
    """
    return CModel(to_ir(estimator, name), name, features=features, form=form, scale=scale, profile=profile)


__all__ = ["CModel", "convert", "supported", "to_ir"]
