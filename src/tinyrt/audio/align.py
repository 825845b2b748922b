"""Latency between a clean recording and its processed version, and trimming the pair into alignment.

Two measurements, the same answer on good data:

- blips (NAM-style capture files): a few isolated clicks in a silent preamble; the latency is the
  onset of each click in the processed file minus its position in the clean file;
- cross-correlation of the whole signals, whitened (GCC-PHAT: the cross spectrum divided by its
  magnitude) after a first-difference pre-emphasis. Whitening keeps only the phase, so the peak is
  sharp even through distortion and tone filters, where a plain correlation peak drifts late by the
  filters' smoothing; the latency is the start of the peak's main lobe (see ``_onset``).

A processed file cannot lead its clean file: ``align`` refuses a lead of more than two samples (a
smaller one is within the measurement's resolution and taken as zero), a latency larger than
``max_latency``, and a pair whose correlation is too weak to be the same take.
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from ..errors import InputError

_MAX_ANALYSIS = 1 << 20     # samples of the loudest part of the take used for the correlation
_MIN_CONFIDENCE = 20.0      # correlation peak / median |correlation|; unrelated noise gives ~6
_ONSET_LEVEL = 0.2          # the main lobe of the correlation: values above this fraction of its peak
_RESOLUTION = 2             # samples: measured leads up to this are taken as no latency
_BLIP_RUN = 0.05            # seconds: a blip's response dies out within this, silence surrounds it


def _mono(audio, label: str) -> np.ndarray:
    """Return audio as a finite float64 1-D array, refusing other shapes and NaN."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or x.size == 0:
        raise InputError(f"{label} must be a non-empty mono signal (n,), got shape {x.shape}; mix it to mono first.")
    if not np.isfinite(x).all():
        raise InputError(f"{label} contains NaN or infinite samples; fix or re-export the audio.")
    return x


def _loudest_window(x: np.ndarray, length: int) -> int:
    """Return the start of the window of `length` samples with the most energy in x."""
    if len(x) <= length:
        return 0
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    starts = np.arange(0, len(x) - length + 1, max(1, length // 16))
    return int(starts[np.argmax(energy[starts + length] - energy[starts])])


def _whitened_correlation(clean: np.ndarray, processed: np.ndarray) -> np.ndarray:
    """Return the GCC-PHAT correlation of the pre-emphasised signals; index k is lag k (negative lags wrap)."""
    c = np.diff(clean, prepend=0.0)
    p = np.diff(processed, prepend=0.0)
    nfft = sfft.next_fast_len(len(c) + len(p), real=True)
    cross = sfft.rfft(p, nfft) * np.conj(sfft.rfft(c, nfft))
    magnitude = np.abs(cross)
    cross /= magnitude + 1e-3 * magnitude.mean() + 1e-300
    return sfft.irfft(cross, nfft)


def _onset(signed: np.ndarray, peak: int, sample_rate: float) -> int:
    """Return the earliest lag, at most a few samples before the peak, still in the peak's main lobe.

    Removing one sample too many makes the target lead the clean signal, which a causal model cannot
    learn (measured on drive pedals: an error floor of ESR 0.004-0.009 for one sample, ~0.02 for two);
    one too few costs nothing. Tone filters put the correlation peak a sample or two after the
    response starts, so the lobe is followed back while it keeps _ONSET_LEVEL of the peak (never
    from a lag >= 0 to a negative one).
    """
    lag, steps = peak, max(1, int(round(sample_rate / 16000)))
    while steps and lag != 0 and signed[lag - 1] / signed[peak] >= _ONSET_LEVEL:
        lag, steps = lag - 1, steps - 1
    return lag


def detect_latency(clean, processed, sample_rate: float, max_latency: float = 0.1, *,
                   labels: tuple = ("the clean audio", "the processed audio")) -> int:
    """Return the samples by which processed lags clean (negative if it leads), within +-max_latency s."""
    c, p = _mono(clean, labels[0]), _mono(processed, labels[1])
    n = min(len(c), len(p), _MAX_ANALYSIS)
    start = _loudest_window(c[:min(len(c), len(p))], n)
    signed = _whitened_correlation(c[start:start + n], p[start:start + n])
    corr = np.abs(signed)
    max_lag = min(int(round(max_latency * sample_rate)), n - 1)
    lags = np.arange(-max_lag, max_lag + 1)
    window = corr[lags]                                                          # negative lags wrap around
    best = int(np.argmax(window))
    if window[best] / (np.median(window) + 1e-300) >= _MIN_CONFIDENCE:
        return _onset(signed, int(lags[best]), sample_rate)
    lag = int(np.argmax(corr[:n]))                                               # any positive lag in the take
    if n > 8 * max_lag and corr[lag] / (np.median(corr[:n]) + 1e-300) >= 2 * _MIN_CONFIDENCE and lag > max_lag:
        raise InputError(f"{labels[1]} lags {labels[0]} by {lag / sample_rate:.3f} s, more than max_latency="
                         f"{max_latency:g} s; trim the silence at its start or raise max_latency.")
    raise InputError(f"{labels[1]} does not look like a processed version of {labels[0]} (no correlation "
                     f"within +-{max_latency:g} s); check that both files are the same take.")


def _onsets(x: np.ndarray, threshold: float, run: int) -> list:
    """Return (onset, end) index pairs of the bursts of |x| above threshold, split by run silent samples."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if loud.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(loud) > run)
    return list(zip(loud[np.r_[0, breaks + 1]].tolist(), loud[np.r_[breaks, loud.size - 1]].tolist()))


def detect_blips(audio, sample_rate: float, search_seconds: float = 3.0, threshold_db: float = -40.0) -> list:
    """Return the sample positions of the isolated clicks in the silent preamble of audio (maybe empty).

    A click is a burst that rises above max(threshold_db relative to the peak of the searched start,
    30 dB above its noise floor), dies out within 50 ms and has 50 ms of silence on each side; the
    preamble ends at the first burst that does not (the programme material).
    """
    x = _mono(audio, "the audio")[:int(search_seconds * sample_rate)]
    a = np.abs(x)
    if a.size == 0 or a.max() == 0.0:
        return []
    block = max(1, int(0.01 * sample_rate))
    blocks = x[:len(x) // block * block].reshape(-1, block) if len(x) >= block else x[None]
    noise = np.percentile(np.sqrt(np.mean(blocks * blocks, axis=1)), 10)
    threshold = max(a.max() * 10 ** (threshold_db / 20), noise * 10 ** 1.5, 1e-5)
    run = int(_BLIP_RUN * sample_rate)
    blips, previous_end = [], -1
    for onset, end in _onsets(x, threshold, run):
        if end - onset > run or onset - previous_end <= run or end + run >= len(x):
            break
        blips.append(onset)
        previous_end = end
    return blips


def latency_from_blips(clean, processed, sample_rate: float):
    """Return the latency in samples measured on blips when both signals have matching ones, else None."""
    on_clean = detect_blips(clean, sample_rate)
    on_processed = detect_blips(processed, sample_rate)
    if not on_clean or len(on_clean) != len(on_processed):
        return None
    lags = np.subtract(on_processed, on_clean)
    if lags.max() - lags.min() > 2:
        return None
    return int(np.median(lags))


def align(clean, processed, sample_rate: float, latency=None, max_latency: float = 0.1, *,
          labels: tuple = ("the clean audio", "the processed audio")) -> tuple:
    """Return (clean_aligned, processed_aligned, latency): both trimmed to the same length, latency removed."""
    c, p = _mono(clean, labels[0]), _mono(processed, labels[1])
    slack = max_latency + 0.005
    if abs(len(c) - len(p)) > slack * sample_rate:
        raise InputError(f"{labels[0]} and {labels[1]} lengths differ by {abs(len(c) - len(p)) / sample_rate:.1f} s, "
                         f"more than a latency can explain; are these the same take?")
    if latency is None:
        latency = latency_from_blips(c, p, sample_rate)
        if latency is None:
            latency = detect_latency(c, p, sample_rate, max_latency, labels=labels)
    latency = int(latency)
    if -_RESOLUTION <= latency < 0:          # a lead this small is the measurement's resolution, not the files
        latency = 0
    if latency < 0:
        raise InputError(f"{labels[1]} starts {-latency} samples before {labels[0]}, which a processed recording "
                         f"cannot do; check that the two files are not swapped.")
    if latency > max_latency * sample_rate:
        raise InputError(f"{labels[1]} lags {labels[0]} by {latency / sample_rate:.3f} s, more than max_latency="
                         f"{max_latency:g} s; trim the silence at its start or raise max_latency.")
    n = min(len(c), len(p) - latency)
    return c[:n].astype(np.float32), p[latency:latency + n].astype(np.float32), latency
