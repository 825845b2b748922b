"""WAV files in and out as float32 arrays: (n,) for mono, (n, channels) otherwise."""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from ..errors import FormatError, InputError
from ..files import atomic_path

_INT_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


def read_wav(path) -> tuple:
    """Return (audio float32, sample_rate) read from a WAV file; integer PCM is scaled to [-1, 1)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such audio file.")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", wavfile.WavFileWarning)
            rate, data = wavfile.read(path)
    except (ValueError, OSError, EOFError, struct.error, ZeroDivisionError, IndexError, UnboundLocalError,
            MemoryError, OverflowError) as exc:
        if isinstance(exc, UnboundLocalError):  # scipy's answer to a file without a fmt chunk
            raise FormatError(f"{path}: not a readable WAV file (it has no fmt chunk).") from None
        raise FormatError(f"{path}: not a readable WAV file ({exc or type(exc).__name__}).") from None
    short = [str(w.message) for w in caught if "prematurely" in str(w.message) or "EOF" in str(w.message)]
    if short:
        raise FormatError(f"{path}: the file is truncated ({short[0].rstrip('.')}); re-export or re-record it.")
    if data.size == 0:
        raise FormatError(f"{path}: the WAV file holds no samples.")
    if data.dtype == np.uint8:
        audio = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype in _INT_SCALE:
        audio = data.astype(np.float32) / np.float32(_INT_SCALE[data.dtype])
    elif data.dtype.kind == "f":
        audio = data.astype(np.float32)
    else:
        raise FormatError(f"{path}: WAV sample format {data.dtype} is not supported; use 16/32-bit PCM or float.")
    if not np.isfinite(audio).all():
        raise InputError(f"{path}: the audio contains NaN or infinite samples.")
    return audio, int(rate)


def write_wav(path, audio, sample_rate: float) -> Path:
    """Write float audio as a 32-bit float WAV file (atomically) and return its path."""
    path = Path(path)
    audio = np.asarray(audio, dtype=np.float32)
    try:
        with atomic_path(path, "audio file") as tmp:
            wavfile.write(tmp, int(round(sample_rate)), audio)
    except OSError as exc:
        raise FormatError(f"{path}: cannot be written ({exc.strerror}).") from None
    return path
