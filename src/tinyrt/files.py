"""Files in and out safely: atomic writes and bounded reads.

Every file tinyrt writes goes to a temporary file in the target folder first and is renamed into
place only when complete, so a failed save never damages the file that was there. Every loader
checks sizes, counts and depths against ``LIMITS`` before it allocates for them. A limit a real
model could exceed can be raised with an environment variable ``TINYRT_MAX_<NAME>`` (for example
``TINYRT_MAX_ARRAY_BYTES=4000000000``).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import FormatError, InputError

_DEFAULTS = {
    "json_bytes": 64 << 20,       # a model.json, RTNeural/NAM/CoreAudioML JSON file, TOML config
    "json_depth": 64,             # nesting of objects and lists in any JSON document
    "array_bytes": 1 << 30,       # one weight array, after decompression
    "archive_bytes": 2 << 30,     # all members of a .tinyrt or .npz archive, after decompression
    "archive_members": 4096,      # arrays in one .npz
    "layer_units": 65536,         # features, channels or hidden units of one layer, as a model file declares them
    "layers": 1024,               # layers in one model file (or stacked layers of one recurrent unit)
    "weights": 1 << 26,           # weight values one layer (or zoo block) may need, counted in values
    "taps": 1 << 20,              # a convolution's receptive field in samples ((kernel - 1) * dilation + 1)
    "block_size": 65536,          # samples in one frame
    "gain_db": 240,               # the size of a gain in dB (either sign)
}


def limit(name: str) -> int:
    """Return the limit called name: TINYRT_MAX_<NAME> from the environment, else the default."""
    value = os.environ.get(f"TINYRT_MAX_{name.upper()}")
    if value is None:
        return _DEFAULTS[name]
    try:
        n = int(value)
    except ValueError:
        raise InputError(f"TINYRT_MAX_{name.upper()} must be a whole number of "
                         f"{'bytes' if 'bytes' in name else 'items'}, got {value!r}.") from None
    if n < 1:
        raise InputError(f"TINYRT_MAX_{name.upper()} must be positive, got {n}.")
    return n


LIMITS = _DEFAULTS  # the defaults, for documentation and tests


def check_limit(value, name: str, what: str, where: str | None = None, error=FormatError):
    """Return value if it is at most limit(name); else raise error in one sentence naming what, value and limit."""
    cap = limit(name)
    if value > cap:
        prefix = f"{where}: " if where else ""
        raise error(f"{prefix}{what} is {value}, more than the limit of {cap} (raise TINYRT_MAX_{name.upper()} "
                    f"if the model really needs it).")
    return value


def output_path(path, what: str = "output") -> Path:
    """Return path as a Path after creating its folder; refuse a folder where a file is wanted."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"the {what} {path} is a folder; give a file name.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder {path.parent} for the {what} ({exc.strerror}).") from None
    return path


@contextlib.contextmanager
def atomic_path(path, what: str = "output"):
    """Yield a temporary path beside path; rename it onto path when the block succeeds, else remove it."""
    path = output_path(path, what)
    # the temporary name keeps the target's suffix: writers that add a missing one (np.save) add none
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.part-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path, data: bytes, what: str = "output") -> Path:
    """Write data to path atomically and return the path."""
    path = Path(path)
    try:
        with atomic_path(path, what) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write the {what} {path} ({exc.strerror}).") from None
    return path


def write_text(path, text: str, what: str = "output") -> Path:
    """Write text (UTF-8) to path atomically and return the path."""
    return write_bytes(path, text.encode("utf-8"), what)


def write_json(path, doc, what: str = "JSON output", **dump_options) -> Path:
    """Write doc as JSON to path atomically and return the path (serialised before anything is written)."""
    return write_text(path, json.dumps(doc, **{"indent": 1, **dump_options}), what)


def _depth(doc) -> int:
    """Return the nesting depth of a parsed JSON document (iteratively, so any depth is safe)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def loads_json(text, where: str):
    """Return the parsed JSON text (str or bytes), refusing oversized, over-deep or invalid documents."""
    size = len(text)
    if size > limit("json_bytes"):
        raise FormatError(f"{where}: the JSON is {size} bytes, more than the limit of {limit('json_bytes')} "
                          f"(raise TINYRT_MAX_JSON_BYTES for a larger model).")
    try:
        doc = json.loads(text)
    except RecursionError:
        raise FormatError(f"{where}: the JSON nests deeper than {limit('json_depth')} levels.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{where}: is not valid JSON ({exc}).") from None
    if _depth(doc) > limit("json_depth"):
        raise FormatError(f"{where}: the JSON nests deeper than {limit('json_depth')} levels.")
    return doc


def read_json(path, where: str | None = None):
    """Return the parsed JSON file at path (bounded like loads_json)."""
    path = Path(path)
    where = where or str(path)
    try:
        size = path.stat().st_size
        if size > limit("json_bytes"):
            raise FormatError(f"{where}: the JSON is {size} bytes, more than the limit of {limit('json_bytes')} "
                              f"(raise TINYRT_MAX_JSON_BYTES for a larger model).")
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{where}: cannot be read ({exc.strerror}).") from None
    return loads_json(data, where)


def read_member(zf: zipfile.ZipFile, name: str, cap: int, where: str) -> bytes:
    """Return one archive member's bytes, refusing encryption, unknown compression and sizes over cap."""
    info = zf.getinfo(name)
    if info.flag_bits & 0x1:
        raise FormatError(f"{where}: {name} is encrypted; tinyrt reads only plain archives.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FormatError(f"{where}: {name} uses compression method {info.compress_type}; tinyrt reads stored or "
                          f"deflated members only.")
    if info.file_size > cap:
        raise FormatError(f"{where}: {name} inflates to {info.file_size} bytes, more than the limit of {cap}.")
    try:
        with zf.open(info) as f:
            data = f.read(cap + 1)  # the header's size may lie: never read more than the cap
    except (zlib.error, zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise FormatError(f"{where}: {name} is damaged ({exc or type(exc).__name__}); re-create the file.") from None
    if len(data) > cap:
        raise FormatError(f"{where}: {name} inflates to more than the limit of {cap} bytes.")
    return data


def load_npz(data: bytes, where: str) -> dict:
    """Return {name: array} of an .npz archive's bytes, checking every array's header before reading it.

    Only real numeric arrays (float, int, bool) are accepted; shapes are checked against the member's
    size and the array limit before any memory is allocated for them.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FormatError(f"{where}: the weights are not a readable .npz archive ({exc}).") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limit("archive_members"):
            raise FormatError(f"{where}: the weights hold {len(infos)} arrays, more than the limit of "
                              f"{limit('archive_members')}.")
        total, out = 0, {}
        for info in infos:
            raw = read_member(zf, info.filename, limit("array_bytes") + 4096, where)
            total += len(raw)
            if total > limit("archive_bytes"):
                raise FormatError(f"{where}: the weights inflate to more than {limit('archive_bytes')} bytes.")
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            out[name] = _load_npy(raw, f"{where}: array {name!r}")
    return out


def _load_npy(raw: bytes, what: str) -> np.ndarray:
    f = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, SyntaxError, TypeError, OverflowError, EOFError, tokenize.TokenError) as exc:
        raise FormatError(f"{what} has an unreadable header ({exc or type(exc).__name__}).") from None
    if dtype.kind not in "fiub" or dtype.hasobject:
        raise FormatError(f"{what} holds {dtype} values; tinyrt reads only real numbers (float or integer).")
    count = 1
    for n in shape:
        count *= int(n)
    declared = count * dtype.itemsize
    if declared > limit("array_bytes"):
        raise FormatError(f"{what} declares {declared} bytes (shape {tuple(shape)}), more than the limit of "
                          f"{limit('array_bytes')}.")
    if declared != len(raw) - f.tell():
        raise FormatError(f"{what} declares shape {tuple(shape)} ({declared} bytes) but holds "
                          f"{len(raw) - f.tell()} bytes.")
    a = np.frombuffer(raw, dtype=dtype, count=count, offset=f.tell())
    return a.reshape(shape, order="F" if fortran else "C").copy()
