"""scikit-learn estimators to the IR, agreeing exactly with scikit-learn.

``to_ir(estimator)`` turns a fitted estimator into the IR: a ``tree_ensemble`` layer for tree
models; ``scaler``, ``linear``, ``gaussian_nb`` and ``activation`` layers for scalers, pipelines,
linear models, GaussianNB and MLPs; ``mahalanobis`` for EllipticEnvelope, ``gaussian_mixture`` for
GaussianMixture, ``knn`` for KNeighborsClassifier. ``model.metadata["classic"]`` says how
predict, predict_proba and decision_function follow from the model's raw output.

Estimators saved with pickle or joblib are read with ``from_sklearn_file``. Loading a pickle runs
code from the file, as with every pickle: only read files you made or trust.
"""
from __future__ import annotations

import pickle
from pathlib import Path

from ...errors import DependencyError, FormatError, InputError, UnsupportedError

SUFFIXES = (".pkl", ".pickle", ".joblib")


def load_estimator(path):
    """Return the scikit-learn estimator stored in a pickle or joblib file."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file.")
    try:
        import joblib
    except ImportError:
        raise DependencyError("reading scikit-learn models needs scikit-learn; "
                              "install it with pip install 'tinyrt[classic]'.") from None
    try:
        estimator = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, OSError) as exc:
        raise FormatError(f"{path}: is not a readable pickle or joblib file ({type(exc).__name__}: {exc}).") from None
    except (ImportError, AttributeError) as exc:
        raise FormatError(f"{path}: was pickled with classes this Python cannot import ({exc}).") from None
    if not hasattr(estimator, "get_params") or not hasattr(estimator, "fit"):
        raise FormatError(f"{path}: holds a {type(estimator).__name__}, not a scikit-learn estimator.")
    return estimator


def from_sklearn_file(path):
    """Return the IR of the fitted scikit-learn estimator stored in a pickle or joblib file."""
    return to_ir(load_estimator(path), Path(path).stem)


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


__all__ = ["from_sklearn_file", "load_estimator", "supported", "to_ir"]
