"""Checks that a Model is well formed; every complaint names the layer and the field."""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .knobs import check as check_knobs
from .layers import (
    ACTIVATIONS,
    GMM_COVARIANCES,
    INPUT,
    KNN_METRICS,
    KNN_TREES,
    KNN_WEIGHTS,
    POOL_MODES,
    REQUIRED,
    SCALER_MODES,
    SPECS,
    TREE_COMBINE,
    input_count,
)

MAX_FEATURES = 1 << 16
FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_TREE_NODES = 1 << 24  # node and leaf indices are stored in float32, exact up to 2**24


def _where(layer, path: str) -> str:
    label = f" '{layer.name}'" if layer.name else ""
    return f"layer {path} ({layer.type}{label})"


def _check_params(layer, where: str) -> None:
    spec = SPECS[layer.type]
    for key, p in spec.params.items():
        if key not in layer.params:
            if p.default is REQUIRED:
                raise ModelError(f"{where}: parameter '{key}' is missing.")
            continue
        value = layer.params[key]
        if p.kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ModelError(f"{where}: parameter '{key}' must be an integer, got {value!r}.")
            limit = MAX_TREE_NODES if layer.type == "tree_ensemble" and key in ("nodes", "leaves") else MAX_FEATURES
            low = 0 if key in ("num_parameters", "start", "padding_h", "padding_w") else 1
            if not low <= value <= limit:
                raise ModelError(f"{where}: parameter '{key}' = {value} is outside {low}..{limit}.")
        elif p.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value):
                raise ModelError(f"{where}: parameter '{key}' must be a finite number, got {value!r}.")
            if abs(value) > FLOAT32_MAX:
                raise ModelError(f"{where}: parameter '{key}' = {value!r} is beyond the float32 range the engines "
                                 f"compute in (about 3.4e38).")
        elif p.kind is bool and not isinstance(value, (bool, np.bool_)):
            raise ModelError(f"{where}: parameter '{key}' must be true or false, got {value!r}.")
        elif p.kind is str and not isinstance(value, str):
            raise ModelError(f"{where}: parameter '{key}' must be a string, got {value!r}.")
    unknown = sorted(set(layer.params) - set(spec.params))
    if unknown:
        raise ModelError(f"{where}: unknown parameter '{unknown[0]}'.")


def _check_semantics(layer, where: str) -> None:
    p = layer.params
    if layer.type == "activation":
        if p["function"] not in ACTIVATIONS:
            raise ModelError(f"{where}: parameter 'function' = {p['function']!r} is not one of "
                             f"{', '.join(ACTIVATIONS)}.")
        if p["function"] == "prelu" and p["num_parameters"] not in (1, p["features"]):
            raise ModelError(f"{where}: parameter 'num_parameters' must be 1 or {p['features']} (features).")
    elif layer.type == "conv1d":
        for key in ("in_channels", "out_channels"):
            if p[key] % p["groups"]:
                raise ModelError(f"{where}: parameter '{key}' = {p[key]} is not divisible by groups = {p['groups']}.")
    elif layer.type == "batchnorm" and p["eps"] < 0:
        raise ModelError(f"{where}: parameter 'eps' must not be negative.")
    elif layer.type == "gaussian_mixture" and layer.params["covariance"] not in GMM_COVARIANCES:
        raise ModelError(f"{where}: parameter 'covariance' = {layer.params['covariance']!r} is not one of "
                         f"{', '.join(GMM_COVARIANCES)}.")
    elif layer.type == "slice" and not p["start"] < p["stop"] <= p["in_features"]:
        raise ModelError(f"{where}: parameters start = {p['start']} and stop = {p['stop']} must satisfy "
                         f"start < stop <= in_features = {p['in_features']}.")
    elif layer.type in ("conv2d", "pool2d"):
        _check_image(layer, where)
    if layer.type != "residual" and layer.layers:
        raise ModelError(f"{where}: only residual layers may contain layers.")


def _check_image(layer, where: str) -> None:
    """Check a conv2d's padding and kernel against its image, a pool2d's mode and kernel."""
    p = layer.params
    for axis, size in (("h", "height"), ("w", "width")):
        pad = p.get(f"padding_{axis}", 0)
        if layer.type == "conv2d" and pad >= p[f"kernel_{axis}"]:
            raise ModelError(f"{where}: parameter 'padding_{axis}' = {pad} must be less than kernel_{axis} = "
                             f"{p[f'kernel_{axis}']}.")
        if p[f"kernel_{axis}"] > p[size] + 2 * pad:
            raise ModelError(f"{where}: parameter 'kernel_{axis}' = {p[f'kernel_{axis}']} is larger than the "
                             f"{size} {p[size]}" + (f" plus padding {2 * pad}." if pad else "."))
    if layer.type == "pool2d" and p["mode"] not in POOL_MODES:
        raise ModelError(f"{where}: parameter 'mode' = {p['mode']!r} is not one of {', '.join(POOL_MODES)}.")


def _check_weights(layer, where: str) -> None:
    spec = SPECS[layer.type]
    required = spec.weights(layer.params)
    optional = spec.optional(layer.params)
    for key, shape in required.items():
        if key not in layer.weights:
            raise ModelError(f"{where}: weight '{key}' is missing (expected shape {shape}).")
    for key, w in layer.weights.items():
        shape = required.get(key, optional.get(key))
        if shape is None:
            raise ModelError(f"{where}: weight '{key}' is not a weight of a {layer.type} layer.")
        if tuple(w.shape) != tuple(shape):
            raise ModelError(f"{where}: weight '{key}' has shape {tuple(w.shape)}, expected {tuple(shape)}.")
        if not np.all(np.isfinite(w)):
            raise ModelError(f"{where}: weight '{key}' contains NaN or infinite values.")
        if w.dtype.kind == "f" and w.size and np.abs(w).max() > FLOAT32_MAX:
            raise ModelError(f"{where}: weight '{key}' holds values beyond the float32 range the engines compute in "
                             f"(about 3.4e38).")


def _indices(layer, key: str, where: str) -> np.ndarray:
    w = layer.weights[key]
    if not np.array_equal(w, np.round(w)):
        raise ModelError(f"{where}: weight '{key}' must hold whole numbers (indices).")
    return w.astype(np.int64)


def _check_trees(layer, where: str) -> None:
    """Check a tree_ensemble: every index in range, children after their parent, leaves hold a row."""
    p = layer.params
    if p["combine"] not in TREE_COMBINE:
        raise ModelError(f"{where}: parameter 'combine' = {p['combine']!r} is not one of {', '.join(TREE_COMBINE)}.")
    if p["leaf_width"] > p["outputs"]:
        raise ModelError(f"{where}: parameter 'leaf_width' = {p['leaf_width']} is more than outputs = {p['outputs']}.")
    if p["combine"] == "isolation" and p["outputs"] != 1:
        raise ModelError(f"{where}: an isolation ensemble has exactly 1 output, not {p['outputs']}.")
    if p["denominator"] < 0:
        raise ModelError(f"{where}: parameter 'denominator' must not be negative.")
    ix = {k: _indices(layer, k, where) for k in ("feature", "left", "right", "leaf", "root", "output")}
    n = p["nodes"]
    split = ix["left"] >= 0
    checks = [
        ("feature", np.where(split, (ix["feature"] < 0) | (ix["feature"] >= p["features"]), ix["feature"] != -1),
         f"is not a feature index below {p['features']} at a split node (or -1 at a leaf)"),
        ("left", np.where(split, ix["left"] <= np.arange(n), ix["left"] != -1) | (ix["left"] >= n),
         "does not point to a node after it (or is not -1 at a leaf)"),
        ("right", np.where(split, (ix["right"] <= np.arange(n)) | (ix["right"] >= n), ix["right"] != -1),
         "does not point to a node after it (or is not -1 at a leaf)"),
        ("leaf", np.where(split, ix["leaf"] != -1, (ix["leaf"] < 0) | (ix["leaf"] >= p["leaves"])),
         f"is not a row below {p['leaves']} at a leaf (or -1 at a split node)"),
        ("root", (ix["root"] < 0) | (ix["root"] >= n), f"is not a node index below {n}"),
        ("output", (ix["output"] < 0) | (ix["output"] > p["outputs"] - p["leaf_width"]),
         f"is not a first output column in 0..{p['outputs'] - p['leaf_width']}"),
    ]
    for key, bad, what in checks:
        if bad.any():
            at = int(np.argmax(bad))
            raise ModelError(f"{where}: weight '{key}' at {at} = {ix[key][at]} {what}.")
    if p["combine"] != "sum" and (layer.weights["bias"].any() or layer.weights["bias_lo"].any()):
        raise ModelError(f"{where}: a '{p['combine']}' ensemble has no bias; weight 'bias' must be zero.")


def _check_classic(layer, where: str) -> None:
    """Check a scaler's mode and non-zero scales, and a gaussian_nb's positive variances."""
    if layer.type == "scaler":
        if layer.params["mode"] not in SCALER_MODES:
            raise ModelError(f"{where}: parameter 'mode' = {layer.params['mode']!r} is not one of "
                             f"{', '.join(SCALER_MODES)}.")
        if not (layer.weights["scale"] != 0).all():
            raise ModelError(f"{where}: weight 'scale' must not be zero.")
    elif layer.type == "gaussian_nb" and not (layer.weights["var"] > 0).all():
        raise ModelError(f"{where}: weight 'var' must be positive.")
    elif layer.type == "knn":
        _check_knn(layer, where)


def _check_knn(layer, where: str) -> None:
    """Check a knn layer's metric, weighting, tree kind, p, neighbour count, class labels and tree."""
    p = layer.params
    for key, allowed in (("metric", KNN_METRICS), ("weights", KNN_WEIGHTS), ("tree", KNN_TREES)):
        if p[key] not in allowed:
            raise ModelError(f"{where}: parameter '{key}' = {p[key]!r} is not one of {', '.join(allowed)}.")
    if p["p"] <= 0:
        raise ModelError(f"{where}: parameter 'p' must be positive, got {p['p']}.")
    if p["neighbors"] > p["samples"]:
        raise ModelError(f"{where}: parameter 'neighbors' = {p['neighbors']} is more than samples = {p['samples']}.")
    labels = _indices(layer, "labels", where)
    if ((labels < 0) | (labels >= p["classes"])).any():
        raise ModelError(f"{where}: weight 'labels' must hold class indices in 0..{p['classes'] - 1}.")
    if p["tree"] != "none":
        _check_knn_tree(layer, where)


def _check_knn_tree(layer, where: str) -> None:
    """Check a knn layer's fitted tree: its weights present, a permutation, leaf ranges, children inside."""
    p = layer.params
    if p["metric"] == "euclidean_gemm":
        raise ModelError(f"{where}: a {p['tree']} searches with metric 'euclidean', not 'euclidean_gemm'.")
    nodes = p["nodes"]
    if nodes & (nodes + 1):
        raise ModelError(f"{where}: parameter 'nodes' must be 2**depth - 1 (a complete binary tree), got {nodes}.")
    for key, shape in SPECS["knn"].optional(p).items():
        if key not in layer.weights:
            raise ModelError(f"{where}: weight '{key}' is missing (expected shape {shape}) for a {p['tree']}.")
    index, node = _indices(layer, "tree_index", where), _indices(layer, "tree_nodes", where)
    if not np.array_equal(np.sort(index), np.arange(p["samples"])):
        raise ModelError(f"{where}: weight 'tree_index' must be a permutation of the {p['samples']} training rows.")
    start, end, leaf = node.T
    inner = np.flatnonzero(leaf == 0)
    if ((start < 0) | (end < start) | (end > p["samples"])).any() or not np.isin(leaf, (0, 1)).all() \
            or (2 * inner + 2 >= nodes).any():
        raise ModelError(f"{where}: weight 'tree_nodes' must hold row ranges in 0..{p['samples']}, leaf flags 0 or 1 "
                         "and children (2i+1, 2i+2) inside the tree for every inner node.")


def _sources(layer, where: str, prev: int, known: dict | None) -> list:
    """Return the feature counts of the tensors a layer reads; refuse unknown names and wrong counts."""
    lo, hi = input_count(layer.type)
    if not layer.inputs:
        if lo > 1:
            raise ModelError(f"{where}: a {layer.type} layer reads {lo} or more inputs; name them in 'inputs'.")
        return [prev]
    if known is None:
        raise ModelError(f"{where}: a layer inside a residual body cannot name inputs or an output.")
    if not lo <= len(layer.inputs) <= hi:
        count = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise ModelError(f"{where}: a {layer.type} layer reads {count} inputs, got {len(layer.inputs)}.")
    for name in layer.inputs:
        if name not in known:
            raise ModelError(f"{where}: input {name!r} is not the model's input nor the output of an earlier layer.")
    return [known[name] for name in layer.inputs]


def _check_layers(layers, n_in: int, prefix: str, known: dict | None = None) -> int:
    for i, layer in enumerate(layers):
        path = f"{prefix}{i}"
        where = _where(layer, path)
        if layer.type not in SPECS:
            raise ModelError(f"{where}: unknown layer type {layer.type!r}; known types are "
                             f"{', '.join(SPECS)}.")
        if not isinstance(layer.output, str) or not all(isinstance(n, str) for n in layer.inputs):
            raise ModelError(f"{where}: 'inputs' and 'output' must be tensor names (strings).")
        _check_params(layer, where)
        _check_semantics(layer, where)
        _check_weights(layer, where)
        if layer.type == "tree_ensemble":
            _check_trees(layer, where)
        _check_classic(layer, where)
        field = next(iter(SPECS[layer.type].params))
        for features, name in zip(_sources(layer, where, n_in, known), layer.inputs or [None]):
            if layer.in_features != features:
                source = f"input {name!r} has" if name else "the previous layer gives"
                if layer.type in ("conv2d", "pool2d"):
                    p = layer.params
                    raise ModelError(f"{where}: its image of {p.get('in_channels', p.get('channels'))} x "
                                     f"{p['height']} x {p['width']} = {layer.in_features} values does not match: "
                                     f"{source} {features} features.")
                raise ModelError(f"{where}: parameter '{field}' = {layer.in_features} but {source} {features} "
                                 f"features.")
        if layer.type == "residual":
            if not layer.layers:
                raise ModelError(f"{where}: a residual layer needs at least one layer in its body.")
            body_out = _check_layers(layer.layers, layer.in_features, f"{path}.")
            if body_out > layer.in_features:
                raise ModelError(f"{where}: the body gives {body_out} features, more than the "
                                 f"{layer.in_features} inputs it could be added to.")
        if layer.output:
            if known is None:
                raise ModelError(f"{where}: a layer inside a residual body cannot name inputs or an output.")
            if layer.output in known:
                what = "the model's input" if layer.output == INPUT else "an earlier layer's output"
                raise ModelError(f"{where}: output name {layer.output!r} is already {what}; names must be unique.")
            known[layer.output] = layer.out_features
        n_in = layer.out_features
    return n_in


def validate(model) -> None:
    """Raise ModelError with one sentence if the model is malformed; return None if it is fine."""
    if not isinstance(model.name, str):
        raise ModelError(f"the model's name must be a string, got {type(model.name).__name__} {model.name!r}.")
    if not isinstance(model.metadata, dict):
        raise ModelError(f"{model.name}: metadata must be a dict (a JSON object), got {type(model.metadata).__name__}.")
    if not isinstance(model.input_size, int) or model.input_size < 1:
        raise ModelError(f"input_size must be a positive integer, got {model.input_size!r}.")
    if not isinstance(model.block_size, int) or model.block_size < 1:
        raise ModelError(f"block_size must be a positive integer, got {model.block_size!r}.")
    if model.input_size % model.block_size:
        raise ModelError(f"input_size {model.input_size} is not a multiple of block_size {model.block_size}.")
    if model.sample_rate is not None and not (np.isfinite(model.sample_rate) and model.sample_rate > 0):
        raise ModelError(f"sample_rate must be positive, got {model.sample_rate!r}.")
    if not model.layers:
        raise ModelError("the model has no layers.")
    n_out = _check_layers(model.layers, model.input_size, "", {INPUT: model.input_size})
    if n_out % model.block_size:
        raise ModelError(f"the model gives {n_out} features per frame, not a multiple of block_size "
                         f"{model.block_size}.")
    check_knobs(model)
