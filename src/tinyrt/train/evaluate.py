"""Measure a trained model on paired audio with any engine: ESR, pre-emphasised ESR, MSE, verdict."""
from __future__ import annotations

import numpy as np

from ..audio.metrics import pair_metrics
from ..errors import InputError


def run_pairs(model, pairs, engine: str = "c") -> list:
    """Return the model's output for each pair's clean audio on an engine, reset before each pair.

    Frames go straight to the engine (no host-block adapter), so the output has no added latency;
    a tail shorter than one model block is passed through unchanged.
    """
    from ..backends import backend
    if model.in_channels != 1 or model.out_channels != 1:
        raise InputError(f"{model.name} is not a mono effect model ({model.in_channels} in, "
                         f"{model.out_channels} out); eval measures mono audio effects.")
    runner, b = backend(model, engine), model.block_size
    outs = []
    for p in pairs:
        runner.reset()
        n = len(p.clean) // b * b
        y = runner.process(np.asarray(p.clean[:n], np.float32).reshape(-1, b)).reshape(-1)
        outs.append(np.concatenate([y, np.asarray(p.clean[n:], np.float32)]))
    return outs


def evaluate(model, pairs, engine: str = "c", warmup: int = 1000, pre_emphasis: float = 0.85) -> dict:
    """Return ESR, pre-emphasised ESR, MSE and the verdict of a model over pairs on an engine."""
    if not pairs:
        raise InputError("there is no audio to evaluate on.")
    outs = run_pairs(model, pairs, engine)
    metrics = pair_metrics(outs, [p.target for p in pairs], skip=warmup, coeff=pre_emphasis)
    metrics.update({"engine": engine, "pairs": len(pairs), "warmup_samples_excluded": warmup})
    return metrics
