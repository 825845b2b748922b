"""The demo's report: one HTML page (with its PNGs and WAVs beside it), JSON and a text summary."""
from __future__ import annotations

import html
import json
import platform
from pathlib import Path

from ..files import write_text

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


def _audio(src: str) -> str:
    return f'<audio controls preload="none" src="{html.escape(src)}"></audio>'


def _bench_part(benches: list, sections) -> str:
    if not benches:
        return ""
    return ("<h2>Real-time benchmark</h2><p>Each trained model run on the held-out test audio in 64-sample "
            "callbacks at 48 kHz on every engine, back to back after 10 untimed calls (TorchScript optimises itself "
            "during its first calls), timed per callback from Python (the C engine also timed inside C); accuracy "
            "is each engine's output against the float64 reference and against the pedal's real "
            "output over the continuous test audio (no warm-up left out). The same page on its own: "
            '<a href="bench.html">bench.html</a>.</p>' + sections(benches))


def write_report(out: Path, rows: list, data: dict, written: dict, elapsed: float, quick: bool = False,
                 benches: list = ()) -> str:
    """Write report.html, report.json and report.txt into out; return the text summary."""
    from ..bench.report import bench_sections
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
    e = html.escape
    head = "".join(f"<th>{h}</th>" for h in ("model", "cell", "hidden", "block", "params", "epochs", "train time",
                                             "test ESR (C engine)", "ESR pre-emph.", "MSE", "verdict",
                                             "C vs reference", "C vs trained PyTorch", "C ns/sample",
                                             "load at 48 kHz / 64"))
    body = []
    for r in table:
        worst = max((v for v in r["max_abs_vs_reference"].values() if v is not None), default=float("nan"))
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in (
            e(r["name"]), r["cell"].upper(), r["hidden_size"], r["block_size"], r["parameters"], r["epochs"],
            f"{r['train_time_s']:.0f} s", f"<b>{r['test_esr_c']:.4f}</b>", f"{r['test_esr_pre_emphasis_c']:.4f}",
            f"{r['test_mse_c']:.2e}", e(r["verdict"]), f"{worst:.1e} {'ok' if r['verified'] else 'FAILED'}",
            f"{r['max_abs_c_vs_trained_torch']:.1e}",
            f"{r['c_ns_per_sample']:.0f}", f"{r['c_load_percent_48k_64']:.2f} %")) + "</tr>")
    sections = []
    for r in table:
        players = "".join(f"<figure><figcaption>{k.replace('_', ' ')}</figcaption>{_audio(v)}</figure>"
                          for k, v in r["audio"].items())
        sections.append(f"""<section><h3>{e(r['name'])}</h3>
<p>{r['cell'].upper()}-{r['hidden_size']}, {r['block_size']} sample(s) per step, {r['parameters']} parameters;
trained {r['epochs']} epochs on {r['train_seconds_audio']:.0f} s of audio in {r['train_time_s']:.0f} s
(best epoch {r['best_epoch']}, stopped: {e(r['stopped'])}). Test ESR {r['test_esr_c']:.4f} on the C engine,
{r['test_esr_torch']:.4f} in PyTorch (largest sample difference between the two:
{r['max_abs_c_vs_trained_torch']:.1e}). Files: <a href="{e(r['config'])}">config</a>,
<a href="{e(r['model'])}">model</a>.</p>
<div class="row"><img src="{e(r['curves'])}" alt="training curves">
<img src="{e(r['compare'])}" alt="waveform and spectrum"></div>
<div class="row">{players}</div></section>""")
    datasets = "".join(f"<h4>{e(k)}</h4><pre>{e(v.summary())}</pre>" for k, v in data.items())
    study = "".join(f"<li>{e(k)}: {v}</li>" for k, v in STUDY.items())
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tinyrt demo report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
th{{background:#f2f2f2}}td:first-child{{text-align:left}}img{{max-width:49%;height:auto}}
.row{{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}}figure{{margin:0}}
pre{{background:#f7f7f7;padding:.5em}}
section{{border-top:1px solid #ddd;margin-top:1.5em}}</style></head><body>
<h1>tinyrt demo: guitar pedals from recordings to real-time C</h1>
<p>Built-in data only: a synthesised guitar track processed by tinyrt's overdrive, distortion and fuzz
(captured with a {written.get('latency', 0)}-sample latency that the data pipeline found and removed); one model per
pedal trained
in PyTorch, imported into the tinyrt IR, exported to C and proven against the reference. Measured on
{e(doc['machine'])} in {elapsed:.0f} s{' (quick run: tiny budgets, numbers not representative)' if quick else ''}.
ESR is the error-to-signal ratio on held-out test audio (regions of the track never trained on),
without pre-emphasis, after a 1000-sample warm-up; load is the C engine's share of a 64-sample
callback at 48 kHz (1.33 ms).</p>
<h2>Results</h2><table><tr>{head}</tr>{''.join(body)}</table>
<p>For context, the Bela guitar-distortion study reached these ESR-like losses with LSTM-6 on recordings of
real pedals (not the same data, so not a like-for-like comparison):</p><ul>{study}</ul>
<h2>Models</h2>{''.join(sections)}
{_bench_part(benches, bench_sections)}
<h2>Data</h2>{datasets}
</body></html>"""
    write_text(out / "report.html", page)
    return text
