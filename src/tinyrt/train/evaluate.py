"""Measure a trained model on paired audio with any engine: ESR, pre-emphasised ESR, MSE, verdict."""
from __future__ import annotations

import numpy as np

from ..audio.metrics import pair_metrics
from ..errors import InputError


def run_pairs(model, pairs, engine: str = "c", knobs: dict | None = None) -> list:
    """Return the model's output for each pair's clean audio on an engine, reset before each pair.

    Frames go straight to the engine (no host-block adapter), so the output has no added latency;
    a tail shorter than one model block is passed through unchanged. A model with knob inputs runs with
    its knobs at ``knobs`` ({name: value}) or their defaults.
    """
    from ..backends import backend
    if model.in_channels != 1 + len(model.params) or model.out_channels != 1:
        raise InputError(f"{model.name} is not a mono effect model ({model.in_channels} in, "
                         f"{model.out_channels} out); eval measures mono audio effects.")
    runner, b = backend(model, engine), model.block_size
    for name, value in (knobs or {}).items():
        runner.set_param(name, value)
    outs = []
    for p in pairs:
        runner.reset()
        n = len(p.clean) // b * b
        y = runner.process(np.asarray(p.clean[:n], np.float32).reshape(-1, b)).reshape(-1)
        outs.append(np.concatenate([y, np.asarray(p.clean[n:], np.float32)]))
    return outs


def evaluate(model, pairs, engine: str = "c", warmup: int = 1000, pre_emphasis: float = 0.85,
             knobs: dict | None = None) -> dict:
    """Return ESR, pre-emphasised ESR, MSE and the verdict of a model over pairs on an engine (knobs: {name: value})."""
    if not pairs:
        raise InputError("there is no audio to evaluate on.")
    outs = run_pairs(model, pairs, engine, knobs)
    metrics = pair_metrics(outs, [p.target for p in pairs], skip=warmup, coeff=pre_emphasis)
    metrics.update({"engine": engine, "pairs": len(pairs), "warmup_samples_excluded": warmup})
    if model.params:
        metrics["knobs"] = {k.name: float((knobs or {}).get(k.name, k.default)) for k in model.params}
    return metrics
