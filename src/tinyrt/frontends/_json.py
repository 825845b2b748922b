"""Reading numbers and arrays out of model JSON files, with errors that name the file and field."""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, ModelError
from ..files import check_limit, limit
from ..ir import Model

_KINDS = {"b": "true/false values", "U": "text", "S": "text", "c": "complex numbers"}


def read_array(value, shape, what: str, where: str) -> np.ndarray:
    """Return ``value`` as a float64 array of ``shape``; raise FormatError naming ``what`` otherwise.

    Only real numbers are read: text, true/false, complex numbers and integers too large for a
    float are refused rather than converted.
    """
    if isinstance(value, (str, bytes, bool)):
        raise FormatError(f"{where}: {what} is {value!r}, not a number or an array of numbers.")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise FormatError(f"{where}: {what} is not a rectangular array of numbers.") from None
    if raw.dtype.kind in _KINDS:
        raise FormatError(f"{where}: {what} holds {_KINDS[raw.dtype.kind]}; weights must be real numbers.")
    if raw.dtype.kind not in "iuf":
        raise FormatError(f"{where}: {what} is not a rectangular array of real numbers (ragged, empty "
                          f"entries or integers too large).")
    try:
        with np.errstate(over="raise"):
            a = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError, FloatingPointError):
        raise FormatError(f"{where}: {what} holds numbers too large for a float.") from None
    if shape is not None and a.shape != tuple(shape):
        raise FormatError(f"{where}: {what} has shape {a.shape}, expected {tuple(shape)}.")
    if not np.all(np.isfinite(a)):
        raise FormatError(f"{where}: {what} contains NaN or infinite values.")
    return a


def read_int(value, what: str, where: str, minimum: int = 1, cap: str | None = None) -> int:
    """Return ``value`` as an int of at least ``minimum`` (and at most the limit ``cap``); else FormatError.

    A size is a whole number: 1.7 is refused, never rounded (a float that is exactly whole, 2.0, is read).
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value)
            or value != int(value) or value < minimum):
        raise FormatError(f"{where}: {what} must be an integer of at least {minimum}, got {value!r}.")
    n = int(value)
    if cap is not None:
        check_limit(n, cap, what, where)
    return n


def read_gain_db(value, what: str, where: str) -> float:
    """Return a gain given in dB as a linear factor, refusing non-numbers and gains beyond the gain_db limit."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise FormatError(f"{where}: {what} must be a number of dB, got {value!r}.")
    if abs(value) > limit("gain_db"):
        raise FormatError(f"{where}: {what} is {value!r} dB, beyond the limit of +-{limit('gain_db')} dB "
                          f"(raise TINYRT_MAX_GAIN_DB if the model really needs it).")
    return float(10.0 ** (value / 20.0))


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
