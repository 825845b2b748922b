"""Guitar-technique classifier benchmark: the full pipeline of `tinyrt classify train` on built-in data.

Synthesises --per-class clips of each of the eight techniques (pluck, palm mute, natural harmonic, legato,
slide, thumb kick, finger snare, dead strum) at 16 kHz, trains the log-mel CNN (and a RandomForest and an MLP
on the same features) with augmentation, proves the generated C chain against PyTorch, builds it for
Cortex-M4/M7, and prints the accuracy table; the report lands in --out/classify/.

    python benchmarks/classify.py --out bench-out [--per-class 60] [--epochs 60]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinyrt.train.classify import config_from_dict, train_classifier
from tinyrt.train.classify.pipeline import table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench-out")
    p.add_argument("--per-class", type=int, default=60)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--copies", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    cfg = config_from_dict({"name": "techniques", "data": {"per_class": args.per_class},
                            "augment": {"copies": args.copies},
                            "train": {"epochs": args.epochs, "threads": args.threads}})
    result = train_classifier(cfg, Path(args.out) / "classify")
    print()
    print(table(result.report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
