"""Gather everything `make bench` wrote into bench-out/report.html (one self-contained page).

Sections, each present when its benchmark ran: engine speed (engine.txt), callbacks on every
engine (callbacks.json: tables, latency histograms, comparison chart), capacity sweeps
(sweep_*.json and their charts), the model zoo (zoo.txt) and training quality (quality.txt).

    python benchmarks/report.py --out bench-out
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import platform
import sys
from pathlib import Path

from tinyrt.bench.capacity import sweep_table
from tinyrt.bench.report import bench_sections

TEXTS = (("engine.txt", "Engine speed: ns per sample by host block (benchmarks/engine.py)"),
         ("callbacks.txt", "Callback load summary (benchmarks/callbacks.py)"),
         ("zoo.txt", "Model zoo (benchmarks/zoo.py)"),
         ("classic.txt", "Classic models in C: tinyrt, emlearn, m2cgen (benchmarks/classic.py)"),
         ("quality.txt", "Training quality: test ESR by size and model block (benchmarks/quality.py)"))


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def sections(out: Path) -> list:
    """Return the HTML sections for the benchmark files present in out."""
    parts = []
    for name, title in TEXTS:
        if (out / name).is_file():
            parts.append(f"<section><h2>{html.escape(title)}</h2>{_pre((out / name).read_text())}</section>")
    for sweep in sorted(out.glob("sweep_*.json")):
        r = json.loads(sweep.read_text())
        chart = sweep.with_suffix(".png")
        img = (f'<img src="data:image/png;base64,{base64.b64encode(chart.read_bytes()).decode()}" alt="capacity">'
               if chart.is_file() else "")
        parts.append(f"<section><h2>Capacity: {r['cell'].upper()} (tinyrt sweep)</h2>{_pre(sweep_table(r))}{img}"
                     f"</section>")
    if (out / "callbacks.json").is_file():
        parts.append("<section><h2>Callbacks in detail</h2>"
                     + bench_sections(json.loads((out / "callbacks.json").read_text())) + "</section>")
    return parts


def main(argv=None) -> int:
    """Write bench-out/report.html from the benchmark outputs there."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    out = Path(ap.parse_args(argv).out)
    parts = sections(out)
    if not parts:
        print(f"no benchmark results in {out}; run make bench first.", file=sys.stderr)
        return 1
    machine = html.escape(f"{platform.machine()} {platform.processor() or ''}".strip())
    page = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tinyrt benchmarks</title><style>'
            "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}"
            "pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:12px}img{max-width:100%}"
            "section{border-top:1px solid #ddd;margin-top:1.5em}</style></head><body>"
            f"<h1>tinyrt benchmarks</h1><p>Measured on {machine}; every figure on this page comes from the "
            "run that wrote the files beside it.</p>" + "".join(parts) + "</body></html>")
    (out / "report.html").write_text(page)
    print(f"wrote {out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
