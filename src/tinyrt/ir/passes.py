"""Model transformations that keep the numbers the same."""
from __future__ import annotations

import numpy as np

from .model import Layer


def _bn_scale_shift(bn: Layer):
    w = bn.weights
    scale = w["weight"].astype(np.float64) / np.sqrt(w["running_var"].astype(np.float64) + bn.params["eps"])
    shift = w["bias"].astype(np.float64) - w["running_mean"].astype(np.float64) * scale
    return scale, shift


def _fold_into(prev: Layer, bn: Layer) -> Layer:
    scale, shift = _bn_scale_shift(bn)
    weight = prev.weights["weight"].astype(np.float64)
    bias = prev.weights["bias"].astype(np.float64) if prev.params["bias"] else np.zeros(len(scale))
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return Layer(prev.type, {**prev.params, "bias": True},
                 {"weight": weight * scale.reshape(shape), "bias": bias * scale + shift},
                 name=prev.name)


def fold_batchnorm(layers: list) -> list:
    """Return the layers with every batch-norm that follows a dense or conv1d folded into it."""
    out = []
    for layer in layers:
        if layer.type == "residual":
            layer = Layer("residual", dict(layer.params), {}, fold_batchnorm(layer.layers), layer.name)
        if layer.type == "batchnorm" and out and out[-1].type in ("dense", "conv1d") \
                and not layer.inputs and not out[-1].output:  # in a graph, only when nothing else reads prev
            folded = _fold_into(out[-1], layer)
            folded.inputs, folded.output = out[-1].inputs, layer.output
            out[-1] = folded
        else:
            out.append(layer)
    return out
