"""`tinyrt bench`: time a model's callbacks on each engine against the audio callback budget.

Every engine runs behind the same Backend interface, one host block per call, on the same test
audio. Flat-out mode calls back to back (throughput); paced mode releases each call at the real
period, as an audio driver would, so the wake-up jitter of this machine shows in the misses.
"""
from __future__ import annotations

import time

import numpy as np

from ..backends import ENGINES, backend
from ..backends.verify import signal_frames
from ..errors import DependencyError, InputError
from .memory import MemorySampler
from .stats import budget_ns, latency_stats

MODES = ("flat", "paced")


def host_frames(model, block: int) -> int:
    """Return how many model frames one host block of `block` samples holds (refusing a partial frame)."""
    if block < 1:
        raise InputError(f"the host block must be at least 1 sample, got {block}.")
    if block % model.block_size:
        raise InputError(f"a host block of {block} samples is not a whole number of {model.name}'s "
                         f"{model.block_size}-sample model blocks; use a multiple of {model.block_size}.")
    return block // model.block_size


def _spin_until(deadline: int) -> None:
    while True:
        left = deadline - time.perf_counter_ns()
        if left <= 0:
            return
        if left > 300_000:
            time.sleep((left - 200_000) / 1e9)


def time_engine(engine, frames: np.ndarray, per_call: int, sample_rate: float, block: int, mode: str = "flat") -> dict:
    """Return callback statistics and memory of one engine over frames in calls of per_call frames."""
    n_calls = len(frames) // per_call
    calls = np.empty(n_calls)
    late = np.empty(n_calls) if mode == "paced" else None
    period = int(budget_ns(block, sample_rate))
    engine.reset()
    clock = time.perf_counter_ns
    with MemorySampler() as mem:
        start = clock() + period
        for k in range(n_calls):
            chunk = frames[k * per_call:(k + 1) * per_call]
            if late is not None:
                release = start + k * period
                _spin_until(release)
            t0 = clock()
            engine.process(chunk)
            t1 = clock()
            calls[k] = t1 - t0
            if late is not None:
                late[k] = t1 - release
    stats = latency_stats(calls, block, sample_rate, late)
    stats["memory"] = mem.result()
    stats["mode"] = mode
    return stats


def static_memory(model) -> dict:
    """Return the model's weight and state sizes in bytes (float32)."""
    return {"weight_bytes": model.weight_bytes, "state_bytes": 4 * model.state_floats, "parameters": model.n_params}


def bench(model, engines=("c", "onnxruntime", "torch"), sample_rate: float | None = None, block: int = 64,
          seconds: float = 5.0, mode: str = "flat", seed: int = 0) -> dict:
    """Return per-engine callback statistics of a model at a sample rate and host block size.

    An engine that cannot run here (its package missing) is reported with the reason, not dropped.
    """
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise InputError(f"unknown engine '{unknown[0] if unknown else ''}'; choose from {', '.join(ENGINES)}.")
    if mode not in MODES:
        raise InputError(f"unknown mode '{mode}'; choose flat or paced.")
    rate = float(sample_rate or model.sample_rate or 48000.0)
    if model.sample_rate and rate != model.sample_rate:
        raise InputError(f"{model.name} runs at {model.sample_rate:g} Hz, not {rate:g} Hz.")
    if seconds <= 0:
        raise InputError(f"--seconds must be positive, got {seconds:g}.")
    per_call = host_frames(model, block)
    frames = signal_frames(model, max(seconds, 2 * block / rate), seed)
    result = {"model": model.name, "sample_rate": rate, "block": block, "mode": mode, "seconds": seconds,
              "static": static_memory(model), "engines": {}}
    for name in engines:
        try:
            # the C engine as deployed on this machine: built for its CPU (-O3 -march=native)
            engine = backend(model, name, **({"profile": "native"} if name == "c" else {}))
        except DependencyError as exc:
            result["engines"][name] = {"not_run": str(exc)}
            continue
        result["engines"][name] = time_engine(engine, frames, per_call, rate, block, mode)
    return result


def table(result: dict) -> str:
    """Return the bench result as a text table (times in microseconds per callback)."""
    r = result
    lines = [f"{r['model']}: {r['block']}-sample callbacks at {r['sample_rate']:g} Hz (budget "
             f"{r['block'] / r['sample_rate'] * 1e6:.1f} us), {r['mode']} mode, {r['seconds']:g} s; weights "
             f"{r['static']['weight_bytes']} B, state {r['static']['state_bytes']} B",
             f"{'engine':<12} {'mean':>8} {'median':>8} {'p99':>8} {'max':>8} {'jitter':>8} {'ns/smp':>8} "
             f"{'load':>7} {'worst':>7} {'misses':>8} {'first':>8} {'RSS peak':>9}"]
    for name, s in r["engines"].items():
        if "not_run" in s:
            lines.append(f"{name:<12} not run: {s['not_run']}")
            continue
        us = {k: s[k] / 1000 for k in ("mean_ns", "median_ns", "p99_ns", "max_ns", "jitter_ns", "first_call_ns")}
        lines.append(f"{name:<12} {us['mean_ns']:>8.1f} {us['median_ns']:>8.1f} {us['p99_ns']:>8.1f} "
                     f"{us['max_ns']:>8.1f} {us['jitter_ns']:>8.1f} {s['ns_per_sample']:>8.0f} "
                     f"{100 * s['load_mean']:>6.1f}% {100 * s['load_worst']:>6.1f}% "
                     f"{s['deadline_misses']:>8} {us['first_call_ns']:>8.1f} "
                     f"{s['memory']['rss_peak'] / 2**20:>7.0f}MB")
    return "\n".join(lines)
