"""WaveNet benchmark: ns per sample of the C engine on NAM's trainer presets, beside NeuralAmpModelerCore.

The "standard", "lite", "feather" and "nano" WaveNets of neural-amp-modeler's trainer (random weights),
2 s of audio at 48 kHz in host blocks of 64 samples. The C engine (native profile: -O3 -march=native)
is timed from C by tinyrt's harness, with precise and fast activations (and with ``--frame`` the
frame-by-frame engine, block=False, for comparison). With ``--nam-core PATH`` (NeuralAmpModelerCore's ``benchmodel``
binary) the same models, written as .nam files, are timed by NAM Core in the same run, interleaved
with the C engine's runs, with its fast tanh (its default) and with exact tanh (``--no-fast-tanh``)
when the binary has that switch. Each engine runs ``--reps`` times; the table gives the min and the
median, and the C engine's time over NAM Core's (the median of the ratios within each rep, which
cancels most of the load of a shared machine, and the ratios of minimums and medians). ``--cpu N``
pins every run to CPU N with taskset.

    python benchmarks/wavenet.py --out bench-out [--nam-core PATH/benchmodel] [--cpu 1] [--reps 7] [--frame]
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from tinyrt.backends.c import harness
from tinyrt.c.build import compiler, compiler_version, flags_for
from tinyrt.frontends.wavenet import preset_arrays, wavenet_model

RATE = 48000
BLOCK = 64
FRAMES = (RATE // BLOCK) * 2 * BLOCK  # what NAM Core's benchmodel processes: 1500 buffers of 64 samples
C_VARIANTS = {"c": {"activations": "precise"}, "c-fast": {"activations": "fast"}}
FRAME_VARIANT = {"c-frame": {"activations": "precise", "block": False}}  # with --frame
PRESETS = ("standard", "lite", "feather", "nano")


def nam_document(arrays, head_scale: float) -> dict:
    """Return a WaveNet as NAM's .nam JSON (file version 0.5.0; weights in the order NAM exports them)."""
    weights: list = []
    layers = []
    for arr in arrays:
        weights += arr.rechannel.ravel().tolist()
        for j in range(len(arr.dilations)):
            for w in (arr.conv_weights[j], arr.conv_biases[j], arr.mixins[j], arr.one_by_one_weights[j],
                      arr.one_by_one_biases[j]):
                weights += np.asarray(w, dtype=np.float32).ravel().tolist()
        weights += arr.head_weight.ravel().tolist()
        if arr.head_bias is not None:
            weights += arr.head_bias.ravel().tolist()
        layers.append({"input_size": arr.input_size, "condition_size": arr.condition_size,
                       "head_size": arr.head_size, "channels": arr.channels, "kernel_size": arr.kernel_size,
                       "dilations": [int(d) for d in arr.dilations], "activation": "Tanh", "gated": arr.gated,
                       "head_bias": arr.head_bias is not None})
    weights.append(float(head_scale))
    return {"version": "0.5.0", "architecture": "WaveNet", "sample_rate": RATE,
            "config": {"layers": layers, "head": None, "head_scale": float(head_scale)},
            "weights": weights, "metadata": {"name": "tinyrt benchmark"}}


def _pin(cpu) -> list:
    return ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []


def time_c(exe: Path, cpu) -> float:
    """Return ns per sample of one pass of the C harness over FRAMES frames in calls of BLOCK."""
    out = subprocess.run([*_pin(cpu), str(exe), "time", str(FRAMES), str(BLOCK), "1"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["pass_ns"][0] / FRAMES


def time_nam(binary: str, nam_path: Path, cpu, exact: bool) -> float:
    """Return ns per sample of one NAM Core benchmodel run (it times 1500 buffers of 64 samples itself)."""
    cmd = [*_pin(cpu), binary, *(["--no-fast-tanh"] if exact else []), str(nam_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    ms = re.findall(r"^([0-9.]+)ms$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not ms:
        raise SystemExit(f"wavenet.py: {binary} failed on {nam_path}: {(proc.stderr or proc.stdout).strip()[:300]}")
    if exact and "Fast tanh: disabled" not in proc.stdout:
        raise ValueError("no exact-tanh switch")
    return float(ms[-1]) * 1e6 / FRAMES


def check_nam(arrays, head_scale, model) -> float | None:
    """Return the max abs difference between neural-amp-modeler's PyTorch WaveNet built from the .nam JSON and
    tinyrt's reference on noise, or None when the nam package is not installed.

    Compared where both have seen only real input: NAM without its start padding gives the outputs from
    its receptive field on (at the start it runs on padded zeros while tinyrt starts every layer's history
    at zero, so the first receptive field of outputs differs between them by design)."""
    try:
        import torch
        from nam.models.wavenet import WaveNet
    except ImportError:
        return None
    doc = nam_document(arrays, head_scale)
    net = WaveNet(doc["config"]["layers"], head_config=None, head_scale=head_scale)
    net.import_weights(torch.tensor(doc["weights"]))
    x = np.random.default_rng(9).uniform(-0.5, 0.5, 12000).astype(np.float32)
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)[None], pad_start=False)[0].numpy().astype(np.float64)
    ours = model.reference().process(x[:, None])[:, 0]
    return float(np.abs(theirs - ours[len(ours) - len(theirs):]).max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--nam-core", default=None, help="NeuralAmpModelerCore's benchmodel binary")
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--cpu", type=int, default=None, help="pin every run to this CPU (taskset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frame", action="store_true", help="also time the frame-by-frame C engine (slow)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    presets = [p for p in args.presets.split(",") if p]
    runs: dict = {}     # (preset, engine) -> [ns per sample]
    jobs: list = []     # (preset, engine, callable)
    checks: dict = {}
    for preset in presets:
        arrays, scale = preset_arrays(preset, np.random.default_rng(args.seed))
        model = wavenet_model(arrays, scale, name=f"wavenet_{preset}", sample_rate=RATE)
        for engine, options in {**C_VARIANTS, **(FRAME_VARIANT if args.frame else {})}.items():
            exe = harness.harness(model, profile="native", **options)
            jobs.append((preset, engine, lambda exe=exe: time_c(exe, args.cpu)))
        if args.nam_core:
            nam_path = out / f"wavenet_{preset}.nam"
            nam_path.write_text(json.dumps(nam_document(arrays, scale)))
            jobs.append((preset, "nam-core", lambda p=nam_path: time_nam(args.nam_core, p, args.cpu, False)))
            try:
                time_nam(args.nam_core, nam_path, args.cpu, True)
                jobs.append((preset, "nam-core-exact", lambda p=nam_path: time_nam(args.nam_core, p, args.cpu, True)))
            except ValueError:
                pass
            checks[preset] = check_nam(arrays, scale, model)
    for rep in range(args.reps):  # interleaved: every engine sees the same load of a shared machine
        for preset, engine, run in jobs:
            runs.setdefault((preset, engine), []).append(run())
        print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr)
    rows = []
    for (preset, engine), ns in runs.items():
        rows.append({"preset": preset, "engine": engine, "ns_per_sample_min": min(ns),
                     "ns_per_sample_median": statistics.median(ns), "ns_per_sample": ns,
                     "realtime_factor_median": statistics.median(ns) * RATE * 1e-9})
    by = {(r["preset"], r["engine"]): r for r in rows}
    engines = list(dict.fromkeys(r["engine"] for r in rows))
    print(f"WaveNet, 48 kHz, blocks of {BLOCK}: ns/sample min / median over {args.reps} runs"
          + (f" (CPU {args.cpu})" if args.cpu is not None else ""))
    print(f"{'preset':10s}" + "".join(f"{e:>22s}" for e in engines))
    for preset in presets:
        cells = [by.get((preset, e)) for e in engines]
        print(f"{preset:10s}" + "".join(f"{c['ns_per_sample_min']:10.1f} / {c['ns_per_sample_median']:7.1f}   "
                                        if c else f"{'-':>22s}" for c in cells))
    ratios = {}
    if args.nam_core:
        for preset in presets:
            ours, theirs = runs[(preset, "c")], runs[(preset, "nam-core")]
            # each rep times both engines a few seconds apart: the ratio within a rep cancels most of the
            # load other programs put on a shared machine
            paired = statistics.median(a / b for a, b in zip(ours, theirs))
            ratios[preset] = {"paired_median": paired, "of_minimums": min(ours) / min(theirs),
                              "of_medians": statistics.median(ours) / statistics.median(theirs)}
            print(f"{preset}: C engine (precise) / NAM Core (fast tanh): {paired:.2f} (median of per-run ratios), "
                  f"{ratios[preset]['of_minimums']:.2f} (of minimums), {ratios[preset]['of_medians']:.2f} (of medians)")
        if any(v is not None for v in checks.values()):
            print("the .nam files in neural-amp-modeler vs tinyrt's reference, max abs: "
                  + ", ".join(f"{p} {v:.2g}" for p, v in checks.items() if v is not None))
    report = {"benchmark": "wavenet", "rate": RATE, "block": BLOCK, "frames": FRAMES, "reps": args.reps,
              "cpu": args.cpu, "machine": platform.machine(), "processor": platform.processor(),
              "compiler": compiler_version(compiler()), "c_flags": flags_for("native"),
              "nam_core": args.nam_core, "nam_file_check_max_abs": checks, "c_over_nam_core": ratios, "rows": rows}
    (out / "wavenet.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out / 'wavenet.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
