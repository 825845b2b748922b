"""Quality benchmark: test ESR of effect models by hidden size and model block size, with training time.

Trains LSTM models of hidden size 4/8/16/32 at model block 1 and 16 on each built-in effect (the
demo's synthesised guitar track and pedals), each with the same time budget, two at a time, and
writes bench-out/quality.json and quality.txt. The Bela guitar-distortion study's LSTM-6 figures
are printed beside them for context (real pedals, so not like-for-like).

It also prints the small-model table: per pedal, the ESR of LSTM-8 at block 1 and LSTM-16 at block
16 over the ESR of LSTM-16 at block 1 (the goal: at most 2x), written as "small_models" in the JSON.

    python benchmarks/quality.py --out bench-out [--minutes 3] [--sizes 4,8,16,32] [--blocks 1,16]
    python benchmarks/quality.py --models 16x1,8x1,16x16      # only the small-model table's models
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from tinyrt.data.example import write_example_data
from tinyrt.demo import EFFECTS, RATE, STUDY, effect_config
from tinyrt.train.parallel import train_many

REFERENCE = (16, 1)                     # LSTM-16 at block 1: the yardstick of the small-model table
SMALL = ((8, 1), (16, 16))              # must reach within GOAL x its ESR in the same budget
GOAL = 2.0


def small_model_table(rows: list) -> dict:
    """Return {effect: {"reference": esr, "LSTM-8 block 1": ratio, ...}} for the effects with every model."""
    esr = {(r["effect"], r["hidden_size"], r["block_size"]): r["test_esr"] for r in rows}
    table = {}
    for effect in dict.fromkeys(r["effect"] for r in rows):
        if all((effect, *m) in esr for m in (REFERENCE, *SMALL)):
            ref = esr[(effect, *REFERENCE)]
            table[effect] = {"reference_esr": ref, **{f"LSTM-{h} block {b}": {
                "esr": esr[(effect, h, b)], "ratio": esr[(effect, h, b)] / max(ref, 1e-12),
                "within_goal": esr[(effect, h, b)] <= GOAL * ref} for h, b in SMALL}}
    return table


def small_model_lines(table: dict) -> list:
    """Return the printed small-model table."""
    if not table:
        return []
    head = f"{'effect':<11} {'LSTM-16 b1':>10}" + "".join(f" {f'LSTM-{h} b{b}':>10} {'ratio':>6}" for h, b in SMALL)
    lines = [f"small models against LSTM-16 at block 1 (goal: ratio <= {GOAL:g})", head]
    for effect, row in table.items():
        cells = "".join(f" {row[f'LSTM-{h} block {b}']['esr']:>10.4f} {row[f'LSTM-{h} block {b}']['ratio']:>5.2f}x"
                        for h, b in SMALL)
        lines.append(f"{effect:<11} {row['reference_esr']:>10.4f}{cells}")
    return lines


def main(argv=None) -> int:
    """Run the benchmark and return 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--minutes", type=float, default=3.0, help="training budget per model")
    ap.add_argument("--sizes", default="4,8,16,32")
    ap.add_argument("--blocks", default="1,16")
    ap.add_argument("--models", help="HIDDENxBLOCK list instead of --sizes x --blocks, e.g. 16x1,8x1,16x16")
    ap.add_argument("--effects", default=",".join(EFFECTS))
    ap.add_argument("--seconds", type=float, default=90.0, help="seconds of synthesised guitar")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--clock", default="cpu", choices=("cpu", "wall"),
                    help="the budget in CPU time of each training (default: fair on a shared machine) or wall time")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = (out / "quality-data").resolve()
    effects = args.effects.split(",")
    written = write_example_data(data, sample_rate=RATE, seconds=args.seconds, effects=tuple(effects),
                                 notes=False, latency=72, seed=0)
    if args.models:
        models = [tuple(int(v) for v in m.split("x")) for m in args.models.split(",")]
    else:
        models = [(int(h), int(b)) for b in args.blocks.split(",") for h in args.sizes.split(",")]
    configs = [effect_config(e, data, h, b, args.minutes) for e in effects for h, b in models]
    for cfg in configs:
        cfg.train.budget_clock = args.clock
    t0 = time.perf_counter()
    runs = train_many(configs, out / "quality-runs", args.workers)
    rows = []
    for cfg, run in zip(configs, runs):
        m = run["metrics"]
        rows.append({"effect": cfg.name.split("_")[0], "cell": cfg.model.cell, "hidden_size": cfg.model.hidden_size,
                     "block_size": cfg.model.block_size, "parameters": m["parameters"], "test_esr": m["test"]["esr"],
                     "test_esr_pre_emphasis": m["test"]["esr_pre_emphasis"], "test_mse": m["test"]["mse"],
                     "epochs": m["epochs"], "best_epoch": m["best_epoch"], "train_time_s": m["train_time_s"],
                     "stopped": m["stopped"], "learning_rate": cfg.train.learning_rate,
                     "lr_schedule": cfg.train.lr_schedule})
    lines = [f"quality: {args.seconds:g} s of synthesised guitar at {RATE} Hz, budget {args.minutes:g} {args.clock} "
             f"min per model, "
             f"{args.workers} trainings at a time, one thread each, {platform.processor() or platform.machine()}",
             f"{'effect':<11} {'model':<8} {'block':>5} {'params':>6} {'ESR':>8} {'ESR pre':>8} {'epochs':>6} "
             f"{'train s':>7}"]
    for r in rows:
        lines.append(f"{r['effect']:<11} LSTM-{r['hidden_size']:<3} {r['block_size']:>5} {r['parameters']:>6} "
                     f"{r['test_esr']:>8.4f} {r['test_esr_pre_emphasis']:>8.4f} {r['epochs']:>6} "
                     f"{r['train_time_s']:>7.0f}")
    small = small_model_table(rows)
    lines += small_model_lines(small)
    lines.append("Bela study, LSTM-6, block 1, real pedals: " + ", ".join(f"{k} {v}" for k, v in STUDY.items()))
    text = "\n".join(lines)
    print(text)
    (out / "quality.txt").write_text(text + "\n")
    (out / "quality.json").write_text(json.dumps({"rows": rows, "small_models": small, "goal_ratio": GOAL,
                                                  "minutes_per_model": args.minutes, "clock": args.clock,
                                                  "seconds_audio": args.seconds,
                                                  "data": {k: str(v) for k, v in written.items()},
                                                  "wall_time_s": round(time.perf_counter() - t0, 1),
                                                  "bela_study_lstm6": STUDY}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
