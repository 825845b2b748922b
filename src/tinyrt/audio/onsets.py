"""Energy-flux onsets: the NumPy reference of the C detector in trt_onset.h (same decisions, sample for sample).

Per hop of ``hop`` samples: energy = mean(x^2) (float64, summed in sample order), flux = max(0, energy -
previous energy); the hop is an onset when flux > factor * mean(flux of the last ``history`` hops) + floor
and at least ``refractory`` hops have passed since the last onset. The onset time is the hop's first sample.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

MAX_HISTORY = 64  # TRT_ONSET_MAX_HISTORY


def onset_params(sr: int, hop: int = 128, history: int = 16, factor: float = 4.0, floor: float = 1e-4,
                 refractory_ms: float = 50.0) -> dict:
    """Check the detector's options and return them as the C detector takes them (refractory in hops)."""
    if int(hop) < 1:
        raise InputError(f"the onset hop must be at least 1 sample, not {hop}.")
    if not 1 <= int(history) <= MAX_HISTORY:
        raise InputError(f"the onset history must be 1 to {MAX_HISTORY} hops, not {history}.")
    if not (np.isfinite(factor) and np.isfinite(floor)) or factor < 0 or floor < 0:
        raise InputError(f"the onset factor and floor must be finite and non-negative, not {factor} and {floor}.")
    refractory = max(1, int(round(float(refractory_ms) * sr / 1000.0 / int(hop))))
    return {"hop": int(hop), "history": int(history), "factor": float(factor), "floor": float(floor),
            "refractory": refractory}


def onsets(audio, sr: int, hop: int = 128, history: int = 16, factor: float = 4.0, floor: float = 1e-4,
           refractory_ms: float = 50.0) -> np.ndarray:
    """Return the onset sample times (int64) of mono ``audio`` as trt_onset.h decides them."""
    p = onset_params(sr, hop, history, factor, floor, refractory_ms)
    x = np.asarray(audio, dtype=np.float32).astype(np.float64)
    if x.ndim != 1:
        raise InputError(f"onsets takes mono audio (one dimension), not shape {x.shape}.")
    h, n_hist = p["hop"], p["history"]
    n_hops = len(x) // h
    sq = (x[:n_hops * h] ** 2).reshape(n_hops, h)
    energies = np.cumsum(sq, axis=1)[:, -1] / h if n_hops else np.zeros(0)  # sequential sums, as the C
    hist = np.zeros(n_hist)
    fill = pos = 0
    since = p["refractory"]
    prev = 0.0
    out = []
    for j, e in enumerate(energies):
        flux = max(e - prev, 0.0)
        prev = e
        mean = 0.0
        for i in range(fill):  # same order as the C loop
            mean += hist[i]
        if fill:
            mean /= fill
        since += 1
        if flux > p["factor"] * mean + p["floor"] and since >= p["refractory"]:
            out.append(j * h)
            since = 0
        hist[pos] = flux
        pos = (pos + 1) % n_hist
        fill = min(fill + 1, n_hist)
    return np.asarray(out, dtype=np.int64)
