"""The demo's report: one HTML page (with its PNGs and WAVs beside it), JSON and a text summary."""
from __future__ import annotations

import json
import platform
from pathlib import Path

from ..files import write_text

TEMPLATES = Path(__file__).parent / "templates"

# The Bela guitar-distortion study's ESR-like losses at LSTM-6, one sample per step (real pedals).
STUDY = {"Tube Screamer (overdrive)": 0.045, "RAT (distortion)": 0.119, "Blues Driver": 0.158}


def _row_data(row: dict) -> dict:
    cfg, job, c = row["config"], row["job"], row["c"]
    m = job["metrics"]
    engines = {r.engine: (r.max_abs_error, r.skipped) for r in row["verify"].results}
    return {"name": cfg.name, "cell": cfg.model.cell, "hidden_size": cfg.model.hidden_size,
            "block_size": cfg.model.block_size, "parameters": m["parameters"], "epochs": m["epochs"],
            "best_epoch": m["best_epoch"], "train_time_s": m["train_time_s"], "stopped": m["stopped"],
            "train_seconds_audio": m["train_seconds_audio"],
            "test_esr_torch": m["test"]["esr"], "test_esr_c": c["esr"],
            "test_esr_pre_emphasis_c": c["esr_pre_emphasis"], "test_mse_c": c["mse"], "verdict": c["verdict"],
            "max_abs_c_vs_trained_torch": c["max_abs_vs_trained_torch"],
            "max_abs_vs_reference": {k: v[0] for k, v in engines.items()},
            "not_run": {k: v[1] for k, v in engines.items() if v[1]},
            "verified": row["verify"].passed, "c_ns_per_sample": row["timing"]["ns_per_sample"],
            "c_load_percent_48k_64": row["timing"]["load_percent"], "audio": row.get("audio", {}),
            "curves": f"runs/{cfg.name}/curves.png", "compare": f"{cfg.name}_compare.png",
            "config": f"configs/{cfg.name}.toml", "model": f"runs/{cfg.name}/{cfg.name}.tinyrt"}


def text_table(rows: list) -> str:
    """Return the per-model results as a fixed-width text table."""
    lines = [f"{'model':<22} {'params':>6} {'epochs':>6} {'train s':>7} {'ESR (C)':>8} {'ESR pre':>8} "
             f"{'C ns/smp':>8} {'load@64':>8}  verdict"]
    for r in rows:
        lines.append(f"{r['name']:<22} {r['parameters']:>6} {r['epochs']:>6} {r['train_time_s']:>7.0f} "
                     f"{r['test_esr_c']:>8.4f} {r['test_esr_pre_emphasis_c']:>8.4f} {r['c_ns_per_sample']:>8.0f} "
                     f"{r['c_load_percent_48k_64']:>7.2f}%  {r['verdict']}")
    return "\n".join(lines)


def write_report(out: Path, rows: list, data: dict, written: dict, elapsed: float, quick: bool = False,
                 benches: list = ()) -> str:
    """Write report.html, report.json and report.txt into out; return the text summary."""
    out = Path(out)
    table = [_row_data(r) for r in rows]
    doc = {"seconds": elapsed, "quick": quick, "machine": platform.processor() or platform.machine(),
           "data": {k: v.summary() for k, v in data.items()}, "generated": {k: str(v) for k, v in written.items()},
           "models": table, "bela_study_lstm6": STUDY,
           "bench": [{**b, "engines": {k: {f: x for f, x in v.items() if f != "calls_ns"}
                                       for k, v in b["engines"].items()}}
                     for b in benches]}
    write_text(out / "report.json", json.dumps(doc, indent=1, default=str))
    text = text_table(table)
    write_text(out / "report.txt", text + "\n")
    write_page(out, table, {k: v.summary() for k, v in data.items()}, written.get("latency", 0), elapsed, quick,
               benches)
    return text


def write_page(out: Path, table: list, datasets: dict, latency: int, elapsed: float, quick: bool = False,
               benches: list = ()) -> Path:
    """Write out/report.html from the per-model rows (as in report.json), data summaries and bench results."""
    from ..bench.report import bench_context, machine, render
    models = []
    for r in table:
        worst = max((v for v in r["max_abs_vs_reference"].values() if v is not None), default=float("nan"))
        models.append({**r, "worst": f"{worst:.1e}", "verdict_word": r["verdict"].split(":")[0]})
    page = render("report.html.j2", TEMPLATES, title="tinyrt demo report", latency=latency, machine=machine(),
                  elapsed=elapsed, quick=quick, models=models, study=STUDY,
                  bench=bench_context(list(benches)) if benches else None, datasets=datasets)
    return write_text(Path(out) / "report.html", page)
