"""Reading numbers and arrays out of model JSON files, with errors that name the file and field."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, ModelError
from ..ir import Model


def read_array(value, shape, what: str, where: str) -> np.ndarray:
    """Return ``value`` as a float64 array of ``shape``; raise FormatError naming ``what`` otherwise."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: {what} is not a rectangular array of numbers.") from None
    if shape is not None and a.shape != tuple(shape):
        raise FormatError(f"{where}: {what} has shape {a.shape}, expected {tuple(shape)}.")
    if not np.all(np.isfinite(a)):
        raise FormatError(f"{where}: {what} contains NaN or infinite values.")
    return a


def read_int(value, what: str, where: str, minimum: int = 1) -> int:
    """Return ``value`` as an int of at least ``minimum``; raise FormatError naming ``what`` otherwise."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value)
            or value != int(value) or value < minimum):
        raise FormatError(f"{where}: {what} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def read_rate(value, what: str, where: str) -> float | None:
    """Return a sample rate given as a number or numeric string (None stays None)."""
    if value is None:
        return None
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = float("nan")
    if isinstance(value, bool) or not np.isfinite(rate) or rate <= 0:
        raise FormatError(f"{where}: {what} must be a positive number of Hz, got {value!r}.")
    return rate


def checked(model: Model, where: str) -> Model:
    """Return the model after validation, with any ModelError prefixed by the file path."""
    try:
        return model.validate()
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from None
