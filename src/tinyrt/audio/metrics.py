"""Error measures between a model's output and its target, in NumPy: ESR, pre-emphasised ESR, MSE.

ESR (error-to-signal ratio) is sum((target - output)^2) / sum(target^2): 0 is perfect, 1 is as
bad as silence. The pre-emphasised variant first applies y[n] = x[n] - a x[n-1] (a = 0.85) to
both, weighting the high frequencies where distortion lives, as the guitar-effect literature does.
"""
from __future__ import annotations

import numpy as np

# ESR thresholds and the words a musician reads (the bands Neural Amp Modeler's trainer uses).
VERDICTS = ((0.01, "excellent: hard to tell from the target"),
            (0.035, "good: close to the target"),
            (0.1, "fair: differences are audible"),
            (0.3, "poor: clearly different from the target"),
            (float("inf"), "failed: the model did not learn the effect"))


def pre_emphasis(x: np.ndarray, coeff: float = 0.85) -> np.ndarray:
    """Return x filtered by the first-order high-pass y[n] = x[n] - coeff x[n-1] (x[-1] = 0)."""
    x = np.asarray(x, dtype=np.float64)
    y = x.copy()
    y[1:] -= coeff * x[:-1]
    return y


def esr(output, target, coeff: float = 0.0) -> float:
    """Return the error-to-signal ratio of output against target, pre-emphasised when coeff > 0."""
    o, t = np.asarray(output, np.float64), np.asarray(target, np.float64)
    if coeff:
        o, t = pre_emphasis(o, coeff), pre_emphasis(t, coeff)
    energy = float(np.sum(t * t))
    return float(np.sum((t - o) ** 2) / energy) if energy > 0 else float("inf")


def mse(output, target) -> float:
    """Return the mean squared error of output against target."""
    d = np.asarray(output, np.float64) - np.asarray(target, np.float64)
    return float(np.mean(d * d))


def verdict(value: float) -> str:
    """Return the words for an ESR value (excellent / good / fair / poor / failed)."""
    return next(words for limit, words in VERDICTS if value < limit)


def pair_metrics(outputs, targets, skip: int = 0, coeff: float = 0.85) -> dict:
    """Return ESR, pre-emphasised ESR and MSE over several (output, target) pairs taken as one signal.

    The first ``skip`` samples of each pair (the warm-up from a zero state) are left out.
    """
    o = np.concatenate([np.asarray(x)[skip:] for x in outputs])
    t = np.concatenate([np.asarray(x)[skip:] for x in targets])
    e = esr(o, t)
    return {"esr": e, "esr_pre_emphasis": esr(o, t, coeff), "mse": mse(o, t), "verdict": verdict(e),
            "seconds_samples": int(t.size)}
