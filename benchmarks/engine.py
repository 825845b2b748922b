"""Engine benchmark: ns per sample and real-time factor of the C engine, ONNX Runtime and torch.

Streaming one sample per step (model block 1): LSTM and GRU with hidden 8/16/32/64, input 1,
dense output 1, 10 s of audio at 48 kHz processed in host blocks of 1/16/64/256 samples, all
engines measured in the same run on one thread. The C engine is timed from C by its harness
(no Python in the loop); the ctypes call overhead is reported separately. The C variants with
fast activations and bfloat16 weights also report their max abs error against the reference.

    python benchmarks/engine.py --out bench-out [--seconds 10] [--hidden 8,16,32,64]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import tinyrt  # noqa: E402
from tinyrt.backends.c import harness  # noqa: E402
from tinyrt.backends.verify import signal_frames  # noqa: E402
from tinyrt.bench import models as R  # noqa: E402
from tinyrt.c.build import compiler, compiler_version, flags_for  # noqa: E402

RATE = 48000
C_VARIANTS = {  # row name -> C engine options
    "c": {"profile": "native"},
    "c-fast": {"profile": "native", "activations": "fast"},
    "c-bf16": {"profile": "native", "weights": "bf16"},
    "c-portable": {"profile": "portable"},
}


def time_python_engine(engine, frames: np.ndarray, block: int, reps: int) -> list:
    """Return wall seconds of `reps` passes over frames in calls of `block` frames (after a warm-up)."""
    calls = [frames[i:i + block] for i in range(0, len(frames) - len(frames) % block, block)]
    engine.reset()
    for chunk in calls[: max(1, 2048 // block)]:
        engine.process(chunk)
    times = []
    for _ in range(reps):
        engine.reset()
        t0 = time.perf_counter()
        for chunk in calls:
            engine.process(chunk)
        times.append(time.perf_counter() - t0)
    return times


def python_call_overhead_ns(model, frames: np.ndarray, calls: int = 20000) -> float:
    """Return the Python-side cost of one C engine call from Python at block 1 (ns), beyond the C work."""
    engine = tinyrt.backend(model, "c", profile="native")
    one = frames[:calls]
    t0 = time.perf_counter()
    for i in range(calls):
        engine.process(one[i:i + 1])
    python_ns = (time.perf_counter() - t0) / calls * 1e9
    c_ns = statistics.median(harness.time(model, calls, 1, 5, profile="native")["pass_ns"]) / calls
    return python_ns - c_ns


def max_error(model, frames: np.ndarray, truth: np.ndarray, options: dict) -> float:
    """Return the max abs difference between a C variant and the reference over the frames."""
    return float(np.abs(tinyrt.backend(model, "c", **options).process(frames) - truth).max())


def bench_model(model, frames, blocks, reps, engines, log) -> list:
    """Return one row per (engine, host block) for a model."""
    truth = model.reference().process(frames) if any(e in ("c-fast", "c-bf16") for e in engines) else None
    rows = []
    for name in engines:
        err = None
        if name in ("c-fast", "c-bf16"):
            err = max_error(model, frames, truth, C_VARIANTS[name])
        engine = None if name in C_VARIANTS else tinyrt.backend(model, name)
        for block in blocks:
            if name in C_VARIANTS:
                t = harness.time(model, len(frames), block, reps, **C_VARIANTS[name])
                times = [ns / 1e9 for ns in t["pass_ns"]]
                used_reps = reps
            else:
                used_reps = 1 if block < 16 else reps
                times = time_python_engine(engine, frames, block, used_reps)
            best = statistics.median(times)
            n = len(frames) - len(frames) % block
            row = {"model": model.name, "engine": name, "block": block, "reps": used_reps,
                   "ns_per_sample": best / n * 1e9, "ns_per_sample_min": min(times) / n * 1e9,
                   "realtime_factor": (n / RATE) / best,
                   "max_abs_error": err}
            rows.append(row)
            log(f"  {model.name:<8} {name:<12} block {block:>4}: {row['ns_per_sample']:10.1f} ns/sample  "
                f"RTF {row['realtime_factor']:9.1f}" + (f"  err {err:.1e}" if err is not None else ""))
    return rows


def table(rows: list, blocks: list, engines: list) -> str:
    """Return the results as a text table: ns per sample per engine and host block."""
    out = []
    models = list(dict.fromkeys(r["model"] for r in rows))
    head = (f"{'model':<8} {'engine':<12}" + "".join(f"{'blk ' + str(b):>11}" for b in blocks)
            + f"{'RTF@64':>10}{'err':>10}")
    out.append(head)
    out.append("-" * len(head))
    for m in models:
        for e in engines:
            cells = {r["block"]: r for r in rows if r["model"] == m and r["engine"] == e}
            if not cells:
                continue
            rtf = cells.get(64, next(iter(cells.values())))["realtime_factor"]
            err = next(iter(cells.values()))["max_abs_error"]
            out.append(f"{m:<8} {e:<12}" + "".join(f"{cells[b]['ns_per_sample']:>11.1f}" if b in cells else f"{'-':>11}"
                                                    for b in blocks)
                       + f"{rtf:>10.0f}" + (f"{err:>10.1e}" if err is not None else f"{'':>10}"))
    return "\n".join(out)


def main(argv=None) -> int:
    """Run the benchmark and write bench-out/engine.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--hidden", default="8,16,32,64")
    ap.add_argument("--cells", default="lstm,gru")
    ap.add_argument("--blocks", default="1,16,64,256")
    ap.add_argument("--engines", default="c,c-fast,c-bf16,c-portable,onnxruntime,torch")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    blocks = [int(b) for b in args.blocks.split(",")]
    engines = args.engines.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import torch
    torch.set_num_threads(1)

    def log(msg):
        print(msg, flush=True)

    machine = {"cpu": _cpu_name(), "python": platform.python_version(), "compiler": compiler_version(compiler()),
               "c_flags": {k: " ".join(flags_for(v["profile"])) for k, v in C_VARIANTS.items()},
               "onnxruntime": _version("onnxruntime"), "torch": torch.__version__, "threads": 1}
    log(f"tinyrt engine benchmark on {machine['cpu']}; C flags (c): {machine['c_flags']['c']}")
    rows, overhead = [], {}
    for cell in args.cells.split(","):
        for hidden in [int(h) for h in args.hidden.split(",")]:
            model = R.effect_model(np.random.default_rng(hidden), cell, hidden)
            frames = signal_frames(model, args.seconds, seed=0)
            rows += bench_model(model, frames, blocks, args.reps, engines, log)
            if "c" in engines:
                overhead[model.name] = python_call_overhead_ns(model, frames)
    result = {"machine": machine, "seconds": args.seconds, "sample_rate": RATE, "rows": rows,
              "python_call_overhead_ns": overhead}
    (out / "engine.json").write_text(json.dumps(result, indent=1))
    text = table(rows, blocks, engines)
    (out / "engine.txt").write_text(text + "\n")
    log("\nns per sample (lower is better), real-time factor at 64-sample blocks, max abs error vs reference")
    log(text)
    log("Python-side cost of one process() call on the C engine at block 1 (ns, beyond the C work): "
        + ", ".join(f"{k} {v:.0f}" for k, v in overhead.items()))
    log(f"wrote {out / 'engine.json'}")
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return __import__(package).__version__
    except ImportError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
