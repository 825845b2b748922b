"""Capacity: the largest recurrent model that meets the callback budget, and whether a model fits.

Loads are measured on the generated C engine (built for this machine, timed from C) by CPU time, so
a machine busy with other work does not change the answer (tinyrt.bench.cpu): the deciding
statistic is the mean CPU load with its confidence interval, measured until the interval is narrow
and clear of the limit. A size fits when its load is at most the limit; the verdict and the advice
print loads rounded up on a fixed, coarse scale, so back-to-back runs say the same thing.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from .cpu import measure_c, measurement_text, rounded_percent
from .runner import host_frames, run_rate

HIDDEN_SIZES = (2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
HOST_BLOCKS = (16, 32, 64, 128, 256)
ADVICE_MAX_HIDDEN = 512


def c_load(model, sample_rate: float, block: int, limit: float | None = None, max_seconds: float = 2.0,
           exe=None, precision: float | None = 0.05) -> dict:
    """Return the C engine's load of a model's callbacks (see tinyrt.bench.cpu.measure_c); ``limit`` is
    the threshold the estimate must be clearly on one side of before measuring stops."""
    return measure_c(model, sample_rate, block, threshold=limit, max_seconds=max_seconds, exe=exe,
                     precision=precision)


def _code_version() -> str:
    """Return a hash of everything that turns an effect model into its harness (code generator, runtime, compiler)."""
    from ..c import runtime_headers
    from ..c.build import HOST_DIR, compiler, compiler_version
    root = Path(__file__).resolve().parents[1]
    files = sorted([*root.glob("backends/c/*.py"), *root.glob("ir/*.py"), Path(__file__).with_name("models.py"),
                    *HOST_DIR.glob("*")])
    h = hashlib.sha256(json.dumps([np.__version__, compiler(), compiler_version(compiler()),
                                   sorted(runtime_headers().items())]).encode())
    for f in files:
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()[:20]


def effect_load(cell: str, hidden: int, model_block: int, sample_rate: float, block: int, limit: float | None,
                max_seconds: float) -> dict:
    """Return c_load of the benchmark's effect shape, its harness found by the shape without generating its code.

    Generating the C of a large LSTM takes seconds; capacity searches measure the same shapes run after
    run, so the built harness of each shape is remembered (under the build cache, keyed by the shape
    and a hash of the code generator, runtime and compiler).
    """
    from ..backends.c import harness
    from ..c.build import cache_root
    key = hashlib.sha256(f"{cell} {hidden} {model_block} {sample_rate!r} {_code_version()}".encode()).hexdigest()[:20]
    memo = cache_root() / "effect-harness" / key
    model = effect_model(cell, hidden, model_block, sample_rate)
    exe = Path(memo.read_text()) if memo.is_file() else None
    if exe is None or not exe.is_file():
        exe = harness.harness(model, profile="native")
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(".tmp")
        tmp.write_text(str(exe))
        tmp.replace(memo)
    return c_load(model, sample_rate, block, limit, max_seconds, exe=exe, precision=None)


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


def _cell_task(task: dict) -> dict:
    """Find the largest fitting size of one (model block, host block) cell: a sweep's unit of work."""
    cell, rate, limit = task["cell"], task["sample_rate"], task["limit"]
    mb, hb = task["model_block"], task["host_block"]
    loads = {}

    def fits(hidden):
        m = effect_load(cell, hidden, mb, rate, hb, limit, task["max_seconds"])
        loads[hidden] = m
        return m["load"] <= limit
    best = largest_fitting(fits, task["sizes"])
    return {"model_block": mb, "host_block": hb, "largest": best,
            "loads": [{"hidden": h, "model_block": mb, "host_block": hb, "load": m["load"], "load_ci": m["load_ci"],
                       "load_worst": m["load_worst"], "interference": m["interference"]}
                      for h, m in sorted(loads.items())]}


def sweep(cell: str = "lstm", sample_rate: float = 48000.0, host_blocks=HOST_BLOCKS, model_blocks=(1, 16),
          limit: float = 0.7, max_hidden: int = 512, measure=None, log=None, executor=None,
          max_seconds: float = 2.0) -> dict:
    """Return, per model block and host block, the largest hidden size whose load <= limit.

    ``measure(cell, hidden, model_block, host_block)`` returns a load; the default builds and times
    the C engine (its mean CPU load, tinyrt.bench.cpu). Host blocks must be multiples of the model
    block. With an ``executor`` (tinyrt.train.executors) each (model block, host block) cell is one
    trial run there; the table is the same whichever executor ran it.
    """
    if cell not in ("lstm", "gru"):
        raise InputError(f"sweep measures 'lstm' or 'gru' cells, got '{cell}'.")
    if not 0 < limit <= 1:
        raise InputError(f"the load limit must be in (0, 1], got {limit:g}.")
    sizes = [h for h in HIDDEN_SIZES if h <= max_hidden]
    if not sizes:
        raise InputError(f"--max-hidden must be at least {HIDDEN_SIZES[0]}, got {max_hidden}.")
    for mb in model_blocks:
        for hb in host_blocks:
            host_frames(effect_model(cell, 2, mb, sample_rate), hb)  # refuses a partial model block
    cells = [(mb, hb) for mb in model_blocks for hb in host_blocks]
    if measure is not None:  # a given cost function: measured here, each setting once
        cache: dict = {}

        def load(hidden, mb, hb):
            if (hidden, mb, hb) not in cache:
                cache[(hidden, mb, hb)] = measure(cell, hidden, mb, hb)
            return cache[(hidden, mb, hb)]
        done = [{"model_block": mb, "host_block": hb,
                 "largest": largest_fitting(lambda h, mb=mb, hb=hb: load(h, mb, hb) <= limit, sizes)}
                for mb, hb in cells]
        rows = [{"hidden": h, "model_block": mb, "host_block": hb, "load": v}
                for (h, mb, hb), v in sorted(cache.items())]
    else:
        tasks = [{"cell": cell, "sample_rate": sample_rate, "limit": limit, "model_block": mb, "host_block": hb,
                  "sizes": sizes, "max_seconds": max_seconds} for mb, hb in cells]
        if executor is None:  # here, one cell after the other
            done = [_cell_task(t) for t in tasks]
        else:
            done = executor.map(_cell_task, tasks, [f"{cell.upper()} model block {mb} host block {hb}"
                                                    for mb, hb in cells], log=log)
        failed = [t for t, d in zip(tasks, done) if "error" in d]
        if failed:
            raise InputError(f"the sweep of model block {failed[0]['model_block']} and host block "
                             f"{failed[0]['host_block']} failed twice: {done[tasks.index(failed[0])]['error']}")
        rows = sorted((x for d in done for x in d["loads"]), key=lambda x: (x["hidden"], x["model_block"],
                                                                               x["host_block"]))
        if log:
            for x in rows:
                log(f"  {cell.upper()}-{x['hidden']:<4} model block {x['model_block']:<3} host block "
                    f"{x['host_block']:<4} load {rounded_percent(x['load'], x['load_ci'])}")
    table = {(d["model_block"], d["host_block"]): d["largest"] for d in done}
    return {"cell": cell, "sample_rate": sample_rate, "limit": limit, "max_hidden": sizes[-1],
            "host_blocks": list(host_blocks), "model_blocks": list(model_blocks),
            "largest_hidden": {f"{mb}": {f"{hb}": table[(mb, hb)] for hb in host_blocks} for mb in model_blocks},
            "loads": rows}


def sweep_table(result: dict) -> str:
    """Return the capacity table: largest hidden size per host block (rows: model block sizes)."""
    r = result
    head = f"{'model block':<12}" + "".join(f"{hb:>8}" for hb in r["host_blocks"])
    lines = [f"largest {r['cell'].upper()} hidden size with mean CPU load <= {100 * r['limit']:.0f} % at "
             f"{r['sample_rate']:g} Hz, by host block (samples); '>' = every size up to {r['max_hidden']} fits", head]
    for mb in r["model_blocks"]:
        row = r["largest_hidden"][f"{mb}"]
        lines.append(f"{mb:<12}" + "".join(
            f"{('>' if row[f'{hb}'] == r['max_hidden'] else '') + str(row[f'{hb}']):>8}" for hb in r["host_blocks"]))
    return "\n".join(lines)


def largest_advice(cell: str, model_block: int, rate: float, block: int, limit: float, max_seconds: float) -> str:
    """Return "the largest LSTM that fits at this block is N units" (measured), or what fits instead."""
    sizes = [h for h in HIDDEN_SIZES if h <= ADVICE_MAX_HIDDEN]
    best = largest_fitting(
        lambda h: effect_load(cell, h, model_block, rate, block, limit, max_seconds)["load"] <= limit, sizes)
    at = f"at this block{'' if model_block == 1 else f' (model block {model_block})'}"
    if best == sizes[-1]:
        return f"every {cell.upper()} up to {best} units fits {at}"
    return f"the largest {cell.upper()} that fits {at} is {best} units" if best else f"no {cell.upper()} fits {at}"


def fit(model, sample_rate: float | None = None, block: int = 64, limit: float = 0.7, max_seconds: float = 2.0) -> dict:
    """Return whether a model meets the budget on the C engine here, its margin, and advice.

    The verdict is the model's mean CPU load against ``limit`` (tinyrt.bench.cpu), so preemption and
    other work on the machine do not decide it; the advice says how much of the budget the model uses
    (rounded up on a coarse scale) and the largest LSTM (or the model's own recurrent cell) that fits
    at this block, and when it does not fit, what would.
    """
    rate = run_rate(model, sample_rate)
    if not 0 < limit <= 1:
        raise InputError(f"the load limit must be in (0, 1], got {limit:g}.")
    m = c_load(model, rate, block, limit, max_seconds)
    fits = m["load"] <= limit
    uses = f"uses {rounded_percent(m['load'], m['load_ci'])} of the budget (limit {100 * limit:.0f} %)"
    result = {"model": model.name, "sample_rate": rate, "block": block, "limit": limit, **m, "fits": fits,
              "margin": limit - m["load"], "uses": uses, "suggestions": []}
    rnn = next((layer for layer in model.walk() if layer.type in ("lstm", "gru")), None)
    cell = rnn.type if rnn is not None else "lstm"
    advice = [uses, largest_advice(cell, model.block_size, rate, block, limit, max_seconds)]
    if not fits:
        sug = result["suggestions"]
        for bigger in (b for b in (128, 256, 512, 1024, 2048) if b > block and b % model.block_size == 0):
            if c_load(model, rate, bigger, limit, max_seconds)["load"] <= limit:
                sug.append(f"a host block of {bigger} samples fits")
                break
        if rnn is not None and model.block_size == 1 and block % 16 == 0 and model.in_channels == 1 and \
                model.out_channels == 1:
            hidden = rnn.params["hidden_size"]
            if effect_load(cell, hidden, 16, rate, block, limit, max_seconds)["load"] <= limit:
                sug.append(f"the same {cell.upper()}-{hidden} at model block 16 fits")
    result["advice"] = "; ".join(advice)
    return result


def fit_text(result: dict) -> str:
    """Return the fit verdict (one line), the advice (one line) and the measurement with its interval."""
    r = result
    verdict = f"{r['model']} at {r['block']} samples / {r['sample_rate']:g} Hz: " + \
        ("fits" if r["fits"] else "does not fit")
    lines = [verdict, r["advice"]]
    if r["suggestions"]:
        lines.append("what would: " + "; ".join(r["suggestions"]))
    lines.append("measured: " + measurement_text(r))
    return "\n".join(lines)
