"""Live benchmark: the live host under a real JACK server (dummy driver) at 64 samples / 48 kHz, per model.

Each model runs alone in the host (built -O2, the tested default) for --seconds; its input is connected
to the dummy driver's capture port. Reported from the host's /stats: mean and worst callback (wall and
thread CPU time), mean and worst load (CPU time over the 1.33 ms period), deadline misses (CPU time over
the period), interference (wall time over the period, CPU time not), JACK xruns and JACK's DSP load.
Prints a table and writes bench-out/live.json. JACK's xrun count includes the dummy driver's own: its
timer counts an xrun whenever it wakes a few microseconds late (jackd logs "JackTimedDriver::Process XRun
= 2 usec"), which on a shared virtual machine happens with no client at all; misses and interference are
the host's own measure of its callbacks.

    python benchmarks/live.py --seconds 60 --models lstm16,gru16,lstm32 [--out bench-out]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from tinyrt.bench.models import effect_model
from tinyrt.rt import live
from tinyrt.rt.jackd import dummy_server


def run_one(spec: str, seconds: float, rate: int, period: int) -> dict:
    """Run one model (cell + hidden size, optionally b + model block: lstm16, lstm16b16) live; return its stats."""
    shape, _, block = spec.partition("b")
    cell, hidden = shape.rstrip("0123456789"), int(shape[len(shape.rstrip("0123456789")):])
    model = effect_model(np.random.default_rng(0), cell, hidden, block_size=int(block or 1))
    model.name = spec
    with dummy_server(rate, period) as server:
        host = live([model], "bench", osc="127.0.0.1:0", jack_server=server, connect=True)
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                time.sleep(min(5.0, seconds - (time.monotonic() - t0)))
                s = host.stats()
                print(f"  {spec}: {time.monotonic() - t0:5.1f} s, {s['callbacks']:.0f} callbacks, "
                      f"load {100 * s['load_mean']:.2f}%", file=sys.stderr, flush=True)
            s = host.stats()
            s["realtime"] = host.realtime
        finally:
            host.stop()
    budget_us = period / rate * 1e6
    return {"model": spec, "seconds": seconds, "rate": rate, "period": period, "budget_us": budget_us, **s,
            "mean_cpu_us": s["load_mean"] * budget_us}


def table(results: list) -> str:
    """Return the results as a text table."""
    head = (f"{'model':<10}{'callbacks':>10}{'mean cpu us':>13}{'worst cpu us':>14}{'worst wall us':>15}"
            f"{'load mean':>11}{'load worst':>12}{'misses':>8}{'interf.':>9}{'xruns':>7}{'dsp load':>10}")
    rows = [head]
    for r in results:
        rows.append(f"{r['model']:<10}{r['callbacks']:>10.0f}{r['mean_cpu_us']:>13.2f}{r['worst_cpu_us']:>14.1f}"
                    f"{r['worst_wall_us']:>15.1f}{100 * r['load_mean']:>10.2f}%{100 * r['load_worst']:>11.1f}%"
                    f"{r['misses']:>8.0f}{r['interference']:>9.0f}{r['xruns']:>7.0f}{r['dsp_load']:>9.1f}%")
    return "\n".join(rows)


def main(argv=None) -> int:
    """Run the benchmark and write live.json into --out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--models", default="lstm16,gru16,lstm32")
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--period", type=int, default=64)
    ap.add_argument("--out", default="bench-out")
    args = ap.parse_args(argv)
    results = [run_one(spec, args.seconds, args.rate, args.period) for spec in args.models.split(",")]
    print(f"live host under jackd -d dummy -r {args.rate} -p {args.period} "
          f"(budget {args.period / args.rate * 1e6:.0f} us per callback); {results[0]['realtime']}")
    print(table(results))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "live.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'live.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
