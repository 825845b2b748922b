"""LV2 benchmark: what the plugin wrapper and processor cost over the bare C engine, LSTM-16 at 48 kHz.

The same LSTM-16 effect model (tinyrt.bench.models.effect_model, untrained) runs over the same
seconds of audio as
- the bare C engine in 64-sample calls (tinyrt.backends.c.harness.time: its own C timer),
- the LV2 plugin (tinyrt deploy lv2) in 64-sample run() calls from a small C host that dlopens the
  bundle's .so and times each run() (the plugin's CPU load at a 64-sample host block),
- the LV2 plugin in ``lv2apply`` (lilv), timed from outside: lv2apply calls run() on ONE sample at a
  time and reads and writes the WAV files frame by frame, so this is plugin + host cost at 1-sample
  blocks, not the plugin's load at 64.
Load = processing time / audio time. Prints a table; writes bench-out/lv2.json.

    python benchmarks/lv2.py [--out bench-out] [--seconds 60] [--hidden 16]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyrt.audio.io import write_wav
from tinyrt.backends.c import harness as H
from tinyrt.bench.models import effect_model
from tinyrt.c.build import build
from tinyrt.deploy.lv2 import write_bundle

RATE = 48000
BLOCK = 64

HOST = r"""/* lv2_time.c - time an LV2 plugin's run() in BLOCK-sample calls (argv: .so uri frames block n_params). */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <lv2/core/lv2.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    void *lib;
    const LV2_Descriptor *(*get)(uint32_t);
    const LV2_Descriptor *d;
    LV2_Handle h;
    float controls[64] = {0}, latency = 0, *audio;
    long frames, i, calls = 0;
    int block, p;
    double total = 0, worst = 0, t0, dt;
    if (argc != 6)
        return 2;
    frames = atol(argv[3]);
    block = atoi(argv[4]);
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    *(void **)(&get) = dlsym(lib, "lv2_descriptor");
    d = get(0);
    h = d->instantiate(d, 48000.0, argv[2], 0);
    if (!h) { fprintf(stderr, "instantiate failed\n"); return 1; }
    audio = malloc(sizeof(float) * (size_t)frames);
    for (i = 0; i < frames; i++)
        audio[i] = 0.5f * sinf(0.01f * (float)i) + 0.1f * (float)((i * 7919) % 1000) / 1000.0f;
    for (p = 0; p < atoi(argv[5]); p++)
        d->connect_port(h, (uint32_t)(2 + p), &controls[p]);
    d->connect_port(h, (uint32_t)(2 + atoi(argv[5])), &latency);
    d->activate(h);
    for (i = 0; i + block <= frames; i += block) {
        d->connect_port(h, 0, audio + i);
        d->connect_port(h, 1, audio + i);
        t0 = now_ns();
        d->run(h, (uint32_t)block);
        dt = now_ns() - t0;
        total += dt;
        if (dt > worst) worst = dt;
        calls++;
    }
    printf("{\"calls\": %ld, \"total_ns\": %.0f, \"mean_ns\": %.1f, \"max_ns\": %.0f, \"out\": %g}\n",
           calls, total, total / (double)calls, worst, (double)audio[frames - 1]);
    d->cleanup(h);
    free(audio);
    return 0;
}
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--hidden", type=int, default=16)
    args = ap.parse_args(argv)
    frames = int(args.seconds * RATE)
    model = effect_model(np.random.default_rng(0), "lstm", args.hidden)
    work = Path(tempfile.mkdtemp(prefix="tinyrt-lv2-bench-"))
    bundle, uri, code = write_bundle([model], work, name="bench")

    engine = H.time(model, frames, BLOCK, reps=3)
    engine_s = min(engine["pass_ns"]) / 1e9

    host = build({"lv2_time.c": HOST}, "lv2_time", kind="executable", extra_flags=["-D_GNU_SOURCE"])
    runs = [json.loads(subprocess.run([str(host), str(bundle / "bench.so"), uri, str(frames), str(BLOCK),
                                       str(len(code.params))], capture_output=True, text=True, check=True).stdout)
            for _ in range(3)]
    plugin = min(runs, key=lambda r: r["total_ns"])
    plugin_s = plugin["total_ns"] / 1e9

    audio = (0.5 * np.sin(0.01 * np.arange(frames))).astype(np.float32)
    write_wav(work / "in.wav", audio, RATE)
    env = {**os.environ, "LV2_PATH": str(work.resolve())}
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(["lv2apply", "-i", str(work / "in.wav"), "-o", str(work / "out.wav"), uri], env=env,
                       check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    lv2apply_s = min(times)

    rows = [("C engine, 64-sample calls (harness)", engine_s, engine["call_ns"]["max"]),
            ("LV2 plugin run(), 64-sample calls (C host)", plugin_s, plugin["max_ns"]),
            ("LV2 plugin in lv2apply (1-sample run(), WAV I/O)", lv2apply_s, None)]
    print(f"lstm{args.hidden}, {args.seconds:g} s of audio at {RATE} Hz")
    print(f"{'':<52}{'seconds':>10}{'load':>9}{'x engine':>10}{'worst call':>14}")
    result = {"model": f"lstm{args.hidden}", "seconds": args.seconds, "rate": RATE, "block": BLOCK, "rows": []}
    for label, seconds, worst in rows:
        load = seconds / args.seconds
        worst_text = f"{worst / 1e3:.1f} us" if worst is not None else "-"
        print(f"{label:<52}{seconds:>10.3f}{100 * load:>8.2f}%{seconds / engine_s:>10.2f}{worst_text:>14}")
        result["rows"].append({"what": label, "seconds": seconds, "load": load, "ratio_to_engine": seconds / engine_s,
                               "worst_call_ns": worst})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lv2.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {out / 'lv2.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
