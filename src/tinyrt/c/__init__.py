"""The hand-written C99 runtime and the toolchains that build it.

``runtime/`` holds the kernels that go on a device: ``trt_*.h`` headers that allocate nothing and
include no stdio, stdlib, pthread, dlfcn or time. ``host/`` holds C that only runs on the machine
tinyrt runs on: the timing/check harness (trt_harness.c) and the DSP library Python loads with
ctypes (trt_dsp.c).
"""
import re
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
HOST_DIR = Path(__file__).resolve().parent / "host"

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def runtime_headers() -> dict:
    """Return {file name: text} of every runtime header."""
    return {p.name: p.read_text() for p in sorted(RUNTIME_DIR.glob("trt_*.h"))}


def included_headers(*texts: str) -> dict:
    """Return {file name: text} of the runtime headers the C texts include, directly or through each other."""
    available, found = runtime_headers(), {}
    todo = [name for text in texts for name in _INCLUDE.findall(text)]
    while todo:
        name = todo.pop()
        if name in available and name not in found:
            found[name] = available[name]
            todo += _INCLUDE.findall(found[name])
    return dict(sorted(found.items()))
