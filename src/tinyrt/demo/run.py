"""`tinyrt demo`: the main job on built-in data, from guitar recordings to proven real-time C engines.

Steps: synthesise a guitar track and process it with the three built-in pedals (written as a
capture would be, with a round-trip latency); load each clean/processed pair (alignment, checks,
fragments, split); train an LSTM-16 per pedal at one sample per step plus one block-16 variant
(two trainings at a time on two cores); export every model to C and prove it against the
reference and the trained PyTorch model; render the test audio through the C engine; time the C
engine against the audio-callback budget and benchmark every engine's callbacks on the test audio
(latency distribution, load, deadline misses, accuracy); write ``report.html`` with ESR, curves,
plots, audio and the benchmark.
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import time
from pathlib import Path

import numpy as np

from ..errors import DependencyError
from ..files import write_text

EFFECTS = ("overdrive", "distortion", "fuzz")
LATENCY = 72                      # samples of simulated interface round trip in the processed captures
HOST_BLOCK, RATE = 64, 48000


def _log(msg: str) -> None:
    print(msg, flush=True)


def effect_config(effect: str, data: Path, hidden: int = 16, block: int = 1, minutes: float = 3.0,
                  cell: str = "lstm"):
    """Return the training Config for one built-in effect's track pair under data/tracks."""
    from ..train import Config
    suffix = "" if block == 1 else f"_b{block}"
    cfg = Config(name=f"{effect}_{cell}{hidden}{suffix}", sample_rate=RATE, seed=0)
    cfg.data.clean, cfg.data.target = str(data / "tracks" / "clean.wav"), str(data / "tracks" / f"{effect}.wav")
    cfg.model.cell, cfg.model.hidden_size, cfg.model.block_size = cell, hidden, block
    cfg.train.max_minutes, cfg.train.epochs, cfg.train.early_stop = minutes, 1000, 40
    if block > 1:
        cfg.train.learning_rate = 1e-2
    return cfg


def jobs(data: Path, quick: bool = False, minutes: float | None = None) -> list:
    """Return the demo's training configurations: LSTM-16 per effect at block 1, and a block-16 variant."""
    budget = minutes if minutes is not None else (0.2 if quick else 3.0)
    return [effect_config(e, data, 16, b, budget) for e, b in [(e, 1) for e in EFFECTS] + [("overdrive", 16)]]


def _c_timing(model) -> dict:
    """Return the C engine's median ns per sample and callback load at 48 kHz with 64-sample host blocks."""
    from ..backends.c import harness
    b = model.block_size
    frames = 2 * RATE // b
    t = harness.time(model, frames, max(HOST_BLOCK // b, 1), 7, profile="native")
    ns = statistics.median(t["pass_ns"]) / (frames * b)
    return {"ns_per_sample": ns, "load_percent": 100 * ns * HOST_BLOCK / (HOST_BLOCK / RATE * 1e9),
            "callback_us": ns * HOST_BLOCK / 1000}


def _bench(row: dict, seconds: float) -> dict:
    """Return the bench result of one trained model on its test audio, scored against the target."""
    from ..bench import bench, table
    test, model = row["test"], row["model"]
    n = int(seconds * RATE)
    clean, target = (np.concatenate([getattr(p, k) for p in test])[:n] for k in ("clean", "target"))
    result = bench(model, ("c", "onnxruntime", "torch", "torchscript"), RATE, HOST_BLOCK, audio=clean, target=target,
                   warmup=10)
    _log("  " + table(result).replace("\n", "\n  "))
    return result


def _trained_torch_difference(cfg, model, pairs, run: Path) -> float:
    """Return the largest difference between the C engine and the trained PyTorch module on the pairs."""
    import torch

    from ..train.evaluate import run_pairs
    from ..train.model import EffectModel
    from ..train.trainer import predict
    net = EffectModel(cfg.model)
    net.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    net.eval()
    ours, theirs = run_pairs(model, pairs, "c"), predict(net, pairs, torch)
    return float(max(np.abs(a - b).max() for a, b in zip(ours, theirs)))


def run_demo(out: Path, quick: bool = False, minutes: float | None = None) -> int:
    """Run the demo into folder `out` and return the exit code (0 when every proof passed)."""
    from ..audio import write_wav
    from ..audio.plots import plot_comparison
    from ..backends.verify import verify
    from ..data.example import write_example_data
    from ..data.pairs import load_pairs
    from ..frontends import from_file as load
    from ..train import evaluate
    from ..train.parallel import train_many
    from .report import write_report

    if importlib.util.find_spec("torch") is None:
        raise DependencyError("the demo needs PyTorch; run `make demo`, which installs it.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    seconds = 24.0 if quick else 90.0

    _log(f"[1/7] synthesising {seconds:g} s of guitar and processing it with {', '.join(EFFECTS)} "
         f"(captured as Neural Amp Modeler captures are: {LATENCY} samples of latency, timing blips first)")
    written = write_example_data(out / "data", sample_rate=RATE, seconds=seconds, effects=EFFECTS, notes=False,
                                 latency=LATENCY, blips=True, seed=0)
    configs = jobs((out / "data").resolve(), quick, minutes)
    (out / "configs").mkdir(exist_ok=True)
    for cfg in configs:
        write_text(out / "configs" / f"{cfg.name}.toml", cfg.to_toml())

    _log("[2/7] loading the clean/processed pairs: alignment, level checks, 1 s fragments, split by region")
    data = {}
    for effect in EFFECTS:
        ds = load_pairs({"kind": "fragments", "clean": str(out / "data/tracks/clean.wav"),
                         "target": str(out / f"data/tracks/{effect}.wav")}, RATE)
        data[effect] = ds
        _log(f"  {effect}: " + ds.summary().replace("\n", "\n    "))

    workers = max(1, min(2, os.cpu_count() or 1))
    budget = configs[0].train.max_minutes
    _log(f"[3/7] training {len(configs)} models, {workers} at a time, up to {budget:g} min each "
         f"(configs in {out / 'configs'})")
    trained = train_many(configs, out / "runs", workers, log=_log)

    _log("[4/7] exporting to C, ONNX and TorchScript and proving each engine (reference, trained PyTorch model, "
         "real-time rules)")
    from ..backends import export
    from ..train.evaluate import stored_capture
    from ..train.trainer import load_data
    rows, passed = [], True
    (out / "exports").mkdir(exist_ok=True)
    for cfg, job in zip(configs, trained):
        model = load(job["model_path"])
        export(model, "c", out / "c" / cfg.name)
        export(model, "onnx", out / "exports" / f"{cfg.name}.onnx")
        export(model, "torch", out / "exports" / f"{cfg.name}.pt")
        capture = stored_capture(model)
        _, _, _, test = load_data(cfg, latency=capture["latency"] if capture else None)
        _log(f"  {cfg.name}: latency applied to its test audio: " + (
            f"{capture['latency']} samples, stored in the model ({capture['method']} during training)" if capture
            else "measured again (the model stores none)"))
        held_out = np.concatenate([p.clean for p in test])[:int((0.5 if quick else 2.0) * RATE)]
        held_out = held_out[:len(held_out) // model.block_size * model.block_size].reshape(-1, model.input_size)
        report = verify(model, ("c", "onnxruntime", "torch"), frames=held_out)
        passed &= report.passed
        _log(report.table())
        c_metrics = evaluate(model, test, engine="c", warmup=cfg.train.warmup)
        c_metrics["max_abs_vs_trained_torch"] = _trained_torch_difference(cfg, model, test, out / "runs" / cfg.name)
        torch_metrics = job["metrics"]["test"]
        timing = _c_timing(model)
        _log(f"  {cfg.name}: test ESR {c_metrics['esr']:.4f} on the C engine ({torch_metrics['esr']:.4f} in "
             f"PyTorch; outputs differ by at most {c_metrics['max_abs_vs_trained_torch']:.1e}) - "
             f"{c_metrics['verdict']}; {timing['ns_per_sample']:.0f} ns/sample, "
             f"{timing['load_percent']:.2f} % of a {HOST_BLOCK}-sample callback at {RATE // 1000} kHz")
        rows.append({"config": cfg, "job": job, "model": model, "verify": report, "c": c_metrics,
                     "timing": timing, "test": test})

    _log("[5/7] rendering the test audio through the C engine, plotting")
    from ..train.evaluate import run_pairs
    for row in rows:
        name, test = row["config"].name, row["test"]
        outs = run_pairs(row["model"], test, "c")
        clean, target, model_out = (np.concatenate(s) for s in ([p.clean for p in test], [p.target for p in test],
                                                                 outs))
        audio = out / "audio"
        audio.mkdir(exist_ok=True)
        for label, sig in (("clean", clean), ("target", target), ("c_engine", model_out)):
            write_wav(audio / f"{name}_{label}.wav", sig, RATE)
        plot_comparison(clean, target, model_out, RATE, out / f"{name}_compare.png", title=name)
        row["audio"] = {k: f"audio/{name}_{k}.wav" for k in ("clean", "target", "c_engine")}

    _log(f"[6/7] benchmarking {HOST_BLOCK}-sample callbacks at {RATE // 1000} kHz on every engine, on the test audio")
    benches = [_bench(row, 0.5 if quick else 2.0) for row in rows]
    from ..bench.report import write_bench_report
    write_bench_report(benches, out / "bench.html", "tinyrt demo: the trained models' callbacks on every engine")

    _log("[7/7] writing the report")
    elapsed = round(time.perf_counter() - t_start, 1)
    summary = write_report(out, rows, data, written, elapsed, quick=quick, benches=benches)
    _log("\n" + summary)
    _log(f"done in {elapsed} s: {out / 'report.html'}")
    return 0 if passed else 1
