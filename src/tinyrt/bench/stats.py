"""Statistics of per-callback processing times against the audio callback's budget.

The budget of a callback is the audio it must produce: ``block / sample_rate`` seconds. Load is
processing time over budget (100 % means the callback used all of its time); a late callback is one
whose wall time exceeded the budget (in paced mode: whose end came after its deadline).

The words are the live host's (tinyrt.rt.host): a late callback whose CPU time also exceeded the
budget is a *miss*, the model's doing; one whose CPU time did not is *interference*, the machine's
(the process was preempted or the machine was busy elsewhere while the callback ran).
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


# two-sided 95 % quantiles of Student's t by degrees of freedom (batch means use few batches)
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 19: 2.093, 24: 2.064, 29: 2.045}


def t95(df: int) -> float:
    """Return the 97.5 % quantile of Student's t with df degrees of freedom (conservative between table rows)."""
    if df < 1:
        return float("inf")
    return _T95[max(k for k in _T95 if k <= df)] if df < 30 else 1.96


def mean_ci(values, batches: int = 10) -> tuple:
    """Return (mean, half-width of its 95 % confidence interval) by batch means.

    The values, in the order measured, are cut into ``batches`` consecutive batches (fewer when there are
    fewer than four values a batch; under twelve values the interval is infinite); the spread of the
    batch means gives the interval, which stays honest when neighbouring values are correlated (a
    burst of load on the machine spans several callbacks).
    """
    v = np.asarray(values, dtype=np.float64)
    batches = min(batches, v.size // 4)  # few values (a slow model): fewer batches, a wider t quantile
    if batches < 3:
        return (float(v.mean()) if v.size else float("nan")), float("inf")
    means = np.array([b.mean() for b in np.array_split(v, batches)])
    return float(v.mean()), float(t95(batches - 1) * means.std(ddof=1) / np.sqrt(batches))


def classify(wall_ns, cpu_ns, budget: float) -> dict:
    """Return the late callbacks (wall over budget) split into the model's misses (its CPU time over budget too)
    and interference (its CPU time within budget: the rest of the wall time was the machine's)."""
    late = np.asarray(wall_ns, dtype=np.float64) > budget
    heavy = np.asarray(cpu_ns, dtype=np.float64) > budget
    return {"misses": int(np.count_nonzero(late & heavy)), "interference": int(np.count_nonzero(late & ~heavy))}


def latency_stats(call_ns, block: int, sample_rate: float, late_ns=None, cpu_ns=None, switches=None) -> dict:
    """Return the distribution of callback times (ns) and the load and deadline misses they imply.

    ``call_ns[0]`` is the first call (reported apart as the cold start; the distribution covers the
    steady state after it). ``late_ns``, in paced mode, is each call's end minus its release time
    at the real period; a call is late when that exceeds the budget. ``cpu_ns``, each call's CPU
    time, splits the late calls into the model's ``misses`` and the machine's ``interference`` (see
    classify); without it every late call counts as a miss. ``switches`` are each call's involuntary
    context switches.
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
    if cpu_ns is None:
        split = {"misses": misses, "interference": 0}
        cpu = {}
    else:
        c = np.asarray(cpu_ns, dtype=np.float64)[1:]
        split = classify(finish, c, budget)
        load, half = mean_ci(c / budget)
        cpu = {"cpu_mean_ns": float(c.mean()), "cpu_p99_ns": float(np.percentile(c, 99)),
               "cpu_max_ns": float(c.max()), "load_cpu": load, "load_cpu_ci": half}
    if switches is not None:
        cpu["involuntary_switches"] = int(np.asarray(switches)[1:].sum())
    return {
        "calls": int(t.size), "block": int(block), "sample_rate": float(sample_rate), "budget_ns": budget,
        "first_call_ns": float(t[0]), "mean_ns": mean, "median_ns": median,
        "p95_ns": float(np.percentile(steady, 95)), "p99_ns": p99, "max_ns": float(steady.max()),
        "std_ns": float(steady.std()), "jitter_ns": p99 - median, "ns_per_sample": mean / block,
        "realtime_factor": budget / mean if mean > 0 else float("inf"),
        "load_mean": mean / budget, "load_worst": float(finish.max()) / budget,
        "deadline_misses": misses, "miss_rate": misses / steady.size, **split, **cpu,
    }
