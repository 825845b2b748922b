"""Quality benchmark: test ESR of effect models by hidden size and model block size, with training time.

Trains LSTM models of hidden size 4/8/16/32 at model block 1 and 16 on each built-in effect (the
demo's synthesised guitar track and pedals), each with the same time budget, two at a time, and
writes bench-out/quality.json and quality.txt. The Bela guitar-distortion study's LSTM-6 figures
are printed beside them for context (real pedals, so not like-for-like).

    python benchmarks/quality.py --out bench-out [--minutes 3] [--sizes 4,8,16,32] [--blocks 1,16]
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


def main(argv=None) -> int:
    """Run the benchmark and return 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--minutes", type=float, default=3.0, help="training budget per model")
    ap.add_argument("--sizes", default="4,8,16,32")
    ap.add_argument("--blocks", default="1,16")
    ap.add_argument("--effects", default=",".join(EFFECTS))
    ap.add_argument("--seconds", type=float, default=90.0, help="seconds of synthesised guitar")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = (out / "quality-data").resolve()
    written = write_example_data(data, sample_rate=RATE, seconds=args.seconds, effects=tuple(args.effects.split(",")),
                                 notes=False, latency=72, seed=0)
    configs = [effect_config(e, data, int(h), int(b), args.minutes)
               for e in args.effects.split(",") for b in args.blocks.split(",") for h in args.sizes.split(",")]
    t0 = time.perf_counter()
    runs = train_many(configs, out / "quality-runs", args.workers)
    rows = []
    for cfg, run in zip(configs, runs):
        m = run["metrics"]
        rows.append({"effect": cfg.name.split("_")[0], "cell": cfg.model.cell, "hidden_size": cfg.model.hidden_size,
                     "block_size": cfg.model.block_size, "parameters": m["parameters"], "test_esr": m["test"]["esr"],
                     "test_esr_pre_emphasis": m["test"]["esr_pre_emphasis"], "test_mse": m["test"]["mse"],
                     "epochs": m["epochs"], "best_epoch": m["best_epoch"], "train_time_s": m["train_time_s"],
                     "stopped": m["stopped"]})
    lines = [f"quality: {args.seconds:g} s of synthesised guitar at {RATE} Hz, budget {args.minutes:g} min per model, "
             f"{args.workers} trainings at a time, one thread each, {platform.processor() or platform.machine()}",
             f"{'effect':<11} {'model':<8} {'block':>5} {'params':>6} {'ESR':>8} {'ESR pre':>8} {'epochs':>6} "
             f"{'train s':>7}"]
    for r in rows:
        lines.append(f"{r['effect']:<11} LSTM-{r['hidden_size']:<3} {r['block_size']:>5} {r['parameters']:>6} "
                     f"{r['test_esr']:>8.4f} {r['test_esr_pre_emphasis']:>8.4f} {r['epochs']:>6} "
                     f"{r['train_time_s']:>7.0f}")
    lines.append("Bela study, LSTM-6, block 1, real pedals: " + ", ".join(f"{k} {v}" for k, v in STUDY.items()))
    text = "\n".join(lines)
    print(text)
    (out / "quality.txt").write_text(text + "\n")
    (out / "quality.json").write_text(json.dumps({"rows": rows, "minutes_per_model": args.minutes,
                                                  "seconds_audio": args.seconds,
                                                  "data": {k: str(v) for k, v in written.items()},
                                                  "wall_time_s": round(time.perf_counter() - t0, 1),
                                                  "bela_study_lstm6": STUDY}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
