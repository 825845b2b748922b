"""Event-triggered classification benchmark: the live host under jackd's dummy driver (64 / 48 kHz).

Three runs of --seconds each, the same effect model (--model, default gru8) in the host, a JACK-Client player looping a
2-second scene of six plucks (low and high) into the host's input:
  plain     the host alone (no classifier);
  events    + the event worker: onset detector in the callback, 100 ms window, RandomForest on mean log-mel;
  baseline  + the same worker fed a 100 ms window every --every-ms regardless of onsets (fixed-window).
Reported: callback mean/worst CPU, load, misses, xruns (JACK's, including the dummy driver's own late
wake-ups), the host process's total CPU (all threads: audio, worker, OSC), and the onset-to-result latency
p50/p99 (the true onset's wall time, derived from the host's frame clock, to the result leaving the worker),
and how many played onsets got the right class (baseline: from the window that contains the onset; its
onsets are placed by the JACK frame clock, which an xrun between the host's start and the player's shifts,
so its latency percentiles, uniform over the window phase, hold but its class count is approximate).
Prints a table and writes bench-out/live_events.json.

    python benchmarks/live_events.py --seconds 60 [--every-ms 100] [--out bench-out]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

from tinyrt.bench.models import effect_model
from tinyrt.rt import live
from tinyrt.rt.events import event_features
from tinyrt.rt.jackd import dummy_server
from tinyrt.rt.live import split_address
from tinyrt.rt.osc import decode, encode

SR, WIN, HOP = 48000, 4800, 128
TIMES, KINDS = [4000, 21000, 37500, 52000, 61000, 80100], [0, 1, 1, 0, 1, 0]


def pluck(freq, amp):
    t = np.arange(WIN)
    return amp * np.sin(2 * np.pi * freq * t / SR) * np.exp(-t / 900.0)


def scene(rng):
    x = rng.standard_normal(2 * SR) * 0.001
    for t, k in zip(TIMES, KINDS):
        x[t:t + WIN] += pluck((300.0 if k == 0 else 3000.0) * rng.uniform(0.9, 1.1), rng.uniform(0.3, 0.7))
    return x.astype(np.float32)


def classifier():
    from sklearn.ensemble import RandomForestClassifier

    from tinyrt.frontends.sklearn import to_ir
    rng = np.random.default_rng(1)
    feats, labels = [], []
    for k in range(40):
        w = pluck((300.0 if k % 2 == 0 else 3000.0) * rng.uniform(0.8, 1.2), rng.uniform(0.2, 0.8))
        feats.append(event_features(w + rng.standard_normal(WIN) * 0.001, SR))
        labels.append(k % 2)
    return to_ir(RandomForestClassifier(n_estimators=32, max_depth=6, random_state=0).fit(np.array(feats), labels))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(kind: str, seconds: float, clf, x, every_ms: float, model: str = "gru8") -> dict:
    import jack
    opts = None if kind == "plain" else ({"every_ms": every_ms} if kind == "baseline" else {})
    with dummy_server(SR, 64) as server:
        cell, hidden = model.rstrip("0123456789"), int(model[len(model.rstrip("0123456789")):])
        host = live([effect_model(np.random.default_rng(0), cell, hidden)], "bench", osc="127.0.0.1:0",
                    jack_server=server, classifier=None if kind == "plain" else clf, event_options=opts)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.1)
        sock.sendto(encode("/subscribe"), split_address(host.ready["osc"]))
        results, st = [], {"pos": 0, "p0": None, "stop": False}

        def receive():
            while not st["stop"]:
                try:
                    path, v = decode(sock.recv(4096))
                except OSError:
                    continue
                if path == "/classification":
                    results.append(v)
        threading.Thread(target=receive, daemon=True).start()
        player = jack.Client("bench-player", servername=server, no_start_server=True)
        out = player.outports.register("out")

        @player.set_process_callback
        def _play(frames):
            if st["p0"] is None:
                st["p0"] = player.last_frame_time
            p = st["pos"] % len(x)
            chunk = np.concatenate([x[p:], x[:frames]])[:frames] if p + frames > len(x) else x[p:p + frames]
            out.get_array()[:] = chunk
            st["pos"] += frames
        try:
            time.sleep(0.3)
            c0 = cpu_seconds(host.process.pid)
            player.activate()
            player.connect(out, f"{host.client_name}:in")
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                time.sleep(min(5.0, seconds - (time.monotonic() - t0)))
                print(f"  {kind}: {time.monotonic() - t0:5.1f} s, {len(results)} results", file=sys.stderr,
                      flush=True)
            player.deactivate()
            time.sleep(0.3)
            s = host.stats()
            cpu = cpu_seconds(host.process.pid) - c0
            wall = time.monotonic() - t0
        finally:
            st["stop"] = True
            player.close()
            host.stop()
            sock.close()
    r = {"kind": kind, "seconds": seconds, **s, "process_cpu_percent": 100 * cpu / wall, "results": len(results),
         "mean_cpu_us": s["load_mean"] * 64 / SR * 1e6}
    if kind == "plain" or not results:
        return r
    # true onsets in the host's sample count: player sample k is host sample p0 + k - first_frame
    # (JACK frame times skip over xruns while both clients' sample counts do not: the frame-clock offset is off
    # by the frames of any xrun between the host's start and the player's; the event run anchors on its first
    # onset instead, which is exact)
    offset = st["p0"] - s["first_frame"]
    if kind == "events":
        offset = min(v[2] for v in results) - TIMES[0]
    n_loops = st["pos"] // len(x) + 1
    truth = np.array([offset + n * len(x) + t for n in range(n_loops) for t in TIMES])
    lat, correct = [], 0
    res = sorted(results, key=lambda v: v[2])
    starts = np.array([v[2] for v in res])
    for n_o, o in enumerate(truth):
        i = np.searchsorted(starts, o, side="right") - 1
        if kind == "events":  # the event whose onset is within a hop of the truth
            j = np.argmin(np.abs(starts - o))
            if abs(starts[j] - o) > 2 * HOP:  # detected on the hop grid: within a hop, and so is the anchor
                continue
            i = j
        elif i < 0 or not res[i][2] <= o < res[i][2] + WIN:  # baseline: the window holding the onset
            continue
        v = res[i]
        onset_wall = v[3] - (v[2] + HOP - o) / SR  # t_detect is when the hop starting at v[2] ended
        lat.append(1e3 * (v[5] - onset_wall))
        correct += int(v[0]) == KINDS[n_o % len(TIMES)]
    lat = np.array(lat)
    r["onsets"] = [[int(v[0]), int(v[2])] for v in res[:40]]  # (class, onset sample) of the first results
    r["offset"] = int(offset)
    r.update(latency_p50_ms=float(np.percentile(lat, 50)) if len(lat) else None,
             latency_p99_ms=float(np.percentile(lat, 99)) if len(lat) else None,
             onsets_played=int(sum(1 for o in truth if o + WIN < offset + st["pos"])), onsets_classified=len(lat),
             onsets_correct=correct,
             worker_ms_p50=float(np.percentile([1e3 * (v[5] - v[4]) for v in res], 50)))
    return r


def _num(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--every-ms", type=float, default=100.0)
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--model", default="gru8", help="the effect in the host: cell and hidden size (gru8, lstm16)")
    args = ap.parse_args(argv)
    clf, x = classifier(), scene(np.random.default_rng(3))
    rows = [run(k, args.seconds, clf, x, args.every_ms, args.model) for k in ("plain", "events", "baseline")]
    print(f"live host + event classifier under jackd -d dummy -r {SR} -p 64 (budget 1333 us), {args.seconds:g} s")
    print(f"{'run':<10}{'callbacks':>10}{'mean cpu us':>12}{'worst cpu us':>13}{'load':>8}{'worst':>8}{'misses':>7}"
          f"{'xruns':>6}{'proc cpu':>9}{'results':>8}{'lat p50 ms':>11}{'lat p99 ms':>11}{'worker ms':>10}"
          f"{'correct':>12}")
    for r in rows:
        print(f"{r['kind']:<10}{r['callbacks']:>10.0f}{r['mean_cpu_us']:>12.2f}{r['worst_cpu_us']:>13.1f}"
              f"{100 * r['load_mean']:>7.2f}%{100 * r['load_worst']:>7.1f}%{r['misses']:>7.0f}{r['xruns']:>6.0f}"
              f"{r['process_cpu_percent']:>8.1f}%{r['results']:>8}{_num(r.get('latency_p50_ms')):>11}"
              f"{_num(r.get('latency_p99_ms')):>11}"
              f"{_num(r.get('worker_ms_p50'), 2):>10}"
              f"{r.get('onsets_correct', '-'):>7}/{r.get('onsets_played', '-'):<4}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "live_events.json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {out / 'live_events.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
