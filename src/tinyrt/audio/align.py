"""Latency between a clean recording and its processed version, and trimming the pair into alignment.

Two measurements, the same answer on good data:

- blips (NAM-style capture files): a few isolated clicks in a silent preamble; the latency is the
  onset of each click in the processed file minus its position in the clean file;
- cross-correlation of the whole signals, whitened (GCC-PHAT: the cross spectrum divided by its
  magnitude) after a first-difference pre-emphasis. Whitening keeps only the phase, so the peak is
  sharp even through distortion and tone filters, where a plain correlation peak drifts late by the
  filters' smoothing; the latency is the start of the peak's main lobe (see ``_onset``).

The correlation peak is only good to a sample or so (a tone filter moves it, and a peak between two
samples may round either way), so ``capture_latency`` refines it to the exact sample: for each lag
within ``_REFINE_RADIUS`` of the onset it fits a causal model of the processed signal (an FIR over
clipping features of the clean one, plus the processed signal's own past, all pre-emphasised) and
measures its residual. Early lags only give the fit some lookahead (the residual creeps up by a
few percent per sample); the first lag past the true latency loses the direct path and the
residual jumps. The latency is the lag just before the first jump: exact on integers, and the
earlier sample (never the later one) when the delay lies between two samples.

A processed file cannot lead its clean file: ``align`` refuses a lead of more than two samples (a
smaller one is within the measurement's resolution and taken as zero), a latency larger than
``max_latency``, and a pair whose correlation is too weak to be the same take.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft

from ..errors import InputError

_MAX_ANALYSIS = 1 << 20     # samples of the loudest part of the take used for the correlation
_MIN_CONFIDENCE = 20.0      # correlation peak / median |correlation|; unrelated noise gives ~6
_ONSET_LEVEL = 0.2          # the main lobe of the correlation: values above this fraction of its peak
_RESOLUTION = 2             # samples: measured leads up to this are taken as no latency
_BLIP_RUN = 0.05            # seconds: a blip's response dies out within this, silence surrounds it
_REFINE_RADIUS = 4          # samples either side of the correlation's latency the causal fit tries
_REFINE_TAPS = 16           # taps of the causal fit per feature
_REFINE_SECONDS = 1.5       # seconds of the loudest part of the take the causal fit uses
_REFINE_JUMP = 0.10         # the causal fit's residual grows by more than this from the latency to one sample later
_REFINE_PAST = 8            # past processed samples in the causal fit (the effect's own memory)


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
    return _correlation_latency(_mono(clean, labels[0]), _mono(processed, labels[1]), sample_rate, max_latency,
                                labels)[0]


def _correlation_latency(c: np.ndarray, p: np.ndarray, sample_rate: float, max_latency: float, labels) -> tuple:
    """Return (lag, confidence) of the whitened correlation's onset; refuse unrelated or too-late signals."""
    n = min(len(c), len(p), _MAX_ANALYSIS)
    start = _loudest_window(c[:min(len(c), len(p))], n)
    signed = _whitened_correlation(c[start:start + n], p[start:start + n])
    corr = np.abs(signed)
    max_lag = min(int(round(max_latency * sample_rate)), n - 1)
    lags = np.arange(-max_lag, max_lag + 1)
    window = corr[lags]                                                          # negative lags wrap around
    best = int(np.argmax(window))
    confidence = float(window[best] / (np.median(window) + 1e-300))
    if confidence >= _MIN_CONFIDENCE:
        return _onset(signed, int(lags[best]), sample_rate), confidence
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


def _features(x: np.ndarray) -> np.ndarray:
    """Return the causal fit's input features of x (x, x|x|, x^3, two tanh clippers), pre-emphasised, normalised."""
    s = x.std() + 1e-300
    f = np.stack([x, x * np.abs(x), x * x * x, np.tanh(4.0 * x / s), np.tanh(16.0 * x / s)])
    f = np.diff(f, axis=1, prepend=0.0)
    return f / (f.std(axis=1, keepdims=True) + 1e-300)


def causal_fit_errors(clean, processed, lags, taps: int = _REFINE_TAPS, seconds: float = _REFINE_SECONDS,
                      sample_rate: float = 48000.0) -> np.ndarray:
    """Return, for each lag, the relative residual of the best causal fit of processed[n + lag] on clean[<= n].

    The fit is linear in the features of the last `taps` clean samples; both signals are pre-emphasised
    (first difference), so the residual weighs the high frequencies where one sample matters most.
    Only the loudest `seconds` of the take are used; the Gram matrix is built once for every lag.
    """
    c, p = _mono(clean, "the clean audio"), _mono(processed, "the processed audio")
    lags = np.asarray(list(lags), dtype=int)
    n_all = min(len(c), len(p))
    dmin, dmax = int(lags.min()), int(lags.max()) + taps - 1
    f = _features(c[:n_all])
    y = np.diff(p[:n_all], prepend=0.0)
    y = y / (y.std() + 1e-300)
    length = min(n_all, int(seconds * sample_rate))
    start = _loudest_window(c[:n_all], length)
    first, last = max(start, dmax), min(start + length, n_all + min(dmin, 0))   # rows m: f[m - d] exists
    if last - first < 8 * f.shape[0] * (dmax - dmin + 1):
        raise InputError("the audio is too short to measure its latency to the sample; give at least a second.")
    width = dmax - dmin + 1
    past = _REFINE_PAST
    cols = f.shape[0] * width + past
    gram, cross, energy = np.zeros((cols, cols)), np.zeros(cols), 0.0
    windows = [np.lib.stride_tricks.sliding_window_view(fi, width) for fi in f]    # row j: fi[j .. j + width)
    history = np.lib.stride_tricks.sliding_window_view(y, past)                   # row j: y[j .. j + past)
    first = max(first, past)
    for a in range(first, last, 32768):
        b = min(a + 32768, last)
        block = np.concatenate([w[a - dmax:b - dmax] for w in windows] + [history[a - past:b - past]], axis=1)
        gram += block.T @ block
        cross += block.T @ y[a:b]
        energy += float(y[a:b] @ y[a:b])
    ridge = 1e-9 * np.trace(gram) / cols
    errors = []
    for lag in lags:
        q = np.arange(dmax - lag - taps + 1, dmax - lag + 1)                    # delays lag .. lag + taps - 1
        q = np.concatenate([q + k * width for k in range(f.shape[0])] + [np.arange(cols - past, cols)])
        g, r = gram[np.ix_(q, q)], cross[q]
        w = np.linalg.solve(g + ridge * np.eye(len(q)), r)
        errors.append(max(energy - float(r @ w), 0.0) / max(energy, 1e-300))
    return np.array(errors)


def refine_latency(clean, processed, sample_rate: float, coarse: int, radius: int = _REFINE_RADIUS) -> tuple:
    """Return (latency or None, {lag: relative residual}): the last lag before the causal fit's error jumps.

    Early lags give the fit lookahead, which helps a little (the residual creeps up by a few percent
    per sample as the lag grows); the first lag past the true latency loses the direct path, and the
    residual jumps (by 18 % to 400 % on the built-in pedals and a hard clipper). The latency is the
    first lag of the window after which the residual grows by more than _REFINE_JUMP (and by more than
    5 % of its whole rise over the window, so a near-perfect fit's noise floor is no jump); None if none does.
    """
    lags = np.arange(coarse - radius, coarse + radius + 2)
    errors = causal_fit_errors(clean, processed, lags, sample_rate=sample_rate)
    table = {int(k): float(e) for k, e in zip(lags, errors)}
    rise = np.diff(errors)                  # a jump: relative to the residual, and not lost in the fit's noise floor
    jumps = np.flatnonzero((rise > _REFINE_JUMP * errors[:-1]) & (rise > 0.05 * (errors.max() - errors.min())))
    return (int(lags[jumps[0]]) if jumps.size else None), table


@dataclass
class CaptureLatency:
    """A measured capture latency: samples, how (``blips`` or ``correlation``) and how sure.

    confidence: for blips, the fraction of the clicks that agree to the sample with the median; for
    correlation, the whitened correlation peak over its median (unrelated signals give ~6, a take
    through a pedal hundreds).
    """

    samples: int
    method: str
    confidence: float
    detail: str = ""

    def metadata(self, sample_rate: float) -> dict:
        """Return the dict stored in a model's metadata["capture"]."""
        return {"latency": int(self.samples), "method": self.method, "confidence": round(float(self.confidence), 3),
                "sample_rate": float(sample_rate)}


def _blip_latency(clean, processed, sample_rate: float):
    """Return the CaptureLatency measured on blips, or None without matching blips."""
    on_clean, on_processed = detect_blips(clean, sample_rate), detect_blips(processed, sample_rate)
    if not on_clean or len(on_clean) != len(on_processed):
        return None
    lags = np.subtract(on_processed, on_clean)
    if lags.max() - lags.min() > 2:
        return None
    median = int(np.median(lags))
    return CaptureLatency(median, "blips", float(np.mean(lags == median)), f"{len(lags)} blips")


def capture_latency(clean, processed, sample_rate: float, max_latency: float = 0.1, *,
                    labels: tuple = ("the clean audio", "the processed audio")) -> CaptureLatency:
    """Return the capture latency of a pair: from its blips if both have them, else the refined correlation."""
    c, p = _mono(clean, labels[0]), _mono(processed, labels[1])
    found = _blip_latency(c, p, sample_rate)
    if found is not None:
        return found
    coarse, confidence = _correlation_latency(c, p, sample_rate, max_latency, labels)
    try:
        lag, _ = refine_latency(c, p, sample_rate, coarse)
    except InputError:                      # too short for the causal fit: the correlation's answer
        lag = None
    if lag is None:
        return CaptureLatency(coarse, "correlation", confidence, "correlation onset (not refined)")
    return CaptureLatency(lag, "correlation", confidence, f"correlation onset {coarse}, causal fit {lag}")


def align(clean, processed, sample_rate: float, latency=None, max_latency: float = 0.1, *,
          labels: tuple = ("the clean audio", "the processed audio")) -> tuple:
    """Return (clean_aligned, processed_aligned, latency): both trimmed to the same length, latency removed."""
    c, p = _mono(clean, labels[0]), _mono(processed, labels[1])
    slack = max_latency + 0.005
    if abs(len(c) - len(p)) > slack * sample_rate:
        raise InputError(f"{labels[0]} and {labels[1]} lengths differ by {abs(len(c) - len(p)) / sample_rate:.1f} s, "
                         f"more than a latency can explain; are these the same take?")
    if latency is None:
        latency = capture_latency(c, p, sample_rate, max_latency, labels=labels).samples
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


def advance(x, delay: float) -> np.ndarray:
    """Return x advanced by delay samples (y[n] = x[n + delay]), fractional delays band-limited; zeros past the end.

    The fractional part is an ideal (FFT) fractional-delay filter over the zero-padded signal, so a
    half-sample shift of a band-limited signal is exact away from its ends.
    """
    x = np.asarray(x, dtype=np.float64)
    whole = int(np.floor(delay))
    fraction = float(delay) - whole
    y = np.zeros_like(x)
    if whole >= 0:
        y[:max(len(x) - whole, 0)] = x[whole:]
    else:
        y[-whole:] = x[:len(x) + whole]
    if fraction:
        nfft = sfft.next_fast_len(len(y) + 256, real=True)
        spectrum = sfft.rfft(y, nfft) * np.exp(2j * np.pi * np.fft.rfftfreq(nfft) * fraction)
        y = sfft.irfft(spectrum, nfft)[:len(x)]
    return y
