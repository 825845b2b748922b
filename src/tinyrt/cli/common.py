"""What the verbs share: loading a model, reading tables and WAVs, parsing lists of engines and numbers."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..backends import ENGINES
from ..errors import InputError


def load_model(path):
    """Return the IR of any model file tinyrt reads."""
    from ..frontends import from_file
    return from_file(path)


def samples_table(path):
    """Return a samples x features float32 table read from a .npy or .csv file (finite real numbers only)."""
    import numpy as np

    from ..errors import FormatError
    from ..files import _load_npy, limit
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such samples file.")
    if path.stat().st_size > limit("array_bytes") + 4096:
        raise InputError(f"{path}: the samples file is larger than the limit of {limit('array_bytes')} bytes "
                         f"(raise TINYRT_MAX_ARRAY_BYTES for a larger table).")
    try:
        if path.suffix == ".npy":
            x = _load_npy(path.read_bytes(), f"{path}: the samples")  # bounded: the header is checked first
        else:
            x = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except FormatError as exc:
        raise InputError(str(exc)) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a samples table (.npy, or .csv of numbers: {exc}).") from None
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.size == 0:
        raise InputError(f"{path}: the samples table has shape {x.shape}; give samples x features (2-D, not empty).")
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise InputError(f"{path}: the samples table holds NaN or infinite values (or values beyond float32).")
    return x


def engine_list(text: str) -> list:
    """Return the engine names of a comma-separated list, refusing an unknown one."""
    engines = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise InputError(f"unknown engine '{unknown[0] if unknown else text}'; choose from {', '.join(ENGINES)}.")
    return engines


def bench_wav(path, rate, what: str):
    """Return the samples of a WAV file for bench, refusing one at another sample rate than the model's."""
    if path is None:
        return None
    from ..audio import read_wav
    audio, file_rate = read_wav(path)
    if rate and file_rate != rate:
        raise InputError(f"the {what} file {path} is at {file_rate} Hz but the model runs at {rate:g} Hz; "
                         f"resample it first.")
    return audio


def npy(path, what: str):
    """Return the array stored in a .npy file, refusing a missing or unreadable one in one sentence."""
    if path is None:
        return None
    import numpy as np
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the {what} file {path} as a NumPy .npy array ({exc}).") from None


def ints(text: str, what: str) -> list:
    """Return the positive whole numbers of a comma-separated list, refusing anything else."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{what} must be whole numbers separated by commas, got '{text}'.") from None
    if not values or min(values) < 1:
        raise InputError(f"{what} must be positive whole numbers, got '{text}'.")
    return values


def _number(kind, text: str, minimum: float | None, above: bool, name: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a {name}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    if minimum is not None and (value <= minimum if above else value < minimum):
        bound = f"greater than {minimum:g}" if above else f"at least {minimum:g}"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
    return value


def positive_float(text: str) -> float:
    """Return text as a finite number greater than 0 (an argparse type)."""
    return _number(float, text, 0.0, True, "number")


def non_negative_float(text: str) -> float:
    """Return text as a finite number of at least 0 (an argparse type)."""
    return _number(float, text, 0.0, False, "number")


def positive_int(text: str) -> int:
    """Return text as a whole number of at least 1 (an argparse type)."""
    return _number(int, text, 1, False, "whole number")


def non_negative_int(text: str) -> int:
    """Return text as a whole number of at least 0 (an argparse type)."""
    return _number(int, text, 0, False, "whole number")
