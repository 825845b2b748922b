"""Drive the C harness: parity runs, timing from C, and real-time safety checks of a model."""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ...c.build import build, section_sizes
from ...errors import BuildError
from .codegen import CCode, generate

# symbols generated model code may reference: math and memory copies, nothing that can
# allocate, lock, wait or do I/O
# C library calls the generated code may make in the audio thread (pow: IsolationForest's score)
# (powf: the processor's dB gains, once per chunk; strcmp: the processor's parameter lookup by name)
ALLOWED_SYMBOLS = frozenset({"memcpy", "memmove", "memset", "erff", "expf", "tanhf", "expm1f", "fabsf", "pow",
                             "powf", "strcmp"})


def build_harness(code: CCode, *, profile: str = "portable", hooks: bool = False, extra_flags=()) -> Path:
    """Return the path of the C harness executable for generated code (built and cached)."""
    extra = [f"-DTRT_MODEL={code.name}", f'-DTRT_MODEL_HEADER="{code.name}.h"', *extra_flags]
    if hooks:
        extra += ["-DTRT_HOOKS", "-D_GNU_SOURCE", "-std=gnu99"]
    return build(code.files(), f"{code.name}-harness", kind="executable", profile=profile,
                 extra_flags=extra, with_harness=True)


def harness(model, *, profile: str = "portable", hooks: bool = False, extra_flags=(), **codegen_options) -> Path:
    """Return the path of the model's C harness executable (built and cached)."""
    return build_harness(generate(model, **codegen_options), profile=profile, hooks=hooks,
                         extra_flags=extra_flags)


def object_sizes(code: CCode, *, profile: str = "portable") -> dict:
    """Return the text/rodata/data/bss bytes of generated model code compiled alone (no harness)."""
    return section_sizes(build(code.files(), f"{code.name}.o", kind="object", profile=profile))


def _run(cmd: list, what: str) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"the C harness failed while {what} (exit {proc.returncode}): "
                         f"{(proc.stderr or proc.stdout).strip()[:2000]}")
    return proc.stdout


def run(model, frames: np.ndarray, seed: int = 0, **options) -> np.ndarray:
    """Return the harness's output for frames, processed in random call sizes drawn from seed."""
    exe = harness(model, **options)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.f32", Path(tmp) / "out.f32"
        np.ascontiguousarray(frames, dtype=np.float32).tofile(src)
        _run([exe, "run", src, dst, seed], "processing audio")
        return np.fromfile(dst, dtype=np.float32).reshape(-1, model.output_size)


def time(model, frames: int, block: int, reps: int = 5, **options) -> dict:
    """Return the harness's timing JSON: pass_ns per repetition and per-call statistics."""
    return json.loads(_run([harness(model, **options), "time", frames, block, reps], "timing"))


def measure(model, frames: int, block: int, seconds: float, exe=None, **options) -> dict:
    """Return one measuring run of the harness: each call's wall ns, thread CPU ns and involuntary switches.

    The calls run back to back for ``seconds`` of wall time over ``frames`` frames of noise (cycled) in
    calls of ``block`` frames; the timers' own cost is already subtracted (see trt_harness.c). ``exe``:
    the model's harness when already built (repeated runs skip generating and hashing the code).
    """
    exe = exe or harness(model, **options)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calls.f64"
        info = json.loads(_run([exe, "measure", frames, block, repr(float(seconds)), path], "measuring"))
        calls = np.fromfile(path, dtype=np.float64).reshape(-1, 3)
    return {**info, "wall_ns": calls[:, 0], "cpu_ns": calls[:, 1], "switches": calls[:, 2]}


def profile_harness(model, *, profile: str = "native", **codegen_options) -> tuple:
    """Return (instrumented harness executable, layer path of each timed region), built and cached."""
    code = generate(model, **codegen_options)
    flags = ["-DTRT_PROFILE", f"-DTRT_PROF_REGIONS={len(code.regions)}"]
    return build_harness(code, profile=profile, extra_flags=flags), list(code.regions)


def layer_times(exe: Path, frames: int, block: int) -> dict:
    """Return an instrumented harness's profile JSON: each region's ns per call and count, the timer's cost."""
    return json.loads(_run([exe, "profile", frames, block], "profiling layers"))


def check_code(code: CCode, frames: int = 4096, block: int = 64) -> dict:
    """Return heap and lock call counts seen during process calls of generated code, and its symbols."""
    result = json.loads(_run([build_harness(code, hooks=True), "check", frames, block], "checking"))
    files = code.files()
    headers = {n: t for n, t in files.items() if not n.endswith(".c")}
    symbols, defined = set(), set()
    for source in sorted(n for n in files if n.endswith(".c")):  # every C file of the code, compiled alone
        obj = build({**headers, source: files[source]}, f"{source[:-2]}.o", kind="object")
        out = _run(["nm", "-u", obj], "listing symbols")
        symbols |= {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
        out = _run(["nm", "-g", "--defined-only", obj], "listing symbols")
        defined |= {line.split()[-1] for line in out.splitlines() if line.strip()}
    result["symbols"] = sorted(symbols - defined)  # what the code needs from outside itself
    result["forbidden_symbols"] = sorted(set(result["symbols"]) - ALLOWED_SYMBOLS)
    result["passed"] = (result["probe_heap_calls"] > 0 and result["heap_calls"] == 0
                        and result["lock_calls"] == 0 and not result["forbidden_symbols"])
    return result


def check_realtime(model, frames: int = 4096, block: int = 64, **codegen_options) -> dict:
    """Return the real-time check of a model's generated code (see check_code)."""
    return check_code(generate(model, **codegen_options), frames, block)
