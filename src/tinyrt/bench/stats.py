"""Statistics of per-callback processing times against the audio callback's budget.

The budget of a callback is the audio it must produce: ``block / sample_rate`` seconds. Load is
processing time over budget (100 % means the callback used all of its time); a deadline miss is a
callback whose time exceeded the budget (in paced mode: whose end came after its deadline).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError


def budget_ns(block: int, sample_rate: float) -> float:
    """Return the callback budget in nanoseconds for a host block at a sample rate."""
    if block < 1 or sample_rate <= 0:
        raise InputError(f"the host block must be at least 1 sample and the sample rate positive, got block "
                         f"{block} at {sample_rate:g} Hz.")
    return block / sample_rate * 1e9


def latency_stats(call_ns, block: int, sample_rate: float, late_ns=None) -> dict:
    """Return the distribution of callback times (ns) and the load and deadline misses they imply.

    ``call_ns[0]`` is the first call (reported apart as the cold start; the distribution covers the
    steady state after it). ``late_ns``, in paced mode, is each call's end minus its release time
    at the real period; a call misses when that exceeds the budget.
    """
    t = np.asarray(call_ns, dtype=np.float64)
    if t.size < 2:
        raise InputError("timing needs at least two callbacks; give more audio or a smaller block.")
    budget = budget_ns(block, sample_rate)
    steady = t[1:]
    median = float(np.median(steady))
    p99 = float(np.percentile(steady, 99))
    finish = steady if late_ns is None else np.asarray(late_ns, dtype=np.float64)[1:]
    misses = int(np.count_nonzero(finish > budget))
    mean = float(steady.mean())
    return {
        "calls": int(t.size), "block": int(block), "sample_rate": float(sample_rate), "budget_ns": budget,
        "first_call_ns": float(t[0]), "mean_ns": mean, "median_ns": median,
        "p95_ns": float(np.percentile(steady, 95)), "p99_ns": p99, "max_ns": float(steady.max()),
        "std_ns": float(steady.std()), "jitter_ns": p99 - median, "ns_per_sample": mean / block,
        "realtime_factor": budget / mean if mean > 0 else float("inf"),
        "load_mean": mean / budget, "load_worst": float(finish.max()) / budget,
        "deadline_misses": misses, "miss_rate": misses / steady.size,
    }
