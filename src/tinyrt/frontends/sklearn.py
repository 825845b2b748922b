"""scikit-learn estimators saved with pickle or joblib, read into the IR.

Loading a pickle runs code from the file, as with every pickle: only read files you made or trust.
"""
from __future__ import annotations

import pickle
from pathlib import Path

from ..errors import DependencyError, FormatError

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
    from ..classic import to_ir
    return to_ir(load_estimator(path), Path(path).stem)
