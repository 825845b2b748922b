"""The C engine: generate, compile (cached) and load a model as a shared library via ctypes."""
from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from ...c import included_headers
from ...c.build import build
from ...errors import BuildError, InputError
from ...files import write_text
from ..base import Backend
from .codegen import CCode, generate


def load_compiled(library, ident: str, what: str) -> tuple:
    """Return (ctypes library, 64-byte aligned state buffer, its address) of a built C library.

    The buffer holds ``<ident>_state_size()`` bytes and belongs to the caller (keep it alive).
    """
    try:
        lib = ctypes.CDLL(str(library))
    except OSError as exc:
        raise BuildError(f"the compiled {what} {library} could not be loaded ({exc}).") from None
    size = getattr(lib, f"{ident}_state_size")
    size.restype = ctypes.c_size_t
    buf = np.zeros(size() + 64, dtype=np.uint8)
    return lib, buf, buf.ctypes.data + (-buf.ctypes.data) % 64


def _call_source(ident: str) -> str:
    """Return the C of the engine's audio call: the model's process with flush-to-zero / denormals-are-zero set."""
    return f"""/* the engine's audio call from Python: {ident}_process with FTZ/DAZ set for its duration (trt_proc.h) */
#include "trt_proc.h"
#include "{ident}.h"

void trt_call_{ident}(void *s, const float *in, float *out, int n);

void trt_call_{ident}(void *s, const float *in, float *out, int n)
{{
    unsigned long env;
    trt_proc_fpenv_enter(&env);
    {ident}_process(({ident}_state *)s, in, out, n);
    trt_proc_fpenv_leave(env);
}}
"""


class CBackend(Backend):
    """Runs the generated C99 engine in-process.

    Options: ``profile`` ("portable" -O2, "native" -O3 -march=native), ``activations``
    ("precise" or "fast" approximations), ``weights`` ("float32" or "bf16" storage), ``name``.
    Every call runs with flush-to-zero and denormals-are-zero set (and the caller's mode restored), as
    an audio host runs its callback.
    """

    name = "c"

    def __init__(self, model, *, profile: str = "portable", activations: str = "precise",
                 weights: str = "float32", name: str | None = None):
        super().__init__(model)
        self.code: CCode = generate(model, name, activations, weights)
        files = {**self.code.files(), "trt_call.c": _call_source(self.code.name)}
        self.library = build(files, f"lib{self.code.name}.so", profile=profile)
        ident = self.code.name
        lib, self._state_buf, self._state = load_compiled(self.library, ident, "model")
        self._lib = lib
        self._reset_fn = getattr(lib, f"{ident}_reset")
        self._reset_fn.argtypes = [ctypes.c_void_p]
        self._reset_fn.restype = None
        self._process_fn = getattr(lib, f"trt_call_{ident}")
        self._process_fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self._process_fn.restype = None
        self._reset()

    def _reset(self) -> None:
        self._reset_fn(self._state)

    def _process(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty((len(frames), self.model.output_size), dtype=np.float32)
        step = 1 << 30
        for t in range(0, len(frames), step):
            chunk = frames[t:t + step]
            self._process_fn(self._state, chunk.ctypes.data, out[t:t + step].ctypes.data, len(chunk))
        return out


def export(model, path: Path, *, name: str | None = None, activations: str = "precise",
           weights: str = "float32") -> Path:
    """Write `<name>.h`, `<name>.c` and the runtime headers they include (transitively) into folder `path`."""
    code = generate(model, name, activations, weights)  # everything is generated before a file is touched
    files = {**included_headers(*code.files().values()), **code.files()}
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"the C export folder {path} is a file; give a folder name.")
    for fname, text in files.items():
        write_text(path / fname, text, "C export file")  # each file atomically: never half a header
    return path
