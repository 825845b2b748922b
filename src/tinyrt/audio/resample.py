"""Sample-rate conversion by the exact rational ratio, and mixing to mono."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from ..errors import InputError


def _rate(value, what: str) -> int:
    """Return a sample rate as a positive int, refusing fractional or non-positive values."""
    if not float(value).is_integer() or value <= 0:
        raise InputError(f"{what} sample rate {value!r} is not a positive whole number of hertz.")
    return int(value)


def resample(audio, from_rate: float, to_rate: float) -> np.ndarray:
    """Return audio (n,) or (n, ch) at to_rate as float32, converted by the exact ratio to_rate/from_rate.

    The output has ceil(n * to_rate / from_rate) samples (polyphase FIR, Kaiser window, zero phase).
    """
    src, dst = _rate(from_rate, "the source"), _rate(to_rate, "the target")
    x = np.asarray(audio)
    if src == dst:
        return x.astype(np.float32)
    ratio = Fraction(dst, src)
    return resample_poly(x.astype(np.float64), ratio.numerator, ratio.denominator, axis=0).astype(np.float32)


def to_mono(audio) -> np.ndarray:
    """Return audio as float32 mono (n,): the mean of the channels of an (n, ch) array."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        return x
    if x.ndim != 2:
        raise InputError(f"audio must be (n,) or (n, channels), got shape {x.shape}.")
    return x.mean(axis=1, dtype=np.float64).astype(np.float32)
