"""Per-layer times of one engine, for `tinyrt profile`: the C harness, ONNX Runtime and torch.

Each ``profile_<engine>(model, frames, per_call, tree)`` returns the engine's uninstrumented whole
call (ns, typical steady callback), each layer's inclusive time per callback (ns; a residual
includes its body), flamegraph stacks (frame names root first, ns per callback of self time) and the
CPU use of the uninstrumented run. ``tree`` is ``layer_tree(model)``. How each engine's numbers are
taken is described in ``tinyrt.bench.profile``.
"""
from __future__ import annotations

import bisect
import json
import os
import re
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

C_REPS = 3             # uninstrumented and instrumented C passes, alternating; the median of each is kept
SEGMENTS = 5           # stretches of the signal, alternating the plain and the instrumented engine
TORCH_MAX_CALLS = 200  # the torch profiler records every aten op: enough callbacks for a stable mean
KEEP = 0.9             # ONNX Runtime and torch: the share of callbacks kept, the slowest (preempted) dropped
OVERHEAD = "(engine overhead)"
CALL = "tinyrt callback"  # the torch profiler region around each profiled callback


def layer_tree(model) -> list:
    """Return [(path, label, depth)] of every layer, depth first; labels read "2.0 lstm 1->96"."""
    out = []

    def walk(layers, prefix, depth):
        for i, layer in enumerate(layers):
            path = f"{prefix}{i}"
            kind = layer.type + (f" {layer.params['function']}" if layer.type == "activation" else "")
            out.append((path, f"{path} {kind} {layer.in_features}->{layer.out_features}", depth))
            walk(layer.layers, path + ".", depth + 1)

    walk(model.layers, "", 0)
    return out


def _chain(path: str, labels: dict) -> tuple:
    """Return the labels from the top-level layer down to the layer at path."""
    parts = path.split(".")
    return tuple(labels[".".join(parts[:k])] for k in range(1, len(parts) + 1))


def _children(path: str, paths) -> list:
    return [p for p in paths if p.startswith(path + ".") and "." not in p[len(path) + 1:]]


def layer_stacks(engine: str, layers_ns: dict, tree: list) -> dict:
    """Return {frames: ns} with each layer's self time (inclusive minus its direct children)."""
    labels = {p: label for p, label, _ in tree}
    return {(engine, *_chain(p, labels)): ns - sum(layers_ns[c] for c in _children(p, layers_ns))
            for p, ns in layers_ns.items()}


def _proc_stat() -> list:
    """Return (busy, total) jiffies of each core from /proc/stat ([] where unavailable)."""
    try:
        with open("/proc/stat") as f:
            rows = [line.split() for line in f if re.match(r"cpu\d", line)]
    except OSError:
        return []
    out = []
    for row in rows:
        ticks = [int(v) for v in row[1:9]]  # user nice system idle iowait irq softirq steal
        out.append((sum(ticks) - ticks[3] - ticks[4], sum(ticks)))
    return out


def _threads() -> int:
    """Return the number of threads of this process (0 where /proc is unavailable)."""
    try:
        with open("/proc/self/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("Threads:")), 0)
    except OSError:
        return 0


def _cpu_seconds() -> float:
    """Return the user + system CPU seconds of this process and of the children it waited for."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


class CpuMeter:
    """Measures CPU use over the stretches run inside ``with meter:`` (it adds them up).

    Process CPU counts this process and the child processes it waited for (the C harness).
    """

    def __init__(self):
        self.wall = self.cpu = 0.0
        self.busy: list = []
        self.threads = 0

    def __enter__(self) -> CpuMeter:
        self._start = (time.perf_counter(), _cpu_seconds(), _proc_stat())
        self.threads = max(self.threads, _threads())
        return self

    def __exit__(self, *exc) -> None:
        wall, cpu, stat = self._start
        self.wall += time.perf_counter() - wall
        self.cpu += _cpu_seconds() - cpu
        deltas = [(b1 - b0, t1 - t0) for (b0, t0), (b1, t1) in zip(stat, _proc_stat())]
        self.busy = [(b + db, t + dt) for (b, t), (db, dt) in zip(self.busy or [(0, 0)] * len(deltas), deltas)]
        self.threads = max(self.threads, _threads())

    def result(self, threads: int | None = None) -> dict:
        """Return wall and process CPU seconds and their ratio, each core's busy fraction and the threads."""
        return {"wall_s": self.wall, "process_cpu_s": self.cpu,
                "process_utilisation": self.cpu / self.wall if self.wall > 0 else 0.0,
                "cores_busy": [b / t if t else 0.0 for b, t in self.busy],
                "threads": self.threads if threads is None else threads}


def _interleaved(engine, frames, per_call: int, probe, meter: CpuMeter) -> float:
    """Return the engine's mean ns per call over the fastest KEEP of its steady calls.

    The calls are timed in SEGMENTS stretches of the signal; after each stretch ``probe(first, end)``
    runs the instrumented engine over the same calls, so both see the same load of a shared machine.
    Call 0 (the cold start) runs on both before the first stretch and is not counted.
    """
    n = len(frames) // per_call
    engine.reset()
    engine.process(frames[:per_call])
    probe(0, 1)
    clock, times = time.perf_counter_ns, []
    bounds = [1 + (n - 1) * s // SEGMENTS for s in range(SEGMENTS + 1)]
    for first, end in zip(bounds[:-1], bounds[1:]):
        with meter:
            for k in range(first, end):
                t0 = clock()
                engine.process(frames[k * per_call:(k + 1) * per_call])
                times.append(clock() - t0)
        probe(first, end)
    kept = sorted(times)[:max(1, round(KEEP * len(times)))]
    return sum(kept) / len(kept)


def _medians(per_call: list) -> dict:
    """Return the median over calls of each key's value (a call without the key counts 0)."""
    keys = dict.fromkeys(k for call in per_call for k in call)
    return {k: statistics.median(call.get(k, 0.0) for call in per_call) for k in keys}


def _typical(per_call: list, total) -> dict:
    """Return the mean of each key's value over the calls left after dropping the slowest by total(call)."""
    kept = sorted(per_call, key=total)[:max(1, round(KEEP * len(per_call)))]
    keys = dict.fromkeys(k for call in kept for k in call)
    return {k: sum(call.get(k, 0.0) for call in kept) / len(kept) for k in keys}


def profile_c(model, frames, per_call: int, tree: list) -> dict:
    """Return the C engine's per-layer times from the instrumented harness (see trt_harness.c)."""
    from ..backends.c import harness
    exe, paths = harness.profile_harness(model)
    harness.harness(model, profile="native")  # built before the CPU meter starts
    n, cpu, whole, runs = len(frames), CpuMeter(), [], []
    for _ in range(C_REPS):  # alternating, so both builds see the same load of a shared machine
        with cpu:
            whole.append(harness.time(model, n, per_call, 1, profile="native")["call_ns"]["median"])
        runs.append(harness.layer_times(exe, n, per_call))
    per_call_ns = []
    for run in runs:
        # what the timer adds to a region in one call: its own pair once per frame, and a whole pair
        # for every frame of every layer nested in it
        per = {p: c / run["calls"] for p, c in zip(paths, run["count"])}
        timer = {p: per[p] * run["timer_inner_ns"]
                 + run["timer_pair_ns"] * sum(per[d] for d in paths if d.startswith(p + ".")) for p in paths}
        per_call_ns += [{p: ns[c] - timer[p] for p, ns in zip(paths, run["call_ns"])}
                        for c in range(run["calls"])]
    layers_ns = _medians(per_call_ns)
    return {"whole_call_ns": statistics.median(whole), "calls": runs[0]["calls"],
            "layers_ns": layers_ns, "stacks": layer_stacks("c", layers_ns, tree),
            "cpu": cpu.result(threads=1),  # the harness is a single-threaded program
            "timer": {key: statistics.median(r[f"timer_{key}"] for r in runs) for key in ("inner_ns", "pair_ns")}}


def _layer_path(name: str):
    """Return the IR path ("2.0") an ONNX node name carries ("L2_0/Gemm_9", "fused L2_0/..."), or None."""
    m = re.search(r"\bL(\d+(?:_\d+)*)/", name)
    return m.group(1).replace("_", ".") if m else None


def _ort_session(ort, proto, prefix: str):
    """Return a profiling ONNX Runtime session set up like the engine's (one thread, sequential, optimised)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # the state inputs keep their initializers (the reset state): no warning
    options.enable_profiling = True
    options.profile_file_prefix = prefix
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def profile_onnxruntime(model, frames, per_call: int, tree: list) -> dict:
    """Return ONNX Runtime's per-layer and per-operator times from its own profiler's node events."""
    from ..backends import backend
    from ..backends.onnx import to_onnx
    from ..backends.onnx_graph import STATE_IN, STATE_OUT
    engine = backend(model, "onnxruntime")
    import onnxruntime

    cpu = CpuMeter()
    with tempfile.TemporaryDirectory() as tmp:
        session = _ort_session(onnxruntime, to_onnx(model), str(Path(tmp) / "ort"))
        outputs = [o.name for o in session.get_outputs()]
        state: dict = {}

        def probe(first, end):
            nonlocal state
            for k in range(first, end):
                values = session.run(None, {"x": frames[k * per_call:(k + 1) * per_call], **state})
                state = {STATE_IN + n[len(STATE_OUT):]: v for n, v in zip(outputs, values)
                         if n.startswith(STATE_OUT)}

        whole = _interleaved(engine, frames, per_call, probe, cpu)
        trace = json.loads(Path(session.end_profiling()).read_text())
    starts = sorted(e["ts"] for e in trace if e.get("cat") == "Session" and e["name"] == "model_run")
    labels = {p: label for p, label, _ in tree}
    calls = [defaultdict(float) for _ in starts[1:]]  # the first call is the cold start
    with_nodes = set()
    for e in trace:
        call = bisect.bisect_right(starts, e["ts"]) - 2
        if e.get("cat") != "Node" or call < 0:
            continue
        ns, op, path = 1000.0 * e["dur"], e["args"].get("op_name", "?"), _layer_path(e["name"])
        totals = calls[call]
        totals[("op", op)] += ns
        if path not in labels:
            totals[("unattributed", e["name"].removesuffix("_kernel_time"))] += ns
            continue
        with_nodes.add(path)
        totals[("stack", ("onnxruntime", *_chain(path, labels), op))] += ns
        for p in labels:  # the layer and every residual enclosing it
            if path == p or path.startswith(p + "."):
                totals[("layer", p)] += ns
    typical = _typical(calls, lambda call: sum(v for k, v in call.items() if k[0] == "op"))
    empty = [p for p in labels if p not in with_nodes and not _children(p, labels)]
    stacks = {k[1]: v for k, v in typical.items() if k[0] == "stack"}
    stacks.update({("onnxruntime", *_chain(p, labels)): 0.0 for p in empty})
    ops = sorted(((k[1], v) for k, v in typical.items() if k[0] == "op"), key=lambda kv: -kv[1])
    return {"whole_call_ns": whole, "calls": len(calls),
            "layers_ns": {p: typical.get(("layer", p), 0.0) for p in labels}, "stacks": stacks,
            "cpu": cpu.result(), "ops_ns": dict(ops),
            "unattributed_ops_ns": {k[1]: v for k, v in typical.items() if k[0] == "unattributed"},
            "layers_without_nodes": empty}


def _label_layers(modules, prefix: str, record_function) -> None:
    """Wrap each layer module's forward (and a residual body's) in a record_function region "L<path>"."""
    for i, module in enumerate(modules):
        path = f"{prefix}{i}"
        module.forward = _labelled(module.forward, f"L{path}", record_function)
        _label_layers(getattr(module, "body", ()), path + ".", record_function)


def _labelled(forward, label: str, record_function):
    def labelled(x, state):
        with record_function(label):
            return forward(x, state)
    return labelled


@contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null meanwhile (the torch profiler's C++ status lines)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _torch_calls(events, labels: dict) -> list:
    """Return, per profiled callback (a CALL region), the CPU ns of each layer region and the self
    ns of each op stack under a layer; time outside every layer is left to the engine overhead."""
    calls: dict = {}
    for e in events:
        chain, node = [], e
        while node is not None:
            chain.append(node)
            node = node.cpu_parent
        chain.reverse()
        inner = [k for k, c in enumerate(chain) if c.name[:1] == "L" and c.name[1:] in labels]
        if chain[0].name != CALL or not inner:
            continue
        totals = calls.setdefault(id(chain[0]), defaultdict(float))
        if inner[-1] == len(chain) - 1:
            totals[("layer", e.name[1:])] += 1000.0 * e.cpu_time_total
        frames = ("torch", *_chain(chain[inner[-1]].name[1:], labels), *(c.name for c in chain[inner[-1] + 1:]))
        totals[("stack", frames)] += 1000.0 * e.self_cpu_time_total
    return list(calls.values())


def profile_torch(model, frames, per_call: int, tree: list) -> dict:
    """Return torch's per-layer CPU times from torch.profiler with a record_function region per layer."""
    from ..backends import backend
    engine = backend(model, "torch")
    from torch.profiler import ProfilerActivity, record_function
    from torch.profiler import profile as torch_profile

    probe_engine = backend(model, "torch")  # a second engine: only its modules carry the regions
    _label_layers(probe_engine.net.layers, "", record_function)
    labels = {p: label for p, label, _ in tree}
    per_call_ns: list = []
    per_segment = -(-TORCH_MAX_CALLS // SEGMENTS)

    def probe(first, end):
        if first == 0:  # the cold start, outside the profile
            probe_engine.process(frames[:per_call])
            return
        with _quiet_stderr(), torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for k in range(first, min(end, first + per_segment)):
                with record_function(CALL):
                    probe_engine.process(frames[k * per_call:(k + 1) * per_call])
        per_call_ns.extend(_torch_calls(prof.events(), labels))

    cpu = CpuMeter()
    whole = _interleaved(engine, frames, per_call, probe, cpu)
    top = [("layer", p) for p, _, depth in tree if depth == 0]
    typical = _typical(per_call_ns, lambda call: sum(call.get(k, 0.0) for k in top))
    return {"whole_call_ns": whole, "calls": len(per_call_ns),
            "layers_ns": {p: typical.get(("layer", p), 0.0) for p in labels},
            "stacks": {k[1]: v for k, v in typical.items() if k[0] == "stack"}, "cpu": cpu.result()}


COLLECTORS = {"c": profile_c, "onnxruntime": profile_onnxruntime, "torch": profile_torch}
