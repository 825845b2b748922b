"""`tinyrt profile`: where a callback's time goes, layer by layer, on the C engine, ONNX Runtime and torch.

Every engine processes the same test signal in host blocks, as ``tinyrt bench`` does, twice: plain,
timed per call (the "whole call"), and instrumented, timed per layer. The two alternate over the
signal (C: three passes each; ONNX Runtime and torch: five stretches each) so both see the same load
of a shared machine. A callback's time is the typical one: the median over callbacks (C), or the
mean of the fastest 90 % of callbacks (ONNX Runtime and torch, whose profilers give microseconds
that a median would round); a preempted callback does not move it. The table gives each layer's time
and its share of the whole call; the whole call minus the top-level layers is the engine's overhead
(the frame loop, framework dispatch, the Python call), negative when the instrumentation costs more
than the engine spends outside its layers. A residual includes its body, listed under it.

- C: the generated code wraps each layer in ``TRT_PROF_BEGIN(k)`` / ``TRT_PROF_END(k)``, which are no
  code unless compiled with ``-DTRT_PROFILE`` (the shipped build compiles to the same machine code as
  before the macros existed). The instrumented harness (``-O3 -march=native``, the benchmark's build)
  reads ``clock_gettime(CLOCK_MONOTONIC)`` at both ends of every layer of every frame, about 20 ns a
  read: as long as a small dense layer. So before each pass the harness measures what an empty pair
  of hooks adds to its own region (about 18 ns) and to a region enclosing it (about 38 ns), median
  of 7 rounds of 20 000 pairs, and that is subtracted: once per frame from every layer, and once per
  frame of every nested layer from a residual. The whole call is the plain build's median callback,
  timed from C. Measured here (64-sample callbacks): the corrected layers of an LSTM-96 + dense +
  gain add up to 1.05 times the plain call (1.10 uncorrected), an LSTM-16 effect to 1.13 (1.68), a
  GRU-8 with a 3-layer residual to 0.85 (2.4); the calls between layers also change what the
  compiler can do across them, which no subtraction undoes.
- ONNX Runtime: a session with ``enable_profiling`` (one thread, sequential, all graph optimisations,
  as the engine runs) writes a Chrome trace; each "Node" event's duration is credited to the layer
  its node name carries (``L2_0/Gemm_9``, see ``onnx_graph``) and to its operator. ONNX Runtime fuses
  some nodes into a neighbour ("fused L1_0/Gemm_4" also computes the activation after it) and removes
  identities: such layers are listed as having no node. Each node's time includes about a
  microsecond of the profiler's own work. The whole call is the plain engine (``OnnxBackend``) timed
  from Python around ``process``.
- torch: each layer module's forward runs inside a ``record_function("L<path>")`` region under
  ``torch.profiler`` (CPU), on a second copy of the model, so the timed engine carries no regions; a
  layer's time is its region's CPU time (its ops, nested layers, and the Python between them). The
  profiler records every aten op, adding about a microsecond each: layers made of many small ops look
  slower than they run. At most 200 callbacks are profiled. The whole call is the plain engine timed
  from Python around ``process``.

CPU use is measured over each engine's plain run: process CPU time (with the C harness child) over
wall time, each core's busy share from /proc/stat, and the threads of the process. The flamegraph
files hold, per engine, each layer's (and op's) self time in ns per callback, frames engine;layer;op.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..backends import ENGINES
from ..backends.verify import signal_frames
from ..errors import BuildError, DependencyError, InputError
from ..files import write_text
from .profile_engines import C_REPS, COLLECTORS, KEEP, OVERHEAD, layer_tree
from .runner import host_frames, run_rate

PROFILED = tuple(COLLECTORS)
SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def profile(model, engines=PROFILED, sample_rate: float | None = None, block: int = 64, seconds: float = 2.0,
            seed: int = 0) -> dict:
    """Return per-layer time per callback on each engine, the engine overhead and CPU use.

    An engine that cannot run here (its package or the C compiler missing) is reported with the
    reason, not dropped.
    """
    engines = list(engines)
    for name in engines:
        if name in ENGINES and name not in PROFILED:
            raise InputError(f"the {name} engine has no per-layer profiler; choose from {', '.join(PROFILED)}.")
        if name not in PROFILED:
            raise InputError(f"unknown engine '{name}'; choose from {', '.join(PROFILED)}.")
    if not engines:
        raise InputError(f"no engine given; choose from {', '.join(PROFILED)}.")
    rate = run_rate(model, sample_rate, seconds)
    per_call = host_frames(model, block)
    frames = signal_frames(model, max(seconds, 3 * block / rate), seed)
    frames = frames[:len(frames) // per_call * per_call]
    tree = layer_tree(model)
    result = {"model": model.name, "sample_rate": rate, "block": block, "callbacks": len(frames) // per_call,
              "seconds": len(frames) * model.block_size / rate,
              "layers": [{"path": p, "label": label, "depth": d} for p, label, d in tree], "engines": {}}
    for name in engines:
        try:
            raw = COLLECTORS[name](model, frames, per_call, tree)
        except (DependencyError, BuildError) as exc:
            result["engines"][name] = {"not_run": str(exc)}
            continue
        result["engines"][name] = _summarise(name, raw, tree)
    return result


def _summarise(name: str, raw: dict, tree: list) -> dict:
    """Return an engine's figures with the layer sum, the overhead, shares and JSON-ready stacks."""
    whole = raw["whole_call_ns"]
    top = sum(raw["layers_ns"][p] for p, _, depth in tree if depth == 0)
    stacks = {**raw["stacks"], (name, OVERHEAD): whole - top}
    out = {k: v for k, v in raw.items() if k != "stacks"}
    out.update({"sum_layers_ns": top, "overhead_ns": whole - top, "sum_over_whole": top / whole,
                "share": {p: ns / whole for p, ns in raw["layers_ns"].items()},
                "stacks": [{"frames": list(frames), "ns": ns} for frames, ns in stacks.items()]})
    return out


def profile_table(result: dict) -> str:
    """Return the profile as a text table: microseconds per callback and share of the whole call per layer."""
    r = result
    names = list(r["engines"])
    ran = [n for n in names if "not_run" not in r["engines"][n]]
    totals = (("sum of layers", "sum_layers_ns"), ("engine overhead (the rest)", "overhead_ns"),
              ("whole call (uninstrumented)", "whole_call_ns"))
    width = max([len(label) for label, _ in totals]
                + [2 * layer["depth"] + len(layer["label"]) for layer in r["layers"]])
    lines = [f"{r['model']}: {r['block']}-sample callbacks at {r['sample_rate']:g} Hz (budget "
             f"{r['block'] / r['sample_rate'] * 1e6:.1f} us), {r['seconds']:g} s of the test signal per engine",
             "time per callback in us, and share of the uninstrumented whole call",
             f"{'layer':<{width}}" + "".join(f"  {n:>17}" for n in names)]

    def row(label, values):
        lines.append(f"{label:<{width}}" + "".join(f"  {v:>17}" for v in values))

    def cell(name, ns, path=None):
        e = r["engines"][name]
        if "not_run" in e:
            return "not run"
        if path in e.get("layers_without_nodes", ()):
            return "no node"
        return f"{ns / 1000:9.1f} {100 * ns / e['whole_call_ns']:6.1f}%"

    for layer in r["layers"]:
        p = layer["path"]
        row("  " * layer["depth"] + layer["label"], [cell(n, r["engines"][n].get("layers_ns", {}).get(p), p)
                                                     for n in names])
    for label, key in totals:
        row(label, [cell(n, r["engines"][n].get(key)) for n in names])
    cpu = {n: r["engines"][n]["cpu"] for n in ran}
    row("CPU time / wall time", [f"{cpu[n]['process_utilisation']:.2f}" if n in cpu else "" for n in names])
    row("cores busy (whole machine)", [_cores(cpu[n]["cores_busy"]) if n in cpu else "" for n in names])
    row("threads of the process", [str(cpu[n]["threads"]) if n in cpu else "" for n in names])
    for n in names:
        e = r["engines"][n]
        if "not_run" in e:
            lines.append(f"{n}: not run: {e['not_run']}")
        elif n == "c":
            t = e["timer"]
            lines.append(f"c: median of {e['calls']} callbacks x {C_REPS} passes; timer cost subtracted: "
                         f"{t['inner_ns']:.0f} ns per layer and frame (+{t['pair_ns']:.0f} per nested layer)")
        elif n == "onnxruntime":
            ops = ", ".join(f"{op} {ns / 1000:.1f}" for op, ns in e["ops_ns"].items())
            lines.append(f"onnxruntime: mean of the fastest {100 * KEEP:.0f}% of {e['calls']} callbacks; operators "
                         f"(us per callback): {ops}")
            if e["layers_without_nodes"]:
                lines.append(f"onnxruntime: no node of its own (fused or removed by ONNX Runtime): "
                             f"{', '.join(e['layers_without_nodes'])}")
            if e["unattributed_ops_ns"]:
                lines.append(f"onnxruntime: nodes of no layer: {', '.join(e['unattributed_ops_ns'])}")
        elif n == "torch":
            lines.append(f"torch: mean of the fastest {100 * KEEP:.0f}% of {e['calls']} callbacks under "
                         f"torch.profiler, which adds about 1 us per aten op")
    return "\n".join(lines)


def _cores(busy: list) -> str:
    """Return each core's busy share ("97% 12%"), or the mean and the busiest beyond 4 cores."""
    if len(busy) <= 4:
        return " ".join(f"{100 * b:.0f}%" for b in busy)
    return f"mean {100 * sum(busy) / len(busy):.0f}% max {100 * max(busy):.0f}%"


def _stacks(result: dict):
    """Yield (engine, frames, whole ns per callback) of every engine that ran; negative times are 0."""
    for name, e in result["engines"].items():
        for s in e.get("stacks", ()):
            yield name, s["frames"], max(0, round(s["ns"]))


def write_folded(result: dict, path) -> Path:
    """Write folded stacks ("c;0 lstm 1->96 1234", ns per callback, as flamegraph.pl reads); return the path."""
    path = Path(path)
    lines = [f"{';'.join(frames)} {ns}" for _, frames, ns in _stacks(result)]
    _write(path, "\n".join(lines) + "\n")
    return path


def write_speedscope(result: dict, path) -> Path:
    """Write a speedscope JSON file, one sampled profile per engine (weights: ns per callback); return the path."""
    path = Path(path)
    frames: dict = {}
    profiles = {}
    for name, stack, ns in _stacks(result):
        p = profiles.setdefault(name, {"type": "sampled", "name": f"{result['model']} on {name}",
                                       "unit": "nanoseconds", "startValue": 0, "endValue": 0,
                                       "samples": [], "weights": []})
        p["samples"].append([frames.setdefault(f, len(frames)) for f in stack])
        p["weights"].append(ns)
        p["endValue"] += ns
    doc = {"$schema": SPEEDSCOPE_SCHEMA, "name": f"tinyrt profile of {result['model']}",
           "exporter": "tinyrt", "activeProfileIndex": 0,
           "shared": {"frames": [{"name": f} for f in frames]}, "profiles": list(profiles.values())}
    _write(path, json.dumps(doc))
    return path


def _write(path: Path, text: str) -> None:
    write_text(path, text, "profile")
