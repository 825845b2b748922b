"""The benchmark model zoo: composable blocks at chosen sizes, checked and timed on every engine.

``block(kind, **sizes)`` builds one block (``BLOCKS`` lists the kinds, their sizes with defaults
and what they compute; ``in`` is spelled ``in_`` as a Python keyword). ``bench_zoo(blocks,
engines)`` runs each (block, engine) pair on the same input as the reference first and times
it through ``bench.runner.time_engine`` (the statistics of ``tinyrt bench``) only when the
outputs agree; a pair an engine cannot run is reported with the reason, and a pair that
disagrees is reported as a failure with its error, never with a time. ``zoo_table`` prints the
result. On the command line: ``tinyrt zoo --blocks "matvec:in=64,out=64;lstm:hidden=32"``.

Frames: one frame per sample, so a call of a 64-sample host block carries 64 frames, except for
the transformer block, whose calls carry its ``tokens`` frames (attention spans one call).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..backends import ENGINES, backend
from ..errors import BuildError, DependencyError, InputError, UnsupportedError
from ..files import check_limit
from ..ir import Model
from .runner import time_engine
from .zoo_blocks import KINDS, input_frames, quantization_error, values_needed
from .zoo_engines import RUNNERS, scripted_ir

BLOCKS = KINDS  # kind -> Kind: .description, .sizes (name -> default), .choices
DEFAULT_ENGINES = ("reference", "c", "onnxruntime", "torch", "torchscript")
TOLERANCE = 1e-5   # an engine agrees when its max abs error <= TOLERANCE * max(1, peak |reference output|)
CHECK_CALLS = 4    # calls compared with the reference before timing
POOL_CALLS = 16    # distinct input calls a timing run cycles through (memory stays small at any size)


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class ZooBlock:
    """One block at chosen sizes: its weights, its IR model when the IR can express it, its shapes.

    A block stands in for a Model where a Backend needs one (one frame per sample, no sample rate).
    """

    kind: str
    sizes: dict
    input_size: int
    output_size: int
    weights: dict = field(default_factory=dict)
    model: Model | None = None
    block_size: int = 1
    sample_rate: float | None = None
    params: tuple = ()   # no knobs: what a Backend reads of a Model's knob inputs

    @property
    def name(self) -> str:
        """Return the block's spec, as --blocks takes it: ``kind:size=value,...``."""
        return self.kind + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in self.sizes.items())

    @property
    def in_channels(self) -> int:
        """Return the values per input frame (one frame per sample)."""
        return self.input_size

    @property
    def out_channels(self) -> int:
        """Return the values per output frame."""
        return self.output_size

    @property
    def weight_bytes(self) -> int:
        """Return the bytes of weights the engines read (int8 weights count one byte each)."""
        if self.model is not None:
            return self.model.weight_bytes
        return sum(a.nbytes for k, a in self.weights.items() if k != "weight_float")

    def validate(self) -> ZooBlock:
        """Return self (sizes were checked when the block was built)."""
        return self

    def frames_per_call(self, block: int) -> int:
        """Return the frames one call carries at a host block of ``block`` samples."""
        return self.sizes["tokens"] if self.kind == "transformer" else block

    def unsupported(self, engine: str) -> tuple | None:
        """Return (short, full) reasons why an engine cannot run this block, or None if it can."""
        if self.model is not None:
            return None
        if engine == "c":
            return BLOCKS[self.kind].c_reason
        if engine not in RUNNERS:
            return ("no runner", f"the zoo runs blocks outside the IR on {', '.join(RUNNERS)} only; "
                                 f"the {engine} engine runs IR models.")
        return None

    def engine(self, name: str):
        """Return a ready Backend running this block on the named engine (UnsupportedError if it cannot)."""
        reason = self.unsupported(name)
        if reason:
            raise UnsupportedError(reason[1])
        if self.model is None:
            return RUNNERS[name](self)
        if name == "torchscript" and name not in ENGINES:
            return scripted_ir(self.model)
        # the C engine as tinyrt bench times it: built for this machine (-O3 -march=native)
        return backend(self.model, name, **({"profile": "native"} if name == "c" else {}))


def _whole(value) -> int | None:
    """Return value as a whole number (an int or a string of digits), or None if it is not one."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _size(kind: str, name: str, value, default):
    """Return a size value converted to the type of its default, or raise InputError."""
    what = f"{kind} size '{name}'"
    if isinstance(default, str):
        options = KINDS[kind].choices[name]
        if value not in options:
            raise InputError(f"{what} must be one of {', '.join(options)}, got '{value}'.")
        return value
    if isinstance(default, tuple):
        parts = [_whole(p) for p in (value.split("-") if isinstance(value, str) else value)]
        if not parts or None in parts or min(parts) < 1:
            raise InputError(f"{what} must be positive whole numbers joined by '-' (like 16-64-16), "
                             f"got '{_fmt(value)}'.")
        check_limit(len(parts), "layers", f"the number of entries of {what}", error=InputError)
        for part in parts:
            check_limit(part, "layer_units", what, error=InputError)
        return tuple(parts)
    if isinstance(default, float):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not np.isfinite(number):
            raise InputError(f"{what} must be a number, got '{value}'.")
        return number
    number = _whole(value)
    if number is None or number < 1:
        raise InputError(f"{what} must be a positive whole number, got '{value}'.")
    return check_limit(number, "layer_units", what, error=InputError)


def block(kind: str, seed: int = 0, **sizes) -> ZooBlock:
    """Return a block of the given kind, sizes defaulted from BLOCKS, weights drawn from ``seed``."""
    if kind not in KINDS:
        raise InputError(f"unknown block kind '{kind}'; choose from {', '.join(KINDS)}.")
    spec = KINDS[kind]
    given = {k[:-1] if k.endswith("_") else k: v for k, v in sizes.items()}
    for name in given:
        if name not in spec.sizes:
            raise InputError(f"{kind} has no size '{name}'; its sizes are {', '.join(spec.sizes)}.")
    values = {k: _size(kind, k, given[k], d) if k in given else d for k, d in spec.sizes.items()}
    problem = spec.check(values)
    if problem:
        raise InputError(problem)
    check_limit(values_needed(kind, values), "weights", f"the number of weight and state values of this {kind} block",
                error=InputError)
    n_in, n_out, weights, model = spec.make(np.random.default_rng(seed), values)
    return ZooBlock(kind, values, n_in, n_out, weights, model)


def parse_blocks(spec: str) -> list:
    """Return the blocks a spec names: ``kind[:size=value,...]`` items separated by ';'."""
    blocks = []
    for item in (part.strip() for part in spec.split(";")):
        if not item:
            continue
        kind, _, text = item.partition(":")
        sizes = {}
        for pair in (p.strip() for p in text.split(",") if p.strip()):
            name, eq, value = pair.partition("=")
            if not eq:
                raise InputError(f"write block sizes as name=value, got '{pair}' in '{item}'.")
            sizes[name.strip()] = value.strip()
        blocks.append(block(kind.strip(), **sizes))
    if not blocks:
        raise InputError(f"no blocks in '{spec}'; name at least one, like 'matvec:in=64,out=64'.")
    return blocks


def block_list() -> str:
    """Return the block kinds, one per line, with their sizes (defaults) and what they compute."""
    lines = []
    for kind, spec in KINDS.items():
        sizes = ",".join(f"{k}={_fmt(v)}" for k, v in spec.sizes.items())
        lines.append(f"{kind + ':' + sizes:<52} {spec.description}")
        for name, options in spec.choices.items():
            lines.append(f"{'':<52}   {name}: {', '.join(options)}")
    return "\n".join(lines)


class CycledFrames:
    """The frames of ``n_calls`` calls of ``per_call`` frames, cycling through the calls ``pool`` holds."""

    def __init__(self, pool: np.ndarray, per_call: int, n_calls: int):
        self.pool, self.per_call, self.n_calls = pool, per_call, n_calls
        self.pool_calls = len(pool) // per_call

    def __len__(self) -> int:
        return self.n_calls * self.per_call

    def __getitem__(self, index: slice) -> np.ndarray:
        start = index.start // self.per_call % self.pool_calls * self.per_call
        return self.pool[start:start + self.per_call]


def run_calls(engine, frames: np.ndarray, per_call: int) -> np.ndarray:
    """Return an engine's output for frames fed in calls of per_call frames, from reset."""
    engine.reset()
    return np.concatenate([engine.process(frames[t:t + per_call]) for t in range(0, len(frames), per_call)])


def _engine_names(engines) -> list:
    known = list(dict.fromkeys([*DEFAULT_ENGINES, *ENGINES]))
    names = [engines] if isinstance(engines, str) else list(engines)
    unknown = [e for e in names if e not in known]
    if unknown or not names:
        raise InputError(f"unknown engine '{unknown[0] if unknown else ''}'; choose from {', '.join(known)}.")
    return names


def _check_and_time(b: ZooBlock, name: str, reference, check, expected, timing, per_call, rate, tolerance) -> dict:
    reason = b.unsupported(name)
    if reason:
        return {"unsupported": reason[1], "short": reason[0]}
    try:
        engine = reference if name == "reference" else b.engine(name)
    except (DependencyError, BuildError, UnsupportedError) as exc:
        return {"unsupported": str(exc), "short": "cannot load"}
    out = run_calls(engine, check, per_call)
    error = float(np.abs(out - expected).max())
    limit = tolerance * max(1.0, float(np.abs(expected).max()))
    if not error <= limit:
        return {"failed": f"max abs error {error:.3g} against the reference exceeds the tolerance {limit:.3g}; "
                          f"not timed.", "max_abs_error": error}
    stats = time_engine(engine, timing, per_call, rate, per_call)
    return {**stats, "max_abs_error": error, "tolerance": limit}


def bench_zoo(blocks, engines=DEFAULT_ENGINES, sample_rate: float = 48000, block: int = 64, seconds: float = 1.0,
              tolerance: float = TOLERANCE, seed: int = 0, log=None) -> dict:
    """Return, per block and engine, callback statistics, or why the pair was not run or not timed.

    ``blocks`` is a spec string (see parse_blocks) or a list of ZooBlocks and specs. Each pair is first
    run for CHECK_CALLS calls on the reference's input; it is timed only if its max abs error is within
    ``tolerance`` times max(1, the reference output's peak).
    """
    names = _engine_names(engines)
    given = [blocks] if isinstance(blocks, str) else list(blocks)
    blocks = [x for b in given for x in ([b] if isinstance(b, ZooBlock) else parse_blocks(b))]
    if not blocks:
        raise InputError("bench_zoo needs at least one block, like 'matvec:in=64,out=64'.")
    if block < 1 or not sample_rate > 0:
        raise InputError(f"the host block must be at least 1 sample and the sample rate positive, got block "
                         f"{block} at {sample_rate:g} Hz.")
    if not seconds > 0:
        raise InputError(f"--seconds must be positive, got {seconds:g}.")
    result = {"sample_rate": float(sample_rate), "block": block, "seconds": seconds, "tolerance": tolerance,
              "engines": names, "blocks": []}
    for b in blocks:
        per_call = b.frames_per_call(block)
        n_calls = max(2, round(seconds * sample_rate / per_call))
        pool = input_frames(b, min(n_calls, POOL_CALLS) * per_call, seed)
        check = pool[:min(n_calls, CHECK_CALLS) * per_call]
        reference = b.engine("reference")
        expected = run_calls(reference, check, per_call)
        entry = {"name": b.name, "kind": b.kind, "sizes": {k: _fmt(v) for k, v in b.sizes.items()},
                 "input_size": b.input_size, "output_size": b.output_size, "frames_per_call": per_call,
                 "weight_bytes": b.weight_bytes, "in_ir": b.model is not None, "engines": {}}
        if b.kind == "matvec_int8":
            entry["quantization_error"] = quantization_error(b, check)
        timing = CycledFrames(pool, per_call, n_calls)
        for name in names:
            entry["engines"][name] = cell = _check_and_time(b, name, reference, check, expected, timing, per_call,
                                                            sample_rate, tolerance)
            if log:
                log(f"  {b.name:<48} {name:<12} {_cell(cell)}")
        result["blocks"].append(entry)
    return result


def _cell(cell: dict) -> str:
    if "unsupported" in cell:
        return f"n/a: {cell['short']}"
    if "failed" in cell:
        return f"FAIL: err {cell['max_abs_error']:.1e}"
    return f"{cell['mean_ns'] / 1000:.1f}"


def _line(cells: list, widths: list) -> str:
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def zoo_table(result: dict) -> str:
    """Return the zoo result as a table (rows: blocks, columns: engines, cells: mean us per call) and notes."""
    r, names = result, result["engines"]
    head = ["block", *names]
    rows = [[e["name"]] + [_cell(e["engines"][n]) for n in names] for e in r["blocks"]]
    widths = [max(len(x) for x in column) for column in zip(head, *rows)]
    lines = [f"mean microseconds per call of {r['block']} frames at {r['sample_rate']:g} Hz (budget "
             f"{r['block'] / r['sample_rate'] * 1e6:.1f} us; a transformer call carries its tokens), "
             f"{r['seconds']:g} s per pair, one thread", _line(head, widths)]
    lines += [_line(row, widths) for row in rows]
    errors = {n: [e["engines"][n]["max_abs_error"] for e in r["blocks"] if "mean_ns" in e["engines"][n]]
              for n in names}
    lines.append("largest max abs error against the reference among timed pairs: "
                 + ", ".join(f"{n} {max(v):.1e}" for n, v in errors.items() if v))
    notes = []
    for e in r["blocks"]:
        for n in names:
            cell = e["engines"][n]
            if "unsupported" in cell:
                notes.append(f"n/a: {n} on {e['kind']}: {cell['unsupported']}")
            elif "failed" in cell:
                notes.append(f"FAIL: {n} on {e['name']}: {cell['failed']}")
        if "quantization_error" in e:
            notes.append(f"{e['name']}: int8 weights move the output by up to {e['quantization_error']:.2g} "
                         f"from the float32 matvec")
    return "\n".join(lines + list(dict.fromkeys(notes)))
