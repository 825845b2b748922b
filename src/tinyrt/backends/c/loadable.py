"""Loadable tree models: a compact binary file (read in C by trt_trees_load) and a text CSV.

Binary ("TRTT", version 1, little-endian): a 64-byte header (magic, version, counts, kinds,
bytes per feature index, total length, denominator, offset, proba_scale), then 8-byte aligned
arrays in trt_trees.h's order (bias, leaf values, thresholds, int16 scales, features (uint8 up to
256 features, else uint16), children, roots, output columns), then a CRC-32 of everything before
it in the last 4 bytes.

CSV (one line per item, like emlearn-micropython's): ``t,1`` (version); ``m,`` counts and
kinds; ``p,denominator,offset,proba_scale``; ``b,`` bias; ``s,`` int16 scales; ``r,root,output``
per tree; ``n,feature,threshold,left,right`` per split node; ``l,`` values per leaf row. Nodes
are numbered like trt_trees.h: split nodes, then leaf row r as node n_nodes + r.
"""
from __future__ import annotations

import ctypes
import functools
import struct
import zlib

import numpy as np

from ...c.build import build
from ...errors import BuildError, FormatError, UnsupportedError
from .classic import FEATURES, PREDICT, PROBA, REGRESSION, ClassicSpec
from .trees import TreeTables

MAGIC, VERSION, HEADER = b"TRTT", 1, 64
MAX_DEPTH = 64  # TRT_TREES_MAX_DEPTH
COMBINE = {"mean": 0, "sum": 1, "isolation": 2}
ERRORS = ("ok", "short", "magic", "version", "length", "checksum", "counts", "child", "feature", "leaf", "depth",
          "align", "value")  # trt_trees_load's codes, in order


def _check_limits(spec: ClassicSpec) -> None:
    t = spec.tables
    t.check_node_limits("the loadable format")
    if t.max_depth > MAX_DEPTH:
        raise UnsupportedError(f"a tree is {t.max_depth} splits deep; the loadable format holds trees up to depth "
                               f"{MAX_DEPTH} (set max_depth when fitting).")
    for what, n in (("features", t.n_features), ("outputs", t.n_outputs), ("trees", t.n_trees)):
        if n > 0xFFFF:
            raise UnsupportedError(f"the model has {n} {what}; the loadable format holds at most 65535.")


def _pad8(b: bytes) -> bytes:
    return b + bytes(-len(b) % 8)


def to_binary(spec: ClassicSpec) -> bytes:
    """Return the binary model file of a model's C form."""
    _check_limits(spec)
    t, info = spec.tables, spec.info
    threshold, feature, children = t.node_arrays(spec.threshold_q)
    arrays = [np.asarray(t.bias, "<f8"), np.asarray(t.leaf_values, "<f8")]
    if spec.scale is None:
        arrays.append(np.asarray(threshold, "<f4"))
    else:
        arrays += [np.asarray(threshold, "<i2"), np.asarray(spec.scale, "<f4")]
    feature_bytes = 1 if t.n_features <= 256 else 2
    arrays += [np.asarray(feature, "<u1" if feature_bytes == 1 else "<u2"), np.asarray(children, "<i2"),
               np.asarray(t.roots, "<i2"), np.asarray(t.outputs, "<u2")]
    body = b"".join(_pad8(a.tobytes()) for a in arrays)
    total = HEADER + len(body) + 8
    head = struct.pack("<4sHHHHHHHHBBBBBBHIddd8x", MAGIC, VERSION, HEADER, t.n_features, t.n_outputs, t.n_trees,
                       t.leaf_width, t.n_splits, len(t.leaf_values), t.max_depth, COMBINE[t.combine],
                       PREDICT[info["predict"]], PROBA[info["proba"]], int(spec.scale is not None), feature_bytes,
                       spec.n_classes, total, t.denominator, info["offset"], info["proba_scale"])
    data = head + body + bytes(4)
    return data + struct.pack("<I", zlib.crc32(data))


def _g(v) -> str:
    return repr(float(v))


def to_csv(spec: ClassicSpec) -> str:
    """Return the CSV text of a model's C form."""
    _check_limits(spec)
    t, info = spec.tables, spec.info
    lines = ["t,1", "m," + ",".join(str(v) for v in (
        t.n_features, t.n_outputs, t.n_trees, t.leaf_width, t.n_splits, len(t.leaf_values), t.max_depth,
        t.combine, info["predict"], info["proba"], "float32" if spec.scale is None else "int16", spec.n_classes)),
        f"p,{_g(t.denominator)},{_g(info['offset'])},{_g(info['proba_scale'])}",
        "b," + ",".join(_g(v) for v in t.bias)]
    if spec.scale is not None:
        lines.append("s," + ",".join(_g(v) for v in spec.scale))
    lines += [f"r,{r},{o}" for r, o in zip(t.roots, t.outputs)]
    thresholds = t.threshold if spec.threshold_q is None else spec.threshold_q
    for f, th, (left, right) in zip(t.feature, thresholds, t.children):
        lines.append(f"n,{f},{_g(th) if spec.threshold_q is None else int(th)},{left},{right}")
    lines += ["l," + ",".join(_g(v) for v in row) for row in t.leaf_values]
    return "\n".join(lines) + "\n"


def _info_from_kinds(predict: str, proba: str, n_classes: int, offset: float, proba_scale: float) -> dict:
    task = {"value": "regressor", "value_exp": "regressor", "outlier": "outlier"}.get(predict, "classifier")
    methods = {"regressor": ["predict"], "outlier": ["predict", "decision_function", "score_samples"],
               "classifier": ["predict", "predict_proba"] + (["decision_function"] if proba != "raw" else [])}[task]
    classes = list(range(n_classes)) if task == "classifier" else ([-1, 1] if task == "outlier" else None)
    return {**REGRESSION, "estimator": "tree_ensemble (from CSV)", "task": task, "predict": predict, "proba": proba,
            "offset": offset, "proba_scale": proba_scale, "methods": methods, "classes": classes}


def read_csv(text: str, form: str = "nodes") -> ClassicSpec:
    """Return the C form of a model from its CSV text; raise FormatError naming the bad line."""
    items: dict = {"r": [], "n": [], "l": []}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, *fields = line.strip().split(",")
        if kind not in ("t", "m", "p", "b", "s", "r", "n", "l"):
            raise FormatError(f"line {number}: unknown line kind {kind!r}; a tinyrt trees CSV has t, m, p, b, s, r, "
                              f"n and l lines.")
        if kind in items:
            items[kind].append((number, fields))
        else:
            items[kind] = (number, fields)
    try:
        if items.get("t", (0, ["?"]))[1] != ["1"]:
            raise FormatError("the file does not start with the line 't,1'; it is not a tinyrt trees CSV (version 1).")
        m = items["m"][1]
        n_features, n_outputs, n_trees, width, n_nodes, n_leaves, depth = (int(v) for v in m[:7])
        combine, predict, proba, features, n_classes = m[7], m[8], m[9], m[10], int(m[11])
        denominator, offset, proba_scale = (float(v) for v in items["p"][1])
        if combine not in COMBINE or predict not in PREDICT or proba not in PROBA or features not in FEATURES:
            raise FormatError(f"line {items['m'][0]}: unknown kind in {','.join(m[7:11])}.")
        counts = {"r": n_trees, "n": n_nodes, "l": n_leaves}
        for kind, n in counts.items():
            if len(items[kind]) != n:
                raise FormatError(f"the m line declares {n} '{kind}' lines but the file has {len(items[kind])}.")
        nodes = np.array([[float(v) for v in f] for _, f in items["n"]]).reshape(n_nodes, 4)
        roots = np.array([[int(v) for v in f] for _, f in items["r"]], dtype=np.int64).reshape(n_trees, 2)
        leaves = np.array([[float(v) for v in f] for _, f in items["l"]]).reshape(n_leaves, width)
        tables = TreeTables(n_features, n_outputs, width, combine, denominator, depth,
                            nodes[:, 0].astype(np.int64), nodes[:, 1].astype(np.float32),
                            nodes[:, 2:].astype(np.int64), roots[:, 0], roots[:, 1], leaves,
                            np.array([float(v) for v in items["b"][1]]).reshape(n_outputs))
        scale = None if features == "float32" else np.array([float(v) for v in items["s"][1]], np.float32)
    except FormatError:
        raise
    except KeyError as exc:
        raise FormatError(f"the CSV has no {exc.args[0]!r} line.") from None
    except (ValueError, IndexError) as exc:
        raise FormatError(f"a line has a field of the wrong type or count ({exc}).") from None
    info = _info_from_kinds(predict, proba, n_classes, offset, proba_scale)
    q = None if scale is None else nodes[:, 1].astype(np.int16)
    return ClassicSpec(tables, info, form, scale, q)


LOADER = """#include "trt_trees.h"

int trt_loader_check(const void *buf, size_t len)
{
    trt_trees m;
    return trt_trees_load(buf, len, &m);
}

int trt_loader_run(const void *buf, size_t len, const void *x, int n, double *raw, int *cls)
{
    trt_trees m;
    int i, err = trt_trees_load(buf, len, &m);
    for (i = 0; err == TRT_TREES_OK && i < n; i++) {
        if (m.threshold_q)
            trt_trees_raw_q(&m, (const int16_t *)x + (size_t)i * m.n_features, raw + (size_t)i * m.n_outputs);
        else
            trt_trees_raw(&m, (const float *)x + (size_t)i * m.n_features, raw + (size_t)i * m.n_outputs);
        cls[i] = trt_trees_class(&m, raw + (size_t)i * m.n_outputs);
    }
    return err;
}
"""


@functools.cache
def _loader():
    path = build({"trt_loader.c": LOADER}, "libtrt_loader.so")
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise BuildError(f"the compiled loader {path} could not be loaded ({exc}).") from None
    lib.trt_loader_check.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.trt_loader_run.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_int,
                                   ctypes.c_void_p, ctypes.c_void_p]
    return lib


def _aligned(data: bytes) -> np.ndarray:
    buf = np.zeros(-(-max(len(data), 1) // 8), dtype=np.uint64)  # 8-byte aligned, as trt_trees_load needs
    buf.view(np.uint8)[:len(data)] = np.frombuffer(data, dtype=np.uint8)
    return buf


def c_load(data: bytes, misaligned: bool = False) -> str:
    """Return the outcome of trt_trees_load on a binary file: "ok" or the error's name (see ERRORS).

    ``misaligned`` hands the loader the file one byte off 8-byte alignment (which it must refuse).
    """
    buf = _aligned(bytes(misaligned) + data)  # kept alive across the call
    return ERRORS[_loader().trt_loader_check(buf.ctypes.data + int(misaligned), len(data))]


def c_run(data: bytes, x: np.ndarray) -> tuple:
    """Return (raw outputs, predict results) of a binary model file loaded by the C loader, for input rows x."""
    rows = np.ascontiguousarray(x)
    n_out = struct.unpack_from("<H", data, 10)[0]
    raw = np.empty((len(rows), n_out))
    cls = np.empty(len(rows), dtype=np.int32)
    buf = _aligned(data)
    err = _loader().trt_loader_run(buf.ctypes.data, len(data), rows.ctypes.data, len(rows), raw.ctypes.data,
                                   cls.ctypes.data)
    if err:
        raise FormatError(f"the C loader rejected the model file ({ERRORS[err]}).")
    return raw, cls
