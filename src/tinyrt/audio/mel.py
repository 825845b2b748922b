"""Mel scales (HTK, Slaney), the mel filterbank, and its compact sparse form for the C runtime.

The filterbank is computed here in float64 and handed to C as float32 (trt_mel.h): band b has
``length[b]`` consecutive non-zero weights starting at bin ``start[b]``. Conventions follow
librosa.filters.mel: n_mels + 2 points equally spaced on the mel scale between fmin and fmax
are the band edges; band b rises linearly (in Hz) from edge b to edge b+1 and falls to edge b+2;
with norm="slaney" each band is divided by half its width in Hz (constant area), with None the
peaks are 1. Bin k of an N-point FFT is at k * sr / N Hz.
"""
from __future__ import annotations

import ctypes

import numpy as np

from ..errors import InputError
from ._lib import MelBank, fft_size, positive

# Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4)
_F_SP = 200.0 / 3.0
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz, htk: bool = False) -> np.ndarray:
    """Return mels for frequencies in Hz: HTK 2595 log10(1 + f/700), or Slaney's linear-log scale."""
    f = np.asarray(hz, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    above = _BREAK_MEL + np.log(np.maximum(f, _BREAK_HZ) / _BREAK_HZ) / _LOG_STEP
    return np.where(f >= _BREAK_HZ, above, f / _F_SP)


def mel_to_hz(mel, htk: bool = False) -> np.ndarray:
    """Return frequencies in Hz for mels (the inverse of hz_to_mel)."""
    m = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    above = _BREAK_HZ * np.exp(_LOG_STEP * (np.maximum(m, _BREAK_MEL) - _BREAK_MEL))
    return np.where(m >= _BREAK_MEL, above, m * _F_SP)


def mel_filterbank(sr, n_fft, n_mels: int = 40, fmin: float = 0.0, fmax=None, htk: bool = False,
                   norm="slaney") -> np.ndarray:
    """Return the (n_mels, n_fft // 2 + 1) float32 mel filterbank (librosa.filters.mel conventions)."""
    sr = positive(sr, "the sample rate")
    n_fft = fft_size(n_fft)
    nyquist = sr / 2.0
    fmax = nyquist if fmax is None else float(fmax)
    if isinstance(n_mels, (bool, np.bool_)) or not float(n_mels).is_integer() or n_mels < 1:
        raise InputError(f"n_mels must be a whole number >= 1, got {n_mels!r}.")
    if fmax > nyquist:
        raise InputError(f"fmax {fmax:g} Hz is above the Nyquist frequency ({nyquist:g} Hz) of sample rate "
                         f"{sr:g}; use fmax <= {nyquist:g}.")
    if not 0.0 <= fmin < fmax:
        raise InputError(f"fmin must satisfy 0 <= fmin < fmax ({fmax:g} Hz), got {fmin!r}.")
    if norm not in ("slaney", None):
        raise InputError(f"norm must be 'slaney' or None, got {norm!r}.")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), int(n_mels) + 2), htk)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bins_hz = np.arange(n_fft // 2 + 1) * sr / n_fft
    rising = (bins_hz - lower) / (centre - lower)
    falling = (upper - bins_hz) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= 2.0 / (upper - lower)
    return weights.astype(np.float32)


class SparseBank:
    """A filterbank as the C runtime stores it: per band a first bin, a length and its weights."""

    def __init__(self, dense):
        bank = np.asarray(dense, dtype=np.float32)
        if bank.ndim != 2 or bank.size == 0 or not np.isfinite(bank).all() or (bank < 0).any():
            raise InputError(f"a filterbank must be a non-empty (n_mels, n_bins) array of finite weights >= 0, "
                             f"got shape {bank.shape}.")
        self.n_mels, self.n_bins = bank.shape
        self.start = np.zeros(self.n_mels, np.int32)
        self.length = np.zeros(self.n_mels, np.int32)
        parts = []
        for b, row in enumerate(bank):
            nonzero = np.flatnonzero(row)
            if len(nonzero):
                self.start[b], self.length[b] = nonzero[0], nonzero[-1] - nonzero[0] + 1
                parts.append(row[nonzero[0]:nonzero[-1] + 1])
        self.weights = np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(1), dtype=np.float32)
        self.struct = MelBank(self.n_mels, self.start.ctypes.data_as(ctypes.c_void_p),
                              self.length.ctypes.data_as(ctypes.c_void_p),
                              self.weights.ctypes.data_as(ctypes.c_void_p))

    def dense(self) -> np.ndarray:
        """Return the (n_mels, n_bins) float32 filterbank this table stores."""
        out = np.zeros((self.n_mels, self.n_bins), np.float32)
        offset = 0
        for b in range(self.n_mels):
            out[b, self.start[b]:self.start[b] + self.length[b]] = self.weights[offset:offset + self.length[b]]
            offset += self.length[b]
        return out
