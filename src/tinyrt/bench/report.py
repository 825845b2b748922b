"""`report.html` for benchmarks: tables, latency histograms with the deadline, engine comparison.

The page is one self-contained file (the charts are embedded PNGs), so it can be copied or
attached as it is.
"""
from __future__ import annotations

import base64
import html
import platform
import tempfile
from pathlib import Path

from ..files import write_text
from .plots import plot_engine_comparison, plot_latency_histograms
from .runner import table

_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}"
          "pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:12px}img{max-width:100%}"
          "section{border-top:1px solid #ddd;margin-top:1.5em}")


def _png(plot, *args) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = plot(*args, Path(tmp) / "figure.png")
        data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="chart">'


def bench_sections(results: list) -> str:
    """Return the HTML body of benchmark results: comparison chart, then per model tables and histograms."""
    e = html.escape
    parts = []
    if results:
        parts.append("<h2>Engines compared</h2>" + _png(plot_engine_comparison, results))
    for r in results:
        parts.append(f"<section><h3>{e(r['model'])}: {r['block']} samples at {r['sample_rate']:g} Hz, "
                     f"{e(r['mode'])} mode</h3><pre>{e(table(r))}</pre>"
                     + (_png(plot_latency_histograms, r) if any("calls_ns" in s for s in r["engines"].values())
                        else "") + "</section>")
    return "".join(parts)


def write_bench_report(results: list, path, title: str = "tinyrt bench") -> Path:
    """Write a self-contained HTML page for one or more bench results; return its path."""
    path = Path(path)
    machine = html.escape(f"{platform.machine()} {platform.processor() or ''}".strip())
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p>Measured on {machine}. Load is the time a callback took over its budget (block / sample "
            "rate); a deadline miss is a callback that took longer than its budget (paced mode: that ended "
            "after its deadline). Times are taken from Python around each engine's process call; the C "
            "engine's line 'timed in C' is the same model timed inside C, without the Python call.</p>"
            f"{bench_sections(results)}</body></html>")
    write_text(path, page, "report")
    return path
