"""Callback benchmark: load, latency distribution and deadline misses of every engine at 48 kHz / 64.

LSTM and GRU effect models (recurrent layer + dense head, one sample per step) with hidden sizes
16/32/64 run through `tinyrt.bench` on the C engine, ONNX Runtime, torch and TorchScript, first
back to back (flat) and then paced at the real callback period. Prints one table per model and a
summary of mean (worst) load; writes bench-out/callbacks.json and bench-out/callbacks.html
(histograms with the deadline, comparison chart).

    python benchmarks/callbacks.py --out bench-out [--seconds 5] [--hidden 16,32,64] [--cells lstm,gru]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from tinyrt.bench import bench, table  # noqa: E402
from tinyrt.bench.models import effect_model  # noqa: E402
from tinyrt.bench.report import write_bench_report  # noqa: E402

ENGINES = ("c", "onnxruntime", "torch", "torchscript")


def summary(results: list) -> str:
    """Return mean load (worst load, misses) per model and engine as a text table."""
    lines = [f"{'model':<10} {'mode':<6} " + "".join(f"{e:>24}" for e in ENGINES + ("c timed in C",))]
    for r in results:
        cells = []
        for e in ENGINES:
            s = r["engines"][e]
            cells.append("not run" if "not_run" in s else
                         f"{100 * s['load_mean']:.1f}% ({100 * s['load_worst']:.1f}%, {s['deadline_misses']})")
        n = r["engines"]["c"].get("native")
        cells.append(f"{100 * n['load_mean']:.2f}% ({100 * n['load_worst']:.1f}%)" if n else "-")
        lines.append(f"{r['model']:<10} {r['mode']:<6} " + "".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the benchmark and write callbacks.json / callbacks.html into --out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--hidden", default="16,32,64")
    ap.add_argument("--cells", default="lstm,gru")
    ap.add_argument("--block", type=int, default=64)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for mode in ("flat", "paced"):
        for cell in args.cells.split(","):
            for hidden in (int(h) for h in args.hidden.split(",")):
                model = effect_model(np.random.default_rng(hidden), cell, hidden, sample_rate=48000.0)
                model.name = f"{cell.upper()}-{hidden}"
                r = bench(model, ENGINES, 48000, args.block, args.seconds, mode)
                print(table(r) + "\n", flush=True)
                results.append(r)
    text = ("mean load (worst load, deadline misses) per engine, 48 kHz, "
            f"{args.block}-sample callbacks, {args.seconds:g} s each\n" + summary(results))
    print(text)
    (out / "callbacks.txt").write_text(text + "\n")
    (out / "callbacks.json").write_text(json.dumps(results, indent=1))
    write_bench_report(results, out / "callbacks.html", "tinyrt: callbacks on every engine at 48 kHz")
    print(f"wrote {out / 'callbacks.json'}, {out / 'callbacks.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
