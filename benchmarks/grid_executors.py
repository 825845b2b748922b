"""The demo's pedals x hidden sizes {8, 16, 32} trained as one grid, on a Ray cluster and on local processes.

Writes the demo's example guitar and its three pedal captures (tinyrt.data.example, as `tinyrt demo`
does), crosses the demo's LSTM configuration with the pedals and the hidden sizes, and trains the nine
trials twice: on Ray (a local instance, or the cluster at --address) and with the process executor
(one process per core). Prints both summary tables and wall times and checks that the tables are the
same. Writes bench-out/grid_executors.txt and .json, and each executor's grid.png.

    python benchmarks/grid_executors.py [--out bench-out] [--seconds 24] [--epochs 5] [--address HOST:PORT]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from tinyrt.data.example import write_example_data  # noqa: E402
from tinyrt.demo.run import EFFECTS, LATENCY, RATE, effect_config  # noqa: E402
from tinyrt.train.executors import executor  # noqa: E402
from tinyrt.train.grid import grid_configs, grid_table, run_grid, write_grid  # noqa: E402

HIDDEN = (8, 16, 32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--seconds", type=float, default=24.0, help="seconds of example guitar (default 24)")
    ap.add_argument("--epochs", type=int, default=5, help="epochs per trial (default 5; no time limit)")
    ap.add_argument("--address", help="a Ray cluster's HOST:PORT (default: a local Ray instance)")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve() / "grid_executors"
    data = out / "data"
    write_example_data(data, sample_rate=RATE, seconds=args.seconds, effects=EFFECTS, notes=False, latency=LATENCY,
                       blips=True, seed=0)
    base = effect_config(EFFECTS[0], data, minutes=0.0)
    base.train.epochs, base.train.max_minutes = args.epochs, 0.0
    configs = grid_configs(base, hidden=HIDDEN, targets=[str(data / "tracks" / f"{e}.wav") for e in EFFECTS])
    results, text = {}, []
    for name, address in (("ray", args.address), ("process", None)):
        pool = executor(name, address)
        try:
            r = run_grid(configs, out / name, pool, log=lambda line: print(line, flush=True))
        finally:
            pool.close()
        write_grid(r, out / name)
        results[name] = r
        text += [f"{name} executor: {len(configs)} trials in {r['wall_seconds']:.1f} s wall"
                 + (f" (cluster {address})" if address else ""), grid_table(r), ""]
    same = grid_table(results["ray"]) == grid_table(results["process"])
    text.append("the two tables are " + ("identical" if same else "DIFFERENT"))
    report = "\n".join(text)
    print(report)
    (Path(args.out) / "grid_executors.txt").write_text(report + "\n")
    (Path(args.out) / "grid_executors.json").write_text(json.dumps(
        {k: {"wall_seconds": v["wall_seconds"], "rows": v["rows"], "failed": v["failed"]} for k, v in results.items()},
        indent=1))
    return 0 if same and not any(r["failed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
