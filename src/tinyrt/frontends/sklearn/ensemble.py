"""Build a tree_ensemble IR layer from scikit-learn style node arrays, keeping every number exact.

Thresholds become the largest float32 not above scikit-learn's float64 threshold (so a float32
input compares the same way), leaf values and the bias keep their exact float64 value as three
float32 parts, nodes are renumbered depth first (every child after its parent), and identical
leaf rows are stored once.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir import Layer
from ...ir.reference_classic import join64


def round_down_f32(t64) -> np.ndarray:
    """Return the largest float32 values not above the float64 values t64 (+inf: the largest finite
    float32, which every finite float32 input is also below)."""
    t64 = np.asarray(t64, dtype=np.float64)
    with np.errstate(over="ignore"):
        t32 = t64.astype(np.float32)
    above = t32.astype(np.float64) > t64
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    t32[t32 == np.inf] = np.finfo(np.float32).max
    return t32


def exact_weights(**arrays) -> dict:
    """Return IR weights holding float64 arrays exactly: each as float32 plus its two low parts."""
    out = {}
    for key, value in arrays.items():
        out[key], out[f"{key}_lo"] = split64(np.asarray(value, dtype=np.float64))
    return out


def split64(v) -> tuple:
    """Return (hi, lo) float32 arrays with (hi + lo[..., 0]) + lo[..., 1] == v exactly in float64."""
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        hi = v.astype(np.float32)
        mid = (v - hi.astype(np.float64)).astype(np.float32)
        lo = (v - hi.astype(np.float64) - mid.astype(np.float64)).astype(np.float32)
        parts = np.stack([mid, lo], axis=-1)
        bad = ~(join64(hi, parts) == v)
    if bad.any():
        raise UnsupportedError(f"the value {float(v[bad].flat[0])!r} cannot be stored exactly as float32 parts; tinyrt "
                               f"stores leaf values between 1e-29 and 3e38 in magnitude (or 0) exactly.")
    return hi, parts


class TreeBuilder:
    """Collects trees, one at a time, into a single tree_ensemble layer."""

    def __init__(self, n_features: int, n_outputs: int, leaf_width: int):
        self.n_features, self.n_outputs, self.width = n_features, n_outputs, leaf_width
        self.nodes: list = []  # per tree: (feature, threshold, left, right, leaf) arrays
        self.roots: list = []
        self.outputs: list = []
        self.rows: dict = {}   # exact float64 row bytes -> row index
        self.n_nodes = 0

    def _row(self, values: np.ndarray) -> int:
        key = np.ascontiguousarray(values, dtype=np.float64).tobytes()
        return self.rows.setdefault(key, len(self.rows))

    def add(self, left, right, feature, threshold, values, output: int = 0, feature_map=None) -> None:
        """Add one tree given per-node arrays; a node is a leaf when left < 0; values is (nodes, width)."""
        left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
        feature, threshold = np.asarray(feature, np.int64), np.asarray(threshold, np.float64)
        values = np.asarray(values, np.float64).reshape(len(left), self.width)
        order, stack = [], [0]
        while stack:  # depth first, left before right: every child lands after its parent
            n = stack.pop()
            order.append(n)
            if left[n] >= 0:
                stack += [int(right[n]), int(left[n])]
        order = np.asarray(order)
        new = np.full(len(left), -1, dtype=np.int64)
        new[order] = self.n_nodes + np.arange(len(order))
        split = left[order] >= 0
        feats = feature[order] if feature_map is None else np.asarray(feature_map, np.int64)[feature[order]]
        t32 = round_down_f32(np.where(split, threshold[order], 0.0))
        if not np.isfinite(t32).all():
            raise UnsupportedError("a split threshold is below the float32 range (-3.4e38); tinyrt compares "
                                   "float32 features and cannot represent it.")
        leaf = np.array([self._row(values[n]) if not s else -1 for n, s in zip(order, split)], dtype=np.int64)
        self.nodes.append((np.where(split, feats, -1), t32, np.where(split, new[left[order]], -1),
                           np.where(split, new[right[order]], -1), leaf))
        self.roots.append(self.n_nodes)
        self.outputs.append(output)
        self.n_nodes += len(order)

    def layer(self, combine: str, bias=None, denominator: float = 1.0, name: str = "") -> Layer:
        """Return the tree_ensemble layer holding every tree added so far."""
        feature, threshold, left, right, leaf = (np.concatenate(parts) for parts in zip(*self.nodes))
        table = np.frombuffer(b"".join(self.rows), dtype=np.float64).reshape(len(self.rows), self.width)
        value, value_lo = split64(table)
        bias, bias_lo = split64(np.zeros(self.n_outputs) if bias is None else bias)
        return Layer("tree_ensemble", name=name, params={
            "features": self.n_features, "outputs": self.n_outputs, "trees": len(self.roots),
            "nodes": self.n_nodes, "leaves": len(self.rows), "leaf_width": self.width,
            "combine": combine, "denominator": float(denominator)},
            weights={"feature": feature, "threshold": threshold, "left": left, "right": right, "leaf": leaf,
                     "root": np.asarray(self.roots), "output": np.asarray(self.outputs), "value": value,
                     "value_lo": value_lo, "bias": bias, "bias_lo": bias_lo})
