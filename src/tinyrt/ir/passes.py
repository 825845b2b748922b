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


def _per_channel(prev: Layer, bn: Layer):
    """Return the batch-norm with one scale and shift per conv2d output channel, or None if it varies inside one.

    A BatchNorm2d imported after a conv2d is an IR batchnorm over every output value (channel-major), its
    numbers repeated over each channel's image; folding needs them constant per channel."""
    channels = prev.params["out_channels"]
    if bn.params["features"] != prev.out_features:
        return None
    w = {k: v.reshape(channels, -1) for k, v in bn.weights.items()}
    if any((v != v[:, :1]).any() for v in w.values()):
        return None
    return Layer("batchnorm", {"features": channels, "eps": bn.params["eps"]}, {k: v[:, 0] for k, v in w.items()})


def fold_batchnorm(layers: list) -> list:
    """Return the layers with every batch-norm that follows a dense, conv1d or conv2d folded into it
    (after a conv2d, when its numbers are the same over each output channel)."""
    out = []
    for layer in layers:
        if layer.type == "residual":
            layer = Layer("residual", dict(layer.params), {}, fold_batchnorm(layer.layers), layer.name)
        if layer.type == "batchnorm" and out and out[-1].type == "conv2d" and not layer.inputs \
                and not out[-1].output and _per_channel(out[-1], layer) is not None:
            folded = _fold_into(out[-1], _per_channel(out[-1], layer))
            folded.inputs, folded.output = out[-1].inputs, layer.output
            out[-1] = folded
        elif layer.type == "batchnorm" and out and out[-1].type in ("dense", "conv1d") \
                and not layer.inputs and not out[-1].output:  # in a graph, only when nothing else reads prev
            folded = _fold_into(out[-1], layer)
            folded.inputs, folded.output = out[-1].inputs, layer.output
            out[-1] = folded
        else:
            out.append(layer)
    return out
