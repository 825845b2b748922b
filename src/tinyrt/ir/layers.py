"""The IR's layer vocabulary: for each layer type, its parameters, weight shapes and feature sizes.

A layer maps a frame of ``in_features`` values to a frame of ``out_features`` values, one
frame per time step. Recurrent layers and conv1d keep state across steps. Conventions follow
PyTorch: LSTM gates are (i, f, g, o), GRU gates (r, z, n) with the reset gate applied after
the recurrent matmul, conv1d weights are (out, in/groups, kernel) applied causally
(``y[t] = sum_k w[..., k] x[t - (kernel-1-k) * dilation]``), dense weights are (out, in).

``tree_ensemble`` holds decision trees the way scikit-learn evaluates them (one frame = one
feature vector, no state): node arrays ``feature``, ``threshold``, ``left``, ``right``, ``leaf``
(integers stored exactly in float32; -1 where a field does not apply), trees listed one after
another with every child after its parent, ``root`` and first ``output`` column per tree. A
split goes left when ``x[feature] <= threshold``. Leaf row r of ``value`` is added to the
outputs in tree order, in float64: the exact float64 leaf value is ``(value + value_lo[..., 0])
+ value_lo[..., 1]`` (three float32 parts), likewise ``bias``. ``combine`` is ``sum`` (bias plus
the leaves: gradient boosting), ``mean`` (the sum divided by the number of trees: forests) or
``isolation`` (IsolationForest's score_samples: ``-2 ** -(sum / denominator)``).

Classic (scikit-learn) layers keep float64 numbers exactly as a float32 weight ``w`` plus ``w_lo``
(two more float32 parts, as for trees) and compute in float64, as scikit-learn does:
``scaler`` (per-feature affine, each step rounded to float32 as scikit-learn does for float32 X:
``standard``: ``(x - offset) / scale``; ``minmax``: ``x * scale + offset``), ``linear`` (dense in
float64: the dot product first, then the bias, as ``X @ coef.T + intercept``) and ``gaussian_nb``
(GaussianNB's joint log likelihood per class: ``log_prior + (log_norm - 0.5 * sum((x - theta)**2 / var))``).
``mahalanobis`` gives EllipticEnvelope's score_samples, minus the squared Mahalanobis distance to
``location`` under ``precision`` (as scipy's cdist: ``sqrt(d . (precision d))``, then squared).
``gaussian_mixture`` gives GaussianMixture's weighted log probability of each component, computed
as scikit-learn does for float32 X from ``precisions_cholesky_`` (``covariance`` full, tied, diag or
spherical; the weights are scikit-learn's products it computes from the fitted parameters, see
reference.py).
``knn`` gives KNeighborsClassifier's class votes by brute-force search over the stored ``train`` rows
(``labels`` class indices stored exactly in float32, ``norms`` scikit-learn's squared row norms):
``metric`` euclidean_gemm, euclidean, manhattan or minkowski (``p``), ``weights`` uniform or
distance, the k-slot heap and vote order of trt_knn.h (see reference_classic.py). With ``tree``
kd_tree or ball_tree it searches scikit-learn's fitted tree of ``nodes`` nodes (2**depth - 1) as its
depth-first query does: ``tree_index`` (idx_array), ``tree_nodes`` (idx_start, idx_end, is_leaf per
node) and ``tree_bounds`` (KD: the lower then upper corners, (2, nodes, features); ball: the
centroids, with ``tree_radius``), the float64 ones exact.

Graphs. A model is a stack unless one of its top-level layers names its ``inputs`` or its ``output``:
then it is a graph in topological order (a NAM WaveNet: dilated conv1d, 1x1 dense, input mixin from
the condition, residual and skip paths). Each layer reads the tensors named in ``inputs`` (empty: the
previous layer's output; ``"input"``: the model's input frame) and may name its own ``output`` so later
layers can read it; the model's output is the last layer's output. Three layers exist for graphs:
``add`` (the sum of two or more inputs of ``features`` values), ``mul`` (the product of two) and
``slice`` (values ``start`` up to ``stop`` of one input of ``in_features``). Every other layer reads
one input, so conv1d, dense and the activations are the same layers a stack uses.

Images (a classifier's log-mel patch). ``conv2d`` and ``pool2d`` read one frame that holds a whole
image of ``channels x height x width`` values in PyTorch's NCHW order without the batch axis
(``x[c, h, w]`` at ``(c * height + h) * width + w``; a log-mel patch of T frames and M bands is one
channel, height T, width M, time-major), so a flatten after them is a no-op and a dense layer reads their
output in ``torch.flatten`` order. They keep no state. ``conv2d`` is nn.Conv2d (cross-correlation,
weights (out, in, kernel_h, kernel_w), strides, symmetric zero padding ``padding_h``/``padding_w``):
``y[o, i, j] = b[o] + sum w[o, c, u, v] x[c, i*stride_h + u - padding_h, j*stride_w + v - padding_w]``,
out of range reads zero, output ``out_channels x ((height + 2 padding_h - kernel_h) // stride_h + 1) x
(... width ...)``. ``pool2d`` is nn.MaxPool2d / nn.AvgPool2d with stride equal to the kernel and no
padding (rows and columns that do not fill a window are dropped); ``mode`` max or avg. Global average
pooling is ``pool2d`` avg with the kernel the whole image.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ACTIVATIONS = (
    "tanh", "relu", "sigmoid", "softsign", "elu", "prelu",
    "silu", "gelu", "softmax", "identity", "hardtanh", "hardswish",
)


@dataclass(frozen=True)
class Param:
    """One layer parameter: its Python type and default (``REQUIRED`` when it has none)."""

    kind: type
    default: object


REQUIRED = object()


def _rnn_shapes(gates: int) -> Callable[[dict], dict]:
    def shapes(p: dict) -> dict:
        h, out = p["hidden_size"], {}
        for k in range(p["num_layers"]):
            n_in = p["input_size"] if k == 0 else h
            out[f"weight_ih_l{k}"] = (gates * h, n_in)
            out[f"weight_hh_l{k}"] = (gates * h, h)
            if p["bias"]:
                out[f"bias_ih_l{k}"] = (gates * h,)
                out[f"bias_hh_l{k}"] = (gates * h,)
        return out
    return shapes


def _conv_shapes(p: dict) -> dict:
    out = {"weight": (p["out_channels"], p["in_channels"] // p["groups"], p["kernel_size"])}
    if p["bias"]:
        out["bias"] = (p["out_channels"],)
    return out


@dataclass(frozen=True)
class LayerSpec:
    """Everything tinyrt knows about one layer type."""

    params: dict
    weights: Callable[[dict], dict]  # required weights: name -> shape
    in_features: Callable[[dict], int]
    out_features: Callable[[dict], int]
    optional: Callable[[dict], dict] = lambda p: {}  # optional weights: name -> shape


def _features(p: dict) -> int:
    return p["features"]


TREE_COMBINE = ("sum", "mean", "isolation")


def _tree_shapes(p: dict) -> dict:
    nodes, trees, rows, width, outputs = p["nodes"], p["trees"], p["leaves"], p["leaf_width"], p["outputs"]
    return {"feature": (nodes,), "threshold": (nodes,), "left": (nodes,), "right": (nodes,), "leaf": (nodes,),
            "root": (trees,), "output": (trees,), "value": (rows, width), "value_lo": (rows, width, 2),
            "bias": (outputs,), "bias_lo": (outputs, 2)}


SCALER_MODES = ("standard", "minmax")


def _exact(**shapes) -> dict:
    """Return float64-exact weight shapes: each weight plus its two low float32 parts."""
    out = {}
    for key, shape in shapes.items():
        out[key], out[f"{key}_lo"] = shape, (*shape, 2)
    return out


SPECS: dict[str, LayerSpec] = {
    "dense": LayerSpec(
        params={"in_features": Param(int, REQUIRED), "out_features": Param(int, REQUIRED),
                "bias": Param(bool, True)},
        weights=lambda p: {"weight": (p["out_features"], p["in_features"]),
                           **({"bias": (p["out_features"],)} if p["bias"] else {})},
        in_features=lambda p: p["in_features"],
        out_features=lambda p: p["out_features"],
    ),
    "lstm": LayerSpec(
        params={"input_size": Param(int, REQUIRED), "hidden_size": Param(int, REQUIRED),
                "num_layers": Param(int, 1), "bias": Param(bool, True)},
        weights=_rnn_shapes(4),
        in_features=lambda p: p["input_size"],
        out_features=lambda p: p["hidden_size"],
        optional=lambda p: {"h0": (p["num_layers"], p["hidden_size"]),
                            "c0": (p["num_layers"], p["hidden_size"])},
    ),
    "gru": LayerSpec(
        params={"input_size": Param(int, REQUIRED), "hidden_size": Param(int, REQUIRED),
                "num_layers": Param(int, 1), "bias": Param(bool, True)},
        weights=_rnn_shapes(3),
        in_features=lambda p: p["input_size"],
        out_features=lambda p: p["hidden_size"],
        optional=lambda p: {"h0": (p["num_layers"], p["hidden_size"])},
    ),
    "conv1d": LayerSpec(
        params={"in_channels": Param(int, REQUIRED), "out_channels": Param(int, REQUIRED),
                "kernel_size": Param(int, REQUIRED), "dilation": Param(int, 1),
                "groups": Param(int, 1), "bias": Param(bool, True)},
        weights=_conv_shapes,
        in_features=lambda p: p["in_channels"],
        out_features=lambda p: p["out_channels"],
    ),
    "activation": LayerSpec(
        params={"function": Param(str, REQUIRED), "features": Param(int, REQUIRED),
                "alpha": Param(float, 1.0), "num_parameters": Param(int, 1),
                # hardtanh: x clipped to [min_val, max_val], slopes min_slope/max_slope beyond (NAM's LeakyHardtanh)
                "min_val": Param(float, -1.0), "max_val": Param(float, 1.0),
                "min_slope": Param(float, 0.0), "max_slope": Param(float, 0.0)},
        weights=lambda p: {"weight": (p["num_parameters"],)} if p["function"] == "prelu" else {},
        in_features=_features,
        out_features=_features,
    ),
    "batchnorm": LayerSpec(
        params={"features": Param(int, REQUIRED), "eps": Param(float, 1e-5)},
        weights=lambda p: {k: (p["features"],) for k in ("weight", "bias", "running_mean", "running_var")},
        in_features=_features,
        out_features=_features,
    ),
    "residual": LayerSpec(
        params={"features": Param(int, REQUIRED)},
        weights=lambda p: {},
        in_features=_features,
        out_features=lambda p: p["out_features"],  # filled from the body by Layer.out_features
    ),
    "gain": LayerSpec(
        params={"features": Param(int, REQUIRED), "gain": Param(float, REQUIRED)},
        weights=lambda p: {},
        in_features=_features,
        out_features=_features,
    ),
    "tree_ensemble": LayerSpec(
        params={"features": Param(int, REQUIRED), "outputs": Param(int, REQUIRED), "trees": Param(int, REQUIRED),
                "nodes": Param(int, REQUIRED), "leaves": Param(int, REQUIRED), "leaf_width": Param(int, 1),
                "combine": Param(str, "sum"), "denominator": Param(float, 1.0)},
        weights=_tree_shapes,
        in_features=_features,
        out_features=lambda p: p["outputs"],
    ),
    "scaler": LayerSpec(
        params={"features": Param(int, REQUIRED), "mode": Param(str, "standard")},
        weights=lambda p: _exact(offset=(p["features"],), scale=(p["features"],)),
        in_features=_features,
        out_features=_features,
    ),
    "linear": LayerSpec(
        params={"in_features": Param(int, REQUIRED), "out_features": Param(int, REQUIRED)},
        weights=lambda p: _exact(weight=(p["out_features"], p["in_features"]), bias=(p["out_features"],)),
        in_features=lambda p: p["in_features"],
        out_features=lambda p: p["out_features"],
    ),
    "gaussian_nb": LayerSpec(
        params={"features": Param(int, REQUIRED), "classes": Param(int, REQUIRED)},
        weights=lambda p: _exact(theta=(p["classes"], p["features"]), var=(p["classes"], p["features"]),
                                 log_prior=(p["classes"],), log_norm=(p["classes"],)),
        in_features=_features,
        out_features=lambda p: p["classes"],
    ),
}


SPECS["add"] = LayerSpec(
    params={"features": Param(int, REQUIRED)},
    weights=lambda p: {},
    in_features=_features,
    out_features=_features,
)
SPECS["mul"] = LayerSpec(
    params={"features": Param(int, REQUIRED)},
    weights=lambda p: {},
    in_features=_features,
    out_features=_features,
)
SPECS["slice"] = LayerSpec(
    params={"in_features": Param(int, REQUIRED), "start": Param(int, 0), "stop": Param(int, REQUIRED)},
    weights=lambda p: {},
    in_features=lambda p: p["in_features"],
    out_features=lambda p: p["stop"] - p["start"],
)
GRAPH_LAYERS = ("add", "mul", "slice")


def conv2d_out(p: dict) -> tuple:
    """Return (height, width) of a conv2d layer's output image."""
    return ((p["height"] + 2 * p["padding_h"] - p["kernel_h"]) // p["stride_h"] + 1,
            (p["width"] + 2 * p["padding_w"] - p["kernel_w"]) // p["stride_w"] + 1)


def pool2d_out(p: dict) -> tuple:
    """Return (height, width) of a pool2d layer's output image."""
    return p["height"] // p["kernel_h"], p["width"] // p["kernel_w"]


POOL_MODES = ("max", "avg")
SPECS["conv2d"] = LayerSpec(
    params={"in_channels": Param(int, REQUIRED), "out_channels": Param(int, REQUIRED), "height": Param(int, REQUIRED),
            "width": Param(int, REQUIRED), "kernel_h": Param(int, REQUIRED), "kernel_w": Param(int, REQUIRED),
            "stride_h": Param(int, 1), "stride_w": Param(int, 1), "padding_h": Param(int, 0),
            "padding_w": Param(int, 0), "bias": Param(bool, True)},
    weights=lambda p: {"weight": (p["out_channels"], p["in_channels"], p["kernel_h"], p["kernel_w"]),
                       **({"bias": (p["out_channels"],)} if p["bias"] else {})},
    in_features=lambda p: p["in_channels"] * p["height"] * p["width"],
    out_features=lambda p: p["out_channels"] * max(conv2d_out(p)[0], 0) * max(conv2d_out(p)[1], 0),
)
SPECS["pool2d"] = LayerSpec(
    params={"channels": Param(int, REQUIRED), "height": Param(int, REQUIRED), "width": Param(int, REQUIRED),
            "kernel_h": Param(int, REQUIRED), "kernel_w": Param(int, REQUIRED), "mode": Param(str, "max")},
    weights=lambda p: {},
    in_features=lambda p: p["channels"] * p["height"] * p["width"],
    out_features=lambda p: p["channels"] * pool2d_out(p)[0] * pool2d_out(p)[1],
)
INPUT = "input"  # the name of the model's input frame in a graph


def input_count(layer_type: str) -> tuple:
    """Return the (fewest, most) inputs a layer of this type reads."""
    return {"add": (2, 64), "mul": (2, 2)}.get(layer_type, (1, 1))


GMM_COVARIANCES = ("full", "tied", "diag", "spherical")


def _gmm_shapes(p: dict) -> dict:
    k, f, cov = p["components"], p["features"], p["covariance"]
    per = {"full": {"prec_chol": (k, f, f), "mean_prec": (k, f)}, "tied": {"prec_chol": (f, f), "mean_prec": (k, f)},
           "diag": {"prec": (k, f), "mean_prec": (k, f), "mean_quad": (k,)},
           "spherical": {"prec": (k,), "means": (k, f), "mean_quad": (k,)}}.get(cov, {})
    return _exact(**per, log_det=(k,), log_weights=(k,))


SPECS["mahalanobis"] = LayerSpec(
    params={"features": Param(int, REQUIRED)},
    weights=lambda p: _exact(location=(p["features"],), precision=(p["features"], p["features"])),
    in_features=_features,
    out_features=lambda p: 1,
)
SPECS["gaussian_mixture"] = LayerSpec(
    params={"features": Param(int, REQUIRED), "components": Param(int, REQUIRED), "covariance": Param(str, "full")},
    weights=_gmm_shapes,
    in_features=_features,
    out_features=lambda p: p["components"],
)


KNN_METRICS = ("euclidean_gemm", "euclidean", "manhattan", "minkowski")
KNN_WEIGHTS = ("uniform", "distance")
KNN_TREES = ("none", "kd_tree", "ball_tree")


def _knn_tree_shapes(p: dict) -> dict:
    """Return the shapes of a knn layer's fitted-tree weights (none without a tree)."""
    if p["tree"] == "none":
        return {}
    nodes, n = p["nodes"], p["features"]
    bounds = _exact(tree_bounds=(2, nodes, n)) if p["tree"] == "kd_tree" else _exact(tree_bounds=(nodes, n),
                                                                                      tree_radius=(nodes,))
    return {"tree_index": (p["samples"],), "tree_nodes": (nodes, 3), **bounds}


SPECS["knn"] = LayerSpec(
    params={"features": Param(int, REQUIRED), "samples": Param(int, REQUIRED), "neighbors": Param(int, REQUIRED),
            "classes": Param(int, REQUIRED), "metric": Param(str, "euclidean_gemm"), "p": Param(float, 2.0),
            "weights": Param(str, "uniform"), "tree": Param(str, "none"), "nodes": Param(int, 1)},
    weights=lambda p: {**_exact(train=(p["samples"], p["features"]), norms=(p["samples"],)),
                       "labels": (p["samples"],)},
    in_features=_features,
    out_features=lambda p: p["classes"],
    optional=_knn_tree_shapes,
)


def state_floats(layer_type: str, p: dict) -> int:
    """Return how many floats of streaming state one layer of this type keeps."""
    if layer_type == "lstm":
        return 2 * p["num_layers"] * p["hidden_size"]
    if layer_type == "gru":
        return p["num_layers"] * p["hidden_size"]
    if layer_type == "conv1d":
        return (p["kernel_size"] - 1) * p["dilation"] * p["in_channels"]
    return 0
