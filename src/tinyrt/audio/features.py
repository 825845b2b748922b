"""Per-frame features on the C runtime (trt_features.h): RMS, zero-crossing rate, spectral shape.

Time-domain features take frames (..., n) and return (...); spectral features take a spectrum
(..., n_bins) of an N = 2 (n_bins - 1) point FFT whose bin k is at k * sr / N Hz and return (...).
Definitions (librosa's, see trt_features.h): centroid = sum f s / sum s; bandwidth =
sqrt(sum s (f - centroid)^2 / sum s); rolloff = the first bin frequency where the cumulative sum
reaches fraction * total; flatness = geometric / arithmetic mean of max(power, amin).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._lib import KINDS, library, positive, ptr, rows


def _per_frame(kind: str, x: np.ndarray, lead: tuple, bin_hz: float = 0.0, param: float = 0.0) -> np.ndarray:
    out = np.empty(len(x), np.float32)
    library().trt_dsp_frame_feature(KINDS[kind], ptr(x), x.shape[1], len(x), bin_hz, param, ptr(out))
    return out.reshape(lead)


def rms(frames) -> np.ndarray:
    """Return the root mean square of each frame (last axis) as float32."""
    x, lead = rows(frames, "the frames")
    return _per_frame("rms", x, lead)


def zero_crossing_rate(frames) -> np.ndarray:
    """Return the fraction of adjacent sample pairs of each frame whose signs differ (0 counts as positive)."""
    x, lead = rows(frames, "the frames")
    return _per_frame("zcr", x, lead)


def _spectrum(spectrum, sr=None) -> tuple:
    s, lead = rows(spectrum, "the spectrum")
    if (s < 0).any():
        raise InputError("the spectrum has negative values; pass a magnitude or power spectrum (|X| or |X|^2).")
    if s.shape[1] < 2:
        raise InputError(f"the spectrum needs at least 2 bins (an FFT of 2 or more points), got shape {s.shape}.")
    bin_hz = 0.0 if sr is None else positive(sr, "the sample rate") / (2 * (s.shape[1] - 1))
    return s, lead, bin_hz


def spectral_centroid(spectrum, sr) -> np.ndarray:
    """Return the spectral centroid in Hz of each spectrum (last axis) as float32."""
    s, lead, bin_hz = _spectrum(spectrum, sr)
    return _per_frame("centroid", s, lead, bin_hz)


def spectral_bandwidth(spectrum, sr) -> np.ndarray:
    """Return the spectral bandwidth (p = 2) in Hz of each spectrum (last axis) as float32."""
    s, lead, bin_hz = _spectrum(spectrum, sr)
    return _per_frame("bandwidth", s, lead, bin_hz)


def spectral_rolloff(spectrum, sr, fraction: float = 0.85) -> np.ndarray:
    """Return the rolloff frequency in Hz (cumulative sum first reaching fraction of the total) as float32."""
    if not 0.0 < fraction <= 1.0:
        raise InputError(f"the rolloff fraction must be in (0, 1], got {fraction!r}.")
    s, lead, bin_hz = _spectrum(spectrum, sr)
    return _per_frame("rolloff", s, lead, bin_hz, fraction)


def spectral_flatness(power, amin: float = 1e-10) -> np.ndarray:
    """Return the spectral flatness (geometric / arithmetic mean of max(power, amin)) as float32."""
    s, lead, _ = _spectrum(power)
    return _per_frame("flatness", s, lead, 0.0, positive(amin, "amin"))
