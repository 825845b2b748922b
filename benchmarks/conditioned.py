"""Conditioned-training benchmark: one LSTM with drive/tone knob inputs for a built-in pedal, ESR per setting.

Trains on the overdrive at a 5 x 3 grid of drive/tone settings (seconds_per_setting of synthetic
guitar each, 48 kHz) with three settings held out (two between grid points, one grid point
removed), within a time budget, and writes bench-out/conditioned.json and conditioned.txt: the ESR
of every trained setting on its test fragments and of every held-out setting on its whole capture.

    python benchmarks/conditioned.py --out bench-out [--minutes 10] [--hidden 16] [--seconds 8]
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from tinyrt.train import config_from_dict, train
from tinyrt.train.trainer import settings_table

GRID = {"drive": [0.1, 0.3, 0.5, 0.7, 0.9], "tone": [0.2, 0.5, 0.8]}
HOLDOUT = [{"drive": 0.4, "tone": 0.35}, {"drive": 0.6, "tone": 0.65}, {"drive": 0.7, "tone": 0.5}]


def config(args) -> dict:
    """Return the training configuration of the benchmark."""
    return {"name": f"{args.effect}_knobs", "sample_rate": 48000, "seed": 0,
            "data": {"builtin": args.effect, "knobs": GRID, "holdout": HOLDOUT,
                     "seconds_per_setting": args.seconds, "fragment_seconds": 1.0},
            "model": {"cell": "lstm", "hidden_size": args.hidden, "skip": True},
            "train": {"epochs": 10_000, "max_minutes": args.minutes, "early_stop": 30, "threads": args.threads}}


def main(argv=None) -> int:
    """Run the benchmark and return 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds of guitar per knob setting")
    ap.add_argument("--effect", default="overdrive")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = train(config_from_dict(config(args)), out / "conditioned-run", log=lambda s: None)
    m = result.metrics
    table = settings_table(m["settings"], list(GRID))
    text = (f"conditioned {args.effect}: LSTM {args.hidden}, inputs [audio, drive, tone], "
            f"{m['epochs']} epochs in {m['train_time_s']} s ({m['stopped']}), {m['parameters']} parameters, "
            f"{platform.machine()}\n"
            f"pooled test ESR {m['test']['esr']:.4f} (pre-emphasised {m['test']['esr_pre_emphasis']:.4f})\n" + table)
    print(text)
    (out / "conditioned.txt").write_text(text + "\n")
    (out / "conditioned.json").write_text(json.dumps({"config": config(args), "metrics": m}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
