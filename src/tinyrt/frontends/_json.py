"""Reading numbers and arrays out of model JSON files, with errors that name the file and field."""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import AssumptionWarning, FormatError, ModelError
from ..files import check_limit, limit
from ..formats import CONVENTIONAL_RATES, rate_from_name
from ..ir import Model
from ..ir.knobs import safe_name

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


def knob_specs(extra: dict, n_knobs: int, default: float | None = None) -> list | None:
    """Return metadata "params" for a file's knob inputs, or None to leave the IR's defaults.

    A file may name them: tinyrt's own "params" list is kept as it is (validation checks it);
    "input_names" / "param_names" (free text, with or without the audio input first) become C-safe
    names. ``default`` is the format's knob default (AIDA-X: 0), else the middle of the range.
    """
    if n_knobs < 1 or isinstance(extra.get("params"), list):
        return None
    names = next((v for k in ("param_names", "input_names", "knob_names") if isinstance(v := extra.get(k), list)),
                 None)
    if names is not None and len(names) == n_knobs + 1:
        names = names[1:]
    if names is None or len(names) != n_knobs:
        names = [f"param{j + 1}" for j in range(n_knobs)]
    specs = [{"name": safe_name(n, j), "min": 0.0, "max": 1.0} for j, n in enumerate(names)]
    if len({s["name"] for s in specs}) != n_knobs:
        specs = [{**s, "name": f"param{j + 1}"} for j, s in enumerate(specs)]
    return [{**s, "default": 0.5 if default is None else default} for s in specs]


def assumed_rate(kind: str, name: str, where: str, fix: str) -> tuple:
    """Return (rate, reason) for a file of a format that does not state its rate, and warn once that it was assumed."""
    rate, reason = CONVENTIONAL_RATES[kind]
    from_name = rate_from_name(name)
    if from_name is not None:
        rate, reason = from_name, f"the file name says {from_name / 1000:g} kHz"
    warnings.warn(f"{where}: the file does not state its sample rate; tinyrt assumes {rate:g} Hz ({reason}); "
                  f"if it is wrong, {fix}.", AssumptionWarning, stacklevel=3)
    return rate, reason
