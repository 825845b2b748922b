"""`tinyrt bench`: time a model's callbacks on each engine against the audio callback budget.

Every engine runs behind the same Backend interface, one host block per call, on the same test
audio. Flat-out mode calls back to back (throughput); paced mode releases each call at the real
period, as an audio driver would, so the wake-up jitter of this machine shows in the misses.
"""
from __future__ import annotations

import resource
import time

import numpy as np

from ..backends import ENGINES, backend
from ..backends.verify import signal_frames
from ..errors import DependencyError, InputError
from .accuracy import audio_frames, check_labels, feature_frames, score
from .cpu import host_frames
from .memory import MemorySampler, engine_rss_increment, rss_bytes
from .stats import budget_ns, latency_stats

MODES = ("flat", "paced")


def run_rate(model, sample_rate: float | None, seconds: float = 1.0) -> float:
    """Return the sample rate a run uses (given, else the model's, else 48 kHz), refusing a mismatch."""
    rate = float(sample_rate or model.sample_rate or 48000.0)
    if model.sample_rate and rate != model.sample_rate:
        raise InputError(f"{model.name} runs at {model.sample_rate:g} Hz, not {rate:g} Hz.")
    if seconds <= 0:
        raise InputError(f"--seconds must be positive, got {seconds:g}.")
    return rate


def _spin_until(deadline: int) -> None:
    while True:
        left = deadline - time.perf_counter_ns()
        if left <= 0:
            return
        if left > 300_000:
            time.sleep((left - 200_000) / 1e9)


_RUSAGE_WHO = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


def _switches() -> int:
    """Return this thread's involuntary context switches so far (the process's without Linux's per-thread count)."""
    return resource.getrusage(_RUSAGE_WHO).ru_nivcsw


def time_engine(engine, frames: np.ndarray, per_call: int, sample_rate: float, block: int, mode: str = "flat",
                out: np.ndarray | None = None, warmup: int = 0) -> dict:
    """Return callback statistics and memory of one engine over frames in calls of per_call frames.

    When ``out`` is given (frames x output size), each call's output is stored there, outside the
    timed region. The per-call times are kept under ``calls_ns`` for histograms. ``warmup`` calls
    run first, untimed, and the state is reset after them (what a host does before going live).
    Each call is also timed by this thread's CPU time (every engine runs its call on the calling
    thread), so a late call is told apart as the model's miss or the machine's interference.
    """
    for k in range(warmup):
        engine.process(frames[(k % max(len(frames) // per_call, 1)) * per_call:][:per_call])
    n_calls = len(frames) // per_call
    calls, cpu, switches = np.empty(n_calls), np.empty(n_calls), np.empty(n_calls)
    late = np.empty(n_calls) if mode == "paced" else None
    cpu_clock, usage = time.thread_time_ns, _switches
    period = int(budget_ns(block, sample_rate))
    engine.reset()
    clock = time.perf_counter_ns
    with MemorySampler() as mem:
        start = clock() + period
        for k in range(n_calls):
            chunk = frames[k * per_call:(k + 1) * per_call]
            if late is not None:
                release = start + k * period
                _spin_until(release)
            s0 = usage()
            t0 = clock()
            c0 = cpu_clock()
            y = engine.process(chunk)
            c1 = cpu_clock()
            t1 = clock()
            switches[k] = usage() - s0
            calls[k] = t1 - t0
            cpu[k] = c1 - c0
            if late is not None:
                late[k] = t1 - release
            if out is not None:
                out[k * per_call:(k + 1) * per_call] = y
    stats = latency_stats(calls, block, sample_rate, late, cpu, switches)
    stats["memory"] = mem.result()
    stats["mode"] = mode
    stats["calls_ns"] = calls.astype(np.int64).tolist()
    return stats


def native_c(model, n_frames: int, per_call: int, sample_rate: float, block: int, max_seconds: float = 2.0) -> dict:
    """Return the C engine's callbacks measured inside C by CPU time (no Python call overhead), as loads.

    Measured until the mean CPU load's confidence interval is stable, or ``max_seconds``
    (tinyrt.bench.cpu); also gives the late callbacks split into misses and interference.
    """
    from .cpu import measure_c
    m = measure_c(model, sample_rate, block, max_seconds=max_seconds)
    return {**{f"{k}_ns": m["cpu_ns"][k] for k in ("mean", "median", "p99", "max")}, **m,
            "load_mean": m["load"]}


def c_object_sizes(code) -> dict:
    """Return the code and data bytes of a generated model compiled alone for this machine (-O3 native)."""
    from ..backends.c import harness
    return harness.object_sizes(code, profile="native")


def static_memory(model) -> dict:
    """Return the model's weight and state sizes in bytes (float32)."""
    return {"weight_bytes": model.weight_bytes, "state_bytes": 4 * model.state_floats, "parameters": model.n_params}


def bench(model, engines=("c", "onnxruntime", "torch", "torchscript"), sample_rate: float | None = None,
          block: int = 64,
          seconds: float = 5.0, mode: str = "flat", seed: int = 0, audio=None, target=None, features=None,
          labels=None, warmup: int = 0) -> dict:
    """Return per-engine callback statistics and accuracy of a model at a sample rate and host block size.

    The input is the built-in test signal (``seconds`` long), or the given ``audio`` (samples at the
    model's rate) or ``features`` (frames x input size). Each engine's output is scored against the
    float64 reference, and against ``target`` audio or per-frame class ``labels`` when given. An
    engine that cannot run here (its package missing) is reported with the reason, not dropped.
    """
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise InputError(f"unknown engine '{unknown[0] if unknown else ''}'; choose from {', '.join(ENGINES)}.")
    if mode not in MODES:
        raise InputError(f"unknown mode '{mode}'; choose flat or paced.")
    rate = run_rate(model, sample_rate, seconds)
    if warmup < 0:
        raise InputError(f"--warmup must be 0 or more calls, got {warmup}.")
    per_call = host_frames(model, block)
    frames, truth, classes = _inputs(model, rate, block, seconds, seed, audio, target, features, labels)
    frames = frames[:len(frames) // per_call * per_call]
    if len(frames) < 2 * per_call:
        raise InputError(f"the input holds fewer than two {block}-sample callbacks; "
                         f"give more audio or a smaller block.")
    truth = None if truth is None else truth[:len(frames)]
    classes = None if classes is None else classes[:len(frames)]
    reference = model.reference().process(frames)
    result = {"model": model.name, "sample_rate": rate, "block": block, "mode": mode,
              "seconds": len(frames) * model.block_size / rate, "warmup_calls": warmup,
              "input": "given audio" if audio is not None else "given features" if features is not None
              else "built-in test signal", "static": static_memory(model), "engines": {}}
    for name in engines:
        before_load = rss_bytes()   # the engine's own memory: its libraries, weights and buffers count from here
        try:
            # the C engine as deployed on this machine: built for its CPU (-O3 -march=native)
            engine = backend(model, name, **({"profile": "native"} if name == "c" else {}))
        except DependencyError as exc:
            result["engines"][name] = {"not_run": str(exc)}
            continue
        out = np.empty((len(frames), model.output_size), dtype=np.float32)
        stats = time_engine(engine, frames, per_call, rate, block, mode, out=out, warmup=warmup)
        stats["memory"]["rss_before_load"] = before_load
        stats["accuracy"] = score(out, reference, truth, classes)
        if name == "c":
            stats["native"] = native_c(model, len(frames), per_call, rate, block, min(2.0, max(seconds, 0.3)))
            result["static"]["c_object"] = c_object_sizes(engine.code)
        result["engines"][name] = stats
    return result


def _inputs(model, rate, block, seconds, seed, audio, target, features, labels) -> tuple:
    """Return (frames, target frames or None, labels or None) from what the caller gave."""
    if audio is not None and features is not None:
        raise InputError("give input audio or input features, not both.")
    if target is not None and audio is None:
        raise InputError("a target needs the input audio it was made from; give both.")
    if features is not None:
        frames = feature_frames(model, features)
    elif audio is not None:
        frames = audio_frames(model, audio, rate)
    else:
        frames = signal_frames(model, max(seconds, 2 * block / rate), seed)
    truth = None
    if target is not None:
        t = np.asarray(target, dtype=np.float32)
        t = t[:, None] if t.ndim == 1 else t
        if t.ndim != 2 or t.shape[1] != model.out_channels:
            raise InputError(f"the target audio must have {model.out_channels} channel(s) like {model.name}'s output.")
        n = min(len(t), len(frames) * model.block_size) // model.block_size
        if n < len(frames) // 2:
            raise InputError(f"the target audio ({len(t)} samples) is much shorter than the input "
                             f"({len(frames) * model.block_size}); give the processed version of the same audio.")
        frames, truth = frames[:n], t[:n * model.block_size].reshape(n, model.output_size)
    classes = None if labels is None else check_labels(model, labels, len(frames))
    return frames, truth, classes


def table(result: dict) -> str:
    """Return the bench result as text: a timing table (microseconds per callback) and an accuracy table."""
    r = result
    warm = f"after {r['warmup_calls']} untimed calls, " if r.get("warmup_calls") else ""
    lines = [f"{r['model']}: {r['block']}-sample callbacks at {r['sample_rate']:g} Hz (budget "
             f"{r['block'] / r['sample_rate'] * 1e6:.1f} us), {r['mode']} mode, {warm}{r['seconds']:g} s of "
             f"{r['input']}; weights {r['static']['weight_bytes']} B, state {r['static']['state_bytes']} B"
             + ("; C object: {text} B code, {rodata} B constants, {data} B data, {bss} B bss".format(
                 **r["static"]["c_object"]) if "c_object" in r["static"] else ""),
             f"{'engine':<12} {'mean':>8} {'median':>8} {'p99':>8} {'max':>8} {'jitter':>8} {'ns/smp':>8} "
             f"{'load':>7} {'worst':>7} {'late':>8} {'first':>8} {'RSS added':>9}"]
    for name, s in r["engines"].items():
        if "not_run" in s:
            lines.append(f"{name:<12} not run: {s['not_run']}")
            continue
        us = {k: s[k] / 1000 for k in ("mean_ns", "median_ns", "p99_ns", "max_ns", "jitter_ns", "first_call_ns")}
        lines.append(f"{name:<12} {us['mean_ns']:>8.1f} {us['median_ns']:>8.1f} {us['p99_ns']:>8.1f} "
                     f"{us['max_ns']:>8.1f} {us['jitter_ns']:>8.1f} {s['ns_per_sample']:>8.0f} "
                     f"{100 * s['load_mean']:>6.1f}% {100 * s['load_worst']:>6.1f}% "
                     f"{s['deadline_misses']:>8} {us['first_call_ns']:>8.1f} "
                     f"{engine_rss_increment(s['memory']) / 2**20:>7.0f}MB")
        if "native" in s:
            n = s["native"]
            lines.append(f"{'  timed in C':<12} {n['mean_ns'] / 1000:>8.1f} {n['median_ns'] / 1000:>8.1f} "
                         f"{n['p99_ns'] / 1000:>8.1f} {n['max_ns'] / 1000:>8.1f} {'':>8} "
                         f"{n['mean_ns'] / r['block']:>8.0f} {100 * n['load_mean']:>6.1f}% "
                         f"{100 * n['load_worst']:>6.1f}%")
    lines += ["", *verdict_lines(r), "", accuracy_table(r)]
    return "\n".join(lines)


def verdict_lines(result: dict) -> list:
    """Return one line per engine telling the model's misses from the machine's interference."""
    from .cpu import late_text, measurement_text
    lines = []
    for name, s in result["engines"].items():
        if "not_run" in s:
            continue
        lines.append(f"{name}: {late_text(s.get('misses', s['deadline_misses']), s.get('interference', 0))} "
                     f"(of {s['calls']} callbacks)")
        if "native" in s:
            lines.append(f"{name} timed in C: {measurement_text(s['native'])}")
    return lines


def model_misses(result: dict, count_interference: bool = False) -> list:
    """Return the engines with late callbacks the model caused (or any late callback, if count_interference),
    in the engine's own timing or in the C engine's timing from C."""
    def late(s):
        n = s.get("misses", s.get("deadline_misses", 0))
        return n + (s.get("interference", 0) if count_interference else 0)
    return [name for name, s in result["engines"].items() if "not_run" not in s and
            (late(s) or ("native" in s and late(s["native"])))]


def accuracy_table(result: dict) -> str:
    """Return each engine's error against the reference (and the target or labels when given)."""
    rows = {name: s["accuracy"] for name, s in result["engines"].items() if "accuracy" in s}
    first = next(iter(rows.values()), {})
    head = f"{'engine':<12} {'max abs vs ref':>14} {'ESR vs ref':>10}"
    if "vs_target" in first:
        head += f" {'ESR vs target':>13} {'MSE vs target':>13} {'max abs':>8}"
    if "classes" in first:
        head += f" {'accuracy':>8} {'F1 macro':>8} {'agree w/ ref':>12}"
    lines = ["accuracy of each engine's output" + (" (classes: arg-max per frame)" if "classes" in first else ""), head]
    for name, a in rows.items():
        line = f"{name:<12} {a['vs_reference']['max_abs']:>14.2e} {a['vs_reference']['esr']:>10.2e}"
        if "vs_target" in a:
            t = a["vs_target"]
            line += f" {t['esr']:>13.4f} {t['mse']:>13.3e} {t['max_abs']:>8.3f}"
        if "classes" in a:
            c = a["classes"]
            line += f" {c['accuracy']:>8.4f} {c['f1_macro']:>8.4f} {c['agreement_with_reference']:>12.4f}"
        lines.append(line)
    return "\n".join(lines)
