"""The C engine's cost measured apart from the machine's interference, until the estimate is stable.

The harness (trt_harness.c ``measure``) times every callback by the wall clock and by the thread's
CPU time and counts involuntary context switches. The deciding statistic is the model's *load*: the
mean CPU time per callback over the budget. CPU time is what the model costs; the wall time a busy
machine adds (preemption, other work) is interference and does not move it. Measuring goes on in
rounds until the 95 % confidence interval of the load (batch means) is narrower than ``precision``
of it and, when a ``threshold`` is given, no longer contains it; or until ``max_seconds``.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import InputError
from .stats import budget_ns, classify, mean_ci

# shown loads are rounded up to one of these percentages ("uses under 5 % of the budget"): a coarse,
# stateless scale, so the same cost reads the same from run to run
LADDER = (1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 125, 150, 200, 300, 500, 1000)



def host_frames(model, block: int) -> int:
    """Return how many model frames one host block of `block` samples holds (refusing a partial frame)."""
    if block < 1:
        raise InputError(f"the host block must be at least 1 sample, got {block}.")
    if block % model.block_size:
        raise InputError(f"a host block of {block} samples is not a whole number of {model.name}'s "
                         f"{model.block_size}-sample model blocks; use a multiple of {model.block_size}.")
    return block // model.block_size

def measure_c(model, sample_rate: float, block: int, *, precision: float | None = 0.05, max_seconds: float = 2.0,
              round_seconds: float = 0.05, threshold: float | None = None, exe=None) -> dict:
    """Return the C engine's load of a model's callbacks with its confidence interval, misses and interference.

    Keys: ``load`` (mean CPU time per callback over the budget), ``load_ci`` (half-width of its 95 %
    interval), ``load_p99`` and ``load_worst`` (CPU time), ``wall_worst`` (wall time), ``misses``
    (callbacks whose CPU time exceeded the budget), ``interference`` (late by the wall clock only),
    ``switches`` (involuntary context switches), ``preempted`` (callbacks with at least one), ``calls``,
    ``seconds``, ``rounds`` and ``stable`` (whether the interval met the precision before the time limit).
    ``exe``: the model's harness, when the caller already has it built. With ``precision`` None only the
    threshold decides when to stop (a yes/no question needs the interval clear of it, not narrow).
    """
    from ..backends.c import harness
    per_call = host_frames(model, block)
    budget = budget_ns(block, sample_rate)
    frames = per_call * 16  # the noise the calls cycle over: 16 calls, also the untimed warm-up
    cpu, wall, switches = [], [], []
    exe = exe or harness.harness(model, profile="native")  # built (or found in the cache) before the clock starts
    start, rounds, timer = time.monotonic(), 0, 0.0
    while True:
        r = harness.measure(model, frames, per_call, round_seconds, exe=exe)
        cpu.append(r["cpu_ns"])
        wall.append(r["wall_ns"])
        switches.append(r["switches"])
        timer = r["timer_cpu_ns"]
        rounds += 1
        load, half = mean_ci(np.concatenate(cpu) / budget)
        stable = (precision is None or half <= precision * load) and (threshold is None or abs(load - threshold) > half)
        elapsed = time.monotonic() - start
        if (rounds >= 2 and stable) or elapsed >= max_seconds:
            break
    c, w, s = np.concatenate(cpu), np.concatenate(wall), np.concatenate(switches)
    return {"load": load, "load_ci": half, "load_mean": load, "load_p99": float(np.percentile(c, 99)) / budget,
            "load_worst": float(c.max()) / budget, "wall_worst": float(w.max()) / budget,
            **classify(w, c, budget), "switches": int(s.sum()), "preempted": int(np.count_nonzero(s)),
            "calls": int(c.size), "seconds": elapsed, "rounds": rounds, "stable": bool(stable),
            "timer_cpu_ns": timer, "budget_ns": budget,
            "cpu_ns": {"mean": float(c.mean()), "median": float(np.median(c)), "p99": float(np.percentile(c, 99)),
                       "max": float(c.max())}}


def rounded_percent(load: float, half: float = 0.0) -> str:
    """Return the upper end of a load's interval rounded up on LADDER, as "under 5 %" (or "over 1000 %")."""
    top = 100 * (load + (half if np.isfinite(half) else 0.0))
    step = next((p for p in LADDER if top < p), None)
    return f"under {step} %" if step is not None else f"over {LADDER[-1]} %"


def late_text(misses: int, interference: int, switches: int | None = None) -> str:
    """Return the sentence that tells the model's misses from the machine's interference."""
    def n(count, one, many):
        return "none" if not count else f"{count} {one if count == 1 else many}"
    busy = (f"{n(interference, 'callback was', 'callbacks were')} late because the machine was busy "
            f"(interference)")
    if not interference:
        busy = "no callback was late because the machine was busy (interference)"
    own = "none because of the model" if not misses else \
        f"{misses} because the model needed more CPU time than the budget (misses)"
    extra = f"; {switches} involuntary context switches" if switches else ""
    return f"{busy}, {own}{extra}"


def measurement_text(m: dict) -> str:
    """Return one line: the load with its interval, the tail, and the late callbacks."""
    state = "stable" if m["stable"] else "time limit reached before the interval met the precision"
    return (f"mean CPU load {100 * m['load']:.3g} % +- {100 * m['load_ci']:.2g} % (95 % CI, {m['calls']} callbacks "
            f"in {m['seconds']:.1f} s, {state}); CPU p99 {100 * m['load_p99']:.3g} %, "
            f"worst {100 * m['load_worst']:.3g} %; {late_text(m['misses'], m['interference'], m['switches'])}")
