"""`report.html` for benchmarks: tables, latency histograms with the deadline, engine comparison.

The pages are rendered from Jinja2 templates (``templates/`` beside this file; the demo report adds
its own folder). A page is one self-contained file (the charts are embedded PNGs), so it can be
copied or attached as it is; wide tables sit in horizontally scrollable boxes, plots span the page.
"""
from __future__ import annotations

import base64
import platform
import tempfile
from pathlib import Path

from ..files import write_text
from .memory import engine_rss_increment
from .plots import plot_engine_comparison, plot_latency_histograms

TEMPLATES = Path(__file__).parent / "templates"


def environment(*folders):
    """Return a Jinja2 environment (autoescaped HTML) reading templates from folders, then this package's."""
    import jinja2
    return jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in (*folders, TEMPLATES)]),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def render(template: str, *folders, **context) -> str:
    """Return the HTML of a template with context."""
    return environment(*folders).get_template(template).render(**context)


def machine() -> str:
    """Return a short description of this machine for the pages."""
    return f"{platform.machine()} {platform.processor() or ''}".strip()


def png_data(plot, *args) -> str:
    """Return a data: URL of the PNG that plot(*args, path) writes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = plot(*args, Path(tmp) / "figure.png")
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _engine_row(name: str, s: dict, block: int) -> list:
    if "not_run" in s:
        return [{"name": name, "not_run": s["not_run"]}]
    us = [f"{s[k] / 1000:.1f}" for k in ("mean_ns", "median_ns", "p99_ns", "max_ns", "jitter_ns")]
    rss = engine_rss_increment(s.get("memory", {}))
    rows = [{"name": name, "not_run": None,
             "cells": [*us, f"{s['ns_per_sample']:.0f}", f"{100 * s['load_mean']:.1f} %",
                       f"{100 * s['load_worst']:.1f} %", s["deadline_misses"], f"{s['first_call_ns'] / 1000:.1f}",
                       f"{rss / 2**20:.1f} MB"]}]
    if "native" in s:
        n = s["native"]
        rows.append({"name": f"{name}, timed in C", "not_run": None,
                     "cells": [*(f"{n[k] / 1000:.1f}" for k in ("mean_ns", "median_ns", "p99_ns", "max_ns")), "",
                               f"{n['mean_ns'] / block:.0f}", f"{100 * n['load_mean']:.1f} %",
                               f"{100 * n['load_worst']:.1f} %", "", "", ""]})
    return rows


def _accuracy(r: dict) -> tuple:
    rows = {name: s["accuracy"] for name, s in r["engines"].items() if "accuracy" in s}
    first = next(iter(rows.values()), None)
    if first is None:
        return [], []
    head = ["engine", "max abs vs reference", "ESR vs reference"]
    if "vs_target" in first:
        head += ["ESR vs target", "MSE vs target", "max abs vs target"]
    if "classes" in first:
        head += ["accuracy", "F1 macro", "agreement with reference"]
    body = []
    for name, a in rows.items():
        row = [name, f"{a['vs_reference']['max_abs']:.2e}", f"{a['vs_reference']['esr']:.2e}"]
        if "vs_target" in a:
            t = a["vs_target"]
            row += [f"{t['esr']:.4f}", f"{t['mse']:.3e}", f"{t['max_abs']:.3f}"]
        if "classes" in a:
            c = a["classes"]
            row += [f"{c['accuracy']:.4f}", f"{c['f1_macro']:.4f}", f"{c['agreement_with_reference']:.4f}"]
        body.append(row)
    return head, body


def bench_context(results: list) -> dict:
    """Return the template context of benchmark results (tables as cells, charts as data: URLs)."""
    out = []
    for r in results:
        st = r["static"]
        summary = (f"{r['seconds']:g} s of {r['input']}"
                   + (f", after {r['warmup_calls']} untimed calls" if r.get("warmup_calls") else "")
                   + f"; budget {r['block'] / r['sample_rate'] * 1e6:.1f} µs per callback; weights "
                   f"{st['weight_bytes']} B, state {st['state_bytes']} B"
                   + ("; C object: {text} B code, {rodata} B constants, {data} B data, {bss} B bss".format(
                       **st["c_object"]) if "c_object" in st else ""))
        head, body = _accuracy(r)
        out.append({"model": r["model"], "block": r["block"], "rate": f"{r['sample_rate']:g}", "mode": r["mode"],
                    "summary": summary,
                    "engines": [row for name, s in r["engines"].items() for row in _engine_row(name, s, r["block"])],
                    "accuracy_head": head, "accuracy": body,
                    "histograms": (png_data(plot_latency_histograms, r)
                                   if any("calls_ns" in s for s in r["engines"].values()) else "")})
    return {"results": out, "comparison": png_data(plot_engine_comparison, results) if results else ""}


def bench_sections(results: list) -> str:
    """Return the HTML body of benchmark results: comparison chart, then per model tables and histograms."""
    return render("bench_sections.html.j2", **bench_context(results))


def write_bench_report(results: list, path, title: str = "tinyrt bench") -> Path:
    """Write a self-contained HTML page for one or more bench results; return its path."""
    path = Path(path)
    write_text(path, render("bench.html.j2", title=title, machine=machine(), **bench_context(results)), "report")
    return path
