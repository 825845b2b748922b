"""The compiled DSP library (trt_dsp.c, built with tinyrt.c.build), its ctypes structs, and input checks."""
from __future__ import annotations

import ctypes
import functools

import numpy as np

from ..c import HOST_DIR
from ..c.build import build, flags_for
from ..errors import BuildError, InputError

PTR, INT, FLT = ctypes.c_void_p, ctypes.c_int, ctypes.c_float


class RFFT(ctypes.Structure):
    """Mirror of trt_rfft."""
    _fields_ = [("n", INT), ("tw", PTR), ("rev", PTR)]


class MelBank(ctypes.Structure):
    """Mirror of trt_mel_bank."""
    _fields_ = [("n_mels", INT), ("start", PTR), ("length", PTR), ("weights", PTR)]


class FeatureConfig(ctypes.Structure):
    """Mirror of trt_feature_config."""
    _fields_ = [("fft", RFFT), ("window", PTR), ("mel", MelBank), ("sample_rate", FLT), ("mel_power", INT),
                ("shape_power", INT), ("log_kind", INT), ("amin", FLT), ("top_db", FLT), ("log_offset", FLT),
                ("rolloff_fraction", FLT), ("flatness_amin", FLT), ("kinds", PTR), ("n_kinds", INT)]


class Framer(ctypes.Structure):
    """Mirror of trt_framer."""
    _fields_ = [("ring", PTR), ("n", INT), ("hop", INT), ("pos", INT), ("need", INT)]


# feature kinds, as TRT_FEAT_* in trt_frames.h
KINDS = {"power": 0, "mel": 1, "log_mel": 2, "rms": 3, "zcr": 4, "centroid": 5, "bandwidth": 6, "rolloff": 7,
         "flatness": 8}
SIGNATURES = {
    "trt_dsp_sizeof": ([INT], ctypes.c_size_t),
    "trt_dsp_rfft_init": ([PTR, INT, PTR, PTR], None),
    "trt_dsp_rfft": ([PTR, PTR, PTR, PTR, INT], None),
    "trt_dsp_hann": ([PTR, INT], None),
    "trt_dsp_spectrum": ([PTR, PTR, INT, INT, INT], None),
    "trt_dsp_mel": ([PTR, PTR, INT, PTR, INT], None),
    "trt_dsp_log": ([PTR, INT, INT, INT, FLT, FLT, FLT], None),
    "trt_dsp_sosfilt": ([PTR, INT, PTR, PTR, PTR, INT], None),
    "trt_dsp_ema": ([PTR, FLT, PTR, PTR, INT], None),
    "trt_dsp_frame_feature": ([INT, PTR, INT, INT, FLT, FLT, PTR], None),
    "trt_dsp_framer_init": ([PTR, PTR, INT, INT], None),
    "trt_dsp_stream": ([PTR, PTR, PTR, INT, PTR, PTR, PTR], INT),
}
_current = {"profile": "portable"}  # the tested default; use_profile changes it for the whole process


def use_profile(profile: str) -> None:
    """Build (if needed) and use the DSP library of a build profile (portable, native, sanitize) from now on."""
    flags_for(profile)  # refuses an unknown profile
    _load(profile)
    _current["profile"] = profile


def library():
    """Return the loaded DSP library of the current build profile (compiled and cached on first use)."""
    return _load(_current["profile"])


@functools.cache
def _load(profile: str):
    path = build({"trt_dsp.c": (HOST_DIR / "trt_dsp.c").read_text()}, "libtrt_dsp.so", profile=profile)
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise BuildError(f"the compiled DSP library {path} could not be loaded ({exc}).") from None
    for name, (args, res) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    for which, struct in enumerate((RFFT, MelBank, FeatureConfig, Framer)):
        if lib.trt_dsp_sizeof(which) != ctypes.sizeof(struct):
            raise BuildError(f"the DSP library's {struct.__name__} layout differs from tinyrt.dsp's; "
                             f"delete the cache folder {path.parent} and retry.")
    return lib


def ptr(a: np.ndarray):
    """Return the address of a C-contiguous array's data, for a ctypes call."""
    return a.ctypes.data


def fft_size(n, what: str = "the FFT size") -> int:
    """Return n as an int if it is a power of two in 4..65536; raise InputError otherwise."""
    if isinstance(n, (bool, np.bool_)) or not float(n).is_integer() or int(n) < 4 or int(n) > 65536 \
            or int(n) & (int(n) - 1):
        raise InputError(f"{what} {n!r} is not a power of two between 4 and 65536; use e.g. 512 or 1024.")
    return int(n)


def positive(value, what: str) -> float:
    """Return value as a float if it is finite and > 0; raise InputError otherwise."""
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"{what} must be a positive number, got {value!r}.")
    return float(value)


def samples(x, what: str = "the audio", ndim: int | None = 1, kinds: str = "f") -> np.ndarray:
    """Return x as C-contiguous float32 after checking its dtype kind (in kinds), shape, size and finiteness."""
    a = np.asarray(x)
    if a.dtype.kind not in kinds:
        what_values = "floating-point values (float32 or float64)" if kinds == "f" else "real numbers"
        raise InputError(f"{what} has dtype {a.dtype}; pass {what_values}.")
    if ndim is not None and a.ndim != ndim:
        shape = "(n,)" if ndim == 1 else f"a {ndim}-D array"
        raise InputError(f"{what} must be {shape}, got shape {a.shape}.")
    if a.ndim == 0:
        raise InputError(f"{what} must be an array, got the scalar {a!r}.")
    if a.size == 0:
        raise InputError(f"{what} is empty; pass at least one value.")
    if not np.isfinite(a).all():
        raise InputError(f"{what} contains NaN or infinite values; clean or clip it first.")
    return np.ascontiguousarray(a, dtype=np.float32)


def rows(x, what: str, width: int | None = None) -> tuple:
    """Return (x as (rows, last dim) float32, leading shape) for an (..., width) array."""
    a = samples(x, what, ndim=None)
    if width is not None and a.shape[-1] != width:
        raise InputError(f"{what} must have {width} values in its last dimension, got shape {a.shape}.")
    return np.ascontiguousarray(a.reshape(-1, a.shape[-1])), a.shape[:-1]
