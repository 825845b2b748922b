"""Spectra on the C runtime: real FFT, Hann window, power/magnitude spectra, framing, mel and log-mel.

Frames are rows: audio of n samples cut with window N and hop H gives 1 + (n - N) // H complete
frames, frame j = audio[j H : j H + N] (no centre padding), the same frames FeatureExtractor
emits while streaming. Spectrograms are (n_frames, bins), time first like every tinyrt array
(librosa returns the transpose and pads by default).
"""
from __future__ import annotations

import ctypes
import functools

import numpy as np

from ..errors import InputError
from ._lib import RFFT, fft_size, library, positive, ptr, rows, samples
from .mel import SparseBank, mel_filterbank


class FFTPlan:
    """Twiddle and bit-reversal tables of one FFT size, filled once by trt_rfft_init."""

    def __init__(self, n: int):
        self.n = fft_size(n)
        self.tw = np.zeros(n, np.float32)
        self.rev = np.zeros(n // 2, np.uint16)
        self.struct = RFFT()
        library().trt_dsp_rfft_init(ctypes.byref(self.struct), n, ptr(self.tw), ptr(self.rev))


@functools.lru_cache(maxsize=16)
def plan(n: int) -> FFTPlan:
    """Return the (cached) FFT tables for size n."""
    return FFTPlan(n)


def hann(n) -> np.ndarray:
    """Return the periodic Hann window of n samples (scipy.signal.get_window('hann', n)) as float32."""
    if isinstance(n, (bool, np.bool_)) or not float(n).is_integer() or n < 2:
        raise InputError(f"the window length must be a whole number >= 2, got {n!r}.")
    w = np.zeros(int(n), np.float32)
    library().trt_dsp_hann(ptr(w), int(n))
    return w


def window_values(window, n: int):
    """Return the float32 window of n samples for "hann", None (rectangular: None) or an array."""
    if window is None:
        return None
    if isinstance(window, str):
        if window != "hann":
            raise InputError(f"unknown window {window!r}; use 'hann', None or an array of {n} values.")
        return hann(n)
    if np.shape(window) != (n,):
        raise InputError(f"the window must have {n} values (one per frame sample), got shape {np.shape(window)}.")
    return samples(window, "the window", ndim=1, kinds="iuf")


def rfft(x, window=None) -> np.ndarray:
    """Return numpy.fft.rfft(x * window) over the last axis as complex64 (..., N/2 + 1), N a power of two."""
    a, lead = rows(x, "the frames")
    n = fft_size(a.shape[-1], "the frame length (FFT size)")
    p, w = plan(n), window_values(window, n)
    out = np.empty((len(a), n + 2), np.float32)
    library().trt_dsp_rfft(ctypes.byref(p.struct), ptr(a), None if w is None else ptr(w), ptr(out), len(a))
    return out.view(np.complex64).reshape(*lead, n // 2 + 1)


def _spectrum(x, window, magnitude: int) -> np.ndarray:
    spec = rfft(x, window)
    flat = np.ascontiguousarray(spec.reshape(-1, spec.shape[-1])).view(np.float32)
    out = np.empty((len(flat), spec.shape[-1]), np.float32)
    library().trt_dsp_spectrum(ptr(flat), ptr(out), spec.shape[-1], len(flat), magnitude)
    return out.reshape(spec.shape)


def power_spectrum(x, window=None) -> np.ndarray:
    """Return |rfft(x * window)|^2 over the last axis as float32 (..., N/2 + 1)."""
    return _spectrum(x, window, 0)


def magnitude_spectrum(x, window=None) -> np.ndarray:
    """Return |rfft(x * window)| over the last axis as float32 (..., N/2 + 1)."""
    return _spectrum(x, window, 1)


def hop_size(hop, n: int) -> int:
    """Return the hop as an int (n // 4 when None) after checking 1 <= hop <= n."""
    hop = max(n // 4, 1) if hop is None else hop
    if isinstance(hop, (bool, np.bool_)) or not float(hop).is_integer() or not 1 <= hop <= n:
        raise InputError(f"the hop {hop!r} must be a whole number of samples between 1 and the window "
                         f"length {n}; a hop larger than the window would skip samples.")
    return int(hop)


def frame(audio, n: int, hop=None) -> np.ndarray:
    """Return the complete frames (n_frames, n) of 1-D audio, frame j = audio[j hop : j hop + n], as float32."""
    if isinstance(n, (bool, np.bool_)) or not float(n).is_integer() or n < 1:
        raise InputError(f"the frame length must be a whole number >= 1, got {n!r}.")
    n = int(n)
    hop = hop_size(hop, n)
    x = samples(audio)
    if len(x) < n:
        raise InputError(f"the audio ({len(x)} samples) is shorter than one frame ({n} samples); "
                         f"pass more audio or a shorter frame.")
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(x, n)[::hop])


def power_exponent(power) -> int:
    """Return power (1: magnitude, 2: power spectrum) as an int after checking it is one of those."""
    if power not in (1, 2, 1.0, 2.0):
        raise InputError(f"power must be 1 (magnitude) or 2 (power), got {power!r}.")
    return int(power)


def spectrogram(audio, n_fft: int = 512, hop=None, window="hann", power=2.0) -> np.ndarray:
    """Return the (n_frames, n_fft // 2 + 1) float32 power (power=2) or magnitude (power=1) spectrogram."""
    n_fft = fft_size(n_fft)
    fn = power_spectrum if power_exponent(power) == 2 else magnitude_spectrum
    return fn(frame(audio, n_fft, hop), window)


def mel_spectrogram(audio, sr, n_fft: int = 512, hop=None, n_mels: int = 40, fmin: float = 0.0, fmax=None,
                    htk: bool = False, norm="slaney", window="hann", power=2.0) -> np.ndarray:
    """Return the (n_frames, n_mels) float32 mel spectrogram of 1-D audio (mel_filterbank applied in C)."""
    bank = SparseBank(mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm))
    spec = spectrogram(audio, n_fft, hop, window, power)
    out = np.empty((len(spec), bank.n_mels), np.float32)
    library().trt_dsp_mel(ctypes.byref(bank.struct), ptr(spec), spec.shape[1], ptr(out), len(spec))
    return out


def log_params(log: str, amin, top_db, offset) -> tuple:
    """Return (log kind for C, amin, top_db with 0 meaning none, offset) after checking them."""
    if log not in ("db", "ln"):
        raise InputError(f"log must be 'db' (10 log10 with amin and top_db) or 'ln' (log(x + offset)), "
                         f"got {log!r}.")
    amin = positive(amin, "amin")
    top_db = 0.0 if top_db is None else positive(top_db, "top_db (or None for no clamp)")
    return (0 if log == "db" else 1), amin, top_db, positive(offset, "the log offset")


def _log(values: np.ndarray, group: int, log: str, amin, top_db, offset) -> np.ndarray:
    kind, amin, top_db, offset = log_params(log, amin, top_db, offset)
    out = np.ascontiguousarray(values, dtype=np.float32).copy()
    library().trt_dsp_log(ptr(out), group, out.size // group, kind, amin, top_db, offset)
    return out


def log_mel(audio, sr, n_fft: int = 512, hop=None, n_mels: int = 40, fmin: float = 0.0, fmax=None,
            htk: bool = False, norm="slaney", window="hann", power=2.0, log: str = "db", amin: float = 1e-10,
            top_db=80.0, offset: float = 1e-6) -> np.ndarray:
    """Return the (n_frames, n_mels) float32 log-mel spectrogram; the top_db clamp is per frame, as streamed.

    log="db": 10 log10(max(mel, amin)), then at least max_of_the_frame - top_db (top_db None: no
    clamp); log="ln": log(mel + offset).
    """
    log_params(log, amin, top_db, offset)
    mel = mel_spectrogram(audio, sr, n_fft, hop, n_mels, fmin, fmax, htk, norm, window, power)
    return _log(mel, mel.shape[1], log, amin, top_db, offset)


def power_to_db(spectrum, amin: float = 1e-10, top_db=80.0) -> np.ndarray:
    """Return 10 log10(max(S, amin)) as float32, clamped to top_db below the whole array's maximum (librosa)."""
    s = samples(spectrum, "the spectrum", ndim=None)
    return _log(s, s.size, "db", amin, top_db, 1.0)
