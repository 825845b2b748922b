"""Capacity: the largest recurrent model that meets the callback budget, and whether a model fits.

Loads are measured on the generated C engine (built for this machine, timed from C). The
worst-case load of a setting is the longest callback of a run over the budget; each setting runs
three times and the median of the three maxima is kept, so one preemption of this process by the
operating system does not decide the answer alone.
"""
from __future__ import annotations

import statistics

import numpy as np

from ..errors import InputError
from .runner import host_frames, run_rate
from .stats import budget_ns

HIDDEN_SIZES = (2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
HOST_BLOCKS = (16, 32, 64, 128, 256)


def c_load(model, sample_rate: float, block: int, seconds: float = 1.0, reps: int = 3) -> dict:
    """Return the C engine's mean and worst-case load of a model's callbacks (fractions of the budget)."""
    from ..backends.c import harness
    per_call = host_frames(model, block)
    calls = max(int(seconds * sample_rate / block), 50)
    budget = budget_ns(block, sample_rate)
    runs = [harness.time(model, calls * per_call, per_call, 1, profile="native")["call_ns"] for _ in range(reps)]
    return {"load_mean": statistics.median(r["mean"] for r in runs) / budget,
            "load_worst": statistics.median(r["max"] for r in runs) / budget}


def effect_model(cell: str, hidden: int, model_block: int, sample_rate: float):
    """Return the benchmark's guitar-effect shape (recurrent layer + dense head) with random weights."""
    from .models import effect_model as random_effect
    return random_effect(np.random.default_rng(hidden), cell, hidden, block_size=model_block, sample_rate=sample_rate)


def largest_fitting(fits, sizes) -> int:
    """Return the largest size for which fits(size) holds, by bisection (fits is monotone); 0 if none."""
    lo, hi, best = 0, len(sizes) - 1, 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(sizes[mid]):
            best, lo = sizes[mid], mid + 1
        else:
            hi = mid - 1
    return best


def sweep(cell: str = "lstm", sample_rate: float = 48000.0, host_blocks=HOST_BLOCKS, model_blocks=(1, 16),
          limit: float = 0.7, max_hidden: int = 512, measure=None, log=None) -> dict:
    """Return, per model block and host block, the largest hidden size whose worst-case load <= limit.

    ``measure(cell, hidden, model_block, host_block)`` returns a worst-case load; the default builds
    and times the C engine. Host blocks must be multiples of the model block.
    """
    if cell not in ("lstm", "gru"):
        raise InputError(f"sweep measures 'lstm' or 'gru' cells, got '{cell}'.")
    if not 0 < limit <= 1:
        raise InputError(f"the load limit must be in (0, 1], got {limit:g}.")
    sizes = [h for h in HIDDEN_SIZES if h <= max_hidden]
    if not sizes:
        raise InputError(f"--max-hidden must be at least {HIDDEN_SIZES[0]}, got {max_hidden}.")
    cache: dict = {}

    def load(hidden, mb, hb):
        key = (hidden, mb, hb)
        if key not in cache:
            if measure is not None:
                cache[key] = measure(cell, hidden, mb, hb)
            else:
                cache[key] = c_load(effect_model(cell, hidden, mb, sample_rate), sample_rate, hb)["load_worst"]
            if log:
                log(f"  {cell.upper()}-{hidden:<4} model block {mb:<3} host block {hb:<4} worst load "
                    f"{100 * cache[key]:6.1f} %")
        return cache[key]

    table = {}
    for mb in model_blocks:
        for hb in host_blocks:
            host_frames(effect_model(cell, 2, mb, sample_rate), hb)  # refuses a partial model block
            table[(mb, hb)] = largest_fitting(lambda h, mb=mb, hb=hb: load(h, mb, hb) <= limit, sizes)
    return {"cell": cell, "sample_rate": sample_rate, "limit": limit, "max_hidden": sizes[-1],
            "host_blocks": list(host_blocks), "model_blocks": list(model_blocks),
            "largest_hidden": {f"{mb}": {f"{hb}": table[(mb, hb)] for hb in host_blocks} for mb in model_blocks},
            "loads": [{"hidden": h, "model_block": mb, "host_block": hb, "load_worst": v}
                      for (h, mb, hb), v in sorted(cache.items())]}


def sweep_table(result: dict) -> str:
    """Return the capacity table: largest hidden size per host block (rows: model block sizes)."""
    r = result
    head = f"{'model block':<12}" + "".join(f"{hb:>8}" for hb in r["host_blocks"])
    lines = [f"largest {r['cell'].upper()} hidden size with worst-case load <= {100 * r['limit']:.0f} % at "
             f"{r['sample_rate']:g} Hz, by host block (samples); '>' = every size up to {r['max_hidden']} fits", head]
    for mb in r["model_blocks"]:
        row = r["largest_hidden"][f"{mb}"]
        lines.append(f"{mb:<12}" + "".join(
            f"{('>' if row[f'{hb}'] == r['max_hidden'] else '') + str(row[f'{hb}']):>8}" for hb in r["host_blocks"]))
    return "\n".join(lines)


def fit(model, sample_rate: float | None = None, block: int = 64, limit: float = 0.7) -> dict:
    """Return whether a model meets the budget on the C engine here, its margin, and what would fit if not."""
    rate = run_rate(model, sample_rate)
    if not 0 < limit <= 1:
        raise InputError(f"the load limit must be in (0, 1], got {limit:g}.")
    loads = c_load(model, rate, block)
    result = {"model": model.name, "sample_rate": rate, "block": block, "limit": limit, **loads,
              "fits": loads["load_worst"] <= limit, "margin": limit - loads["load_worst"], "suggestions": []}
    if result["fits"]:
        return result
    sug = result["suggestions"]
    for bigger in (b for b in (128, 256, 512, 1024, 2048) if b > block and b % model.block_size == 0):
        if c_load(model, rate, bigger)["load_worst"] <= limit:
            sug.append(f"a host block of {bigger} samples fits")
            break
    rnn = next((layer for layer in model.walk() if layer.type in ("lstm", "gru")), None)
    if rnn is not None and model.in_channels == 1 and model.out_channels == 1:
        cell, hidden = rnn.type, rnn.params["hidden_size"]
        if model.block_size == 1 and block % 16 == 0 and \
                c_load(effect_model(cell, hidden, 16, rate), rate, block)["load_worst"] <= limit:
            sug.append(f"the same {cell.upper()}-{hidden} at model block 16 fits")
        smaller = largest_fitting(
            lambda h: c_load(effect_model(cell, h, model.block_size, rate), rate, block)["load_worst"] <= limit,
            [h for h in HIDDEN_SIZES if h < hidden])
        sug.append(f"{cell.upper()}-{smaller} at model block {model.block_size} fits" if smaller else
                   f"no {cell.upper()} size fits at model block {model.block_size} and host block {block}")
    return result


def fit_text(result: dict) -> str:
    """Return the fit verdict in one or two lines."""
    r = result
    head = (f"{r['model']} at {r['block']} samples / {r['sample_rate']:g} Hz: worst-case load "
            f"{100 * r['load_worst']:.1f} % (mean {100 * r['load_mean']:.2f} %) "
            f"against a limit of {100 * r['limit']:.0f} %")
    if r["fits"]:
        return f"{head}: fits, margin {100 * r['margin']:.1f} points."
    return f"{head}: does not fit." + ("\nwhat would: " + "; ".join(r["suggestions"]) if r["suggestions"] else "")
