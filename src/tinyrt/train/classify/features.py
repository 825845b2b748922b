"""Windows, the C-parity log-mel features and the audio augmentations of the classifier pipeline.

A ``FeatureSpec`` fixes everything the device computes: sample rate, window length in samples, FFT size,
hop and mel bands. ``patch(window, spec)`` is the classifier's input: the window's log-mel frames
(``tinyrt.audio.log_mel``, the same C kernels the device runs: trt_frames.h) flattened time-major, so the
features a model is trained on are the features the generated C chain computes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ...audio import log_mel
from ...errors import InputError


@dataclass(frozen=True)
class FeatureSpec:
    """What one classification reads: a window of audio and the log-mel frames cut from it."""

    sr: int
    window: int          # samples per classified window
    n_fft: int = 512
    hop: int = 256
    n_mels: int = 32
    pre: int = 0         # samples of the window before the onset (onset-aligned windows)

    @property
    def frames(self) -> int:
        """Return the log-mel frames in one window."""
        return (self.window - self.n_fft) // self.hop + 1

    @property
    def size(self) -> int:
        """Return the values of one patch (frames x mels)."""
        return self.frames * self.n_mels

    def to_dict(self) -> dict:
        """Return the spec as a JSON-ready dict."""
        return asdict(self)

    def check(self) -> FeatureSpec:
        """Return self, or raise InputError if a window holds no full FFT frame."""
        if self.window < self.n_fft:
            raise InputError(f"the classification window ({self.window} samples) must hold at least one FFT frame "
                             f"of {self.n_fft} samples; raise window_ms or lower n_fft.")
        return self


def patch(window, spec: FeatureSpec) -> np.ndarray:
    """Return the classifier input of one window: its log-mel frames (frames x mels) flattened, float32."""
    x = np.asarray(window, np.float32)
    if x.shape != (spec.window,):
        raise InputError(f"a classification window holds {spec.window} samples, not shape {x.shape}.")
    return log_mel(x, spec.sr, n_fft=spec.n_fft, hop=spec.hop, n_mels=spec.n_mels).reshape(-1)


def patches(windows, spec: FeatureSpec) -> np.ndarray:
    """Return the patches of many windows, (n, frames * mels) float32."""
    return np.stack([patch(w, spec) for w in windows]) if len(windows) else np.zeros((0, spec.size), np.float32)


def summary(patches_: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Return the classic models' features of patches: per mel band the mean and the standard deviation over time."""
    p = np.asarray(patches_, np.float64).reshape(len(patches_), spec.frames, spec.n_mels)
    return np.concatenate([p.mean(axis=1), p.std(axis=1)], axis=1).astype(np.float32)


def cut(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """Return audio[start:start + length], zero-padded where it runs off either end."""
    out = np.zeros(length, np.float32)
    lo, hi = max(start, 0), min(start + length, len(audio))
    if hi > lo:
        out[lo - start:hi - start] = audio[lo:hi]
    return out


def clip_windows(clip, spec: FeatureSpec, mode: str = "onset", hop: int = 0) -> list:
    """Return the windows of one clip: the one starting ``spec.pre`` samples before its onset, or (``sliding``)
    every window of ``hop`` samples from the onset to the end (at least one)."""
    start = clip.onset - spec.pre
    if mode == "onset":
        return [cut(clip.audio, start, spec.window)]
    starts = range(start, max(start + 1, len(clip.audio) - spec.window + 1), max(hop, 1))
    return [cut(clip.audio, s, spec.window) for s in starts]


def augment(audio: np.ndarray, start: int, spec: FeatureSpec, rng, a) -> np.ndarray:
    """Return an augmented window cut at ``start`` from ``audio``: time shift, pitch shift (resampling by linear
    interpolation: the pitch and the speed change together), gain and noise, by the ranges of the [augment]
    table ``a``."""
    s = start + int(rng.uniform(-a.shift_ms, a.shift_ms) * spec.sr / 1000.0)
    src = audio
    if a.pitch_semitones > 0:
        ratio = 2.0 ** (rng.uniform(-a.pitch_semitones, a.pitch_semitones) / 12.0)  # > 1: higher and faster
        seg = cut(audio, s, int(spec.window * ratio) + 2)
        src = np.interp(np.arange(spec.window) * ratio, np.arange(len(seg)), seg).astype(np.float32)
        s = 0
    out = cut(src, s, spec.window)
    out *= np.float32(10.0 ** (rng.uniform(-a.gain_db, a.gain_db) / 20.0))
    if a.noise_db > -120:
        level = 10.0 ** (rng.uniform(-120.0, a.noise_db) / 20.0)
        out += (level * rng.standard_normal(len(out))).astype(np.float32)
    return out


def stretch(patch_: np.ndarray, spec: FeatureSpec, factor: float) -> np.ndarray:
    """Return a patch time-stretched by ``factor`` (> 1: slower) in the log-mel domain, pitch unchanged: each
    band read at times t / factor by linear interpolation, the last frame held."""
    p = np.asarray(patch_, np.float32).reshape(spec.frames, spec.n_mels)
    t = np.minimum(np.arange(spec.frames) / factor, spec.frames - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, spec.frames - 1)
    f = (t - lo)[:, None].astype(np.float32)
    return ((1 - f) * p[lo] + f * p[hi]).reshape(-1).astype(np.float32)
