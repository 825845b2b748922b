"""Gather everything `make bench` wrote into bench-out/report.html (one self-contained page).

Sections, each present when its benchmark ran: engine speed (engine.txt), callbacks on every
engine (callbacks.json: tables, latency histograms, comparison chart), capacity sweeps
(sweep_*.json and their charts), the model zoo (zoo.txt) and training quality (quality.txt).

    python benchmarks/report.py --out bench-out
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from tinyrt.bench.capacity import sweep_table
from tinyrt.bench.report import bench_context, machine, render

TEXTS = (("engine.txt", "Engine speed: ns per sample by host block (benchmarks/engine.py)"),
         ("callbacks.txt", "Callback load summary (benchmarks/callbacks.py)"),
         ("zoo.txt", "Model zoo (benchmarks/zoo.py)"),
         ("classic.txt", "Classic models in C: tinyrt, emlearn, m2cgen (benchmarks/classic.py)"),
         ("quality.txt", "Training quality: test ESR by size and model block (benchmarks/quality.py)"))


def context(out: Path) -> dict:
    """Return the template context for the benchmark files present in out (empty lists when none ran)."""
    texts = [{"title": title, "text": (out / name).read_text()} for name, title in TEXTS if (out / name).is_file()]
    sweeps = []
    for sweep in sorted(out.glob("sweep_*.json")):
        r = json.loads(sweep.read_text())
        chart = sweep.with_suffix(".png")
        sweeps.append({"cell": r["cell"].upper(), "text": sweep_table(r),
                       "chart": ("data:image/png;base64," + base64.b64encode(chart.read_bytes()).decode()
                                 if chart.is_file() else "")})
    callbacks = (bench_context(json.loads((out / "callbacks.json").read_text()))
                 if (out / "callbacks.json").is_file() else None)
    return {"texts": texts, "sweeps": sweeps, "callbacks": callbacks}


def write(out: Path) -> Path | None:
    """Write out/report.html from the benchmark outputs there; return its path, or None when there are none."""
    ctx = context(out)
    if not (ctx["texts"] or ctx["sweeps"] or ctx["callbacks"]):
        return None
    path = out / "report.html"
    path.write_text(render("gathered.html.j2", title="tinyrt benchmarks", machine=machine(), **ctx))
    return path


def main(argv=None) -> int:
    """Write bench-out/report.html from the benchmark outputs there."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    out = Path(ap.parse_args(argv).out)
    path = write(out)
    if path is None:
        print(f"no benchmark results in {out}; run make bench first.", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
