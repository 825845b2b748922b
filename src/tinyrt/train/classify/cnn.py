"""The small log-mel CNN of the technique classifier, in PyTorch, and its conversion to the IR.

``TechniqueCNN`` reads a batch of log-mel patches [B, frames * mels] (time-major, the C chain's feature
layout), normalises them with two constants fixed from the training set, and runs two blocks of
conv 3x3 (same padding) -> batch-norm -> ReLU -> max-pool 2x2, a global average pool, and a dense layer
to class logits; ``probabilities`` adds the softmax. ``to_ir`` writes the same computation as IR layers
(batchnorm for the input normalisation, conv2d, batchnorm, pool2d max, relu, pool2d avg over the whole image,
dense, softmax) and folds each batch-norm into its conv2d.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...ir import Layer, Model, fold_batchnorm


class TechniqueCNN(nn.Module):
    """conv-bn-relu-pool x 2, global average pool, dense: a classifier of (frames x mels) log-mel patches."""

    def __init__(self, frames: int, mels: int, classes: int, channels=(8, 16), kernel: int = 3,
                 mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.frames, self.mels, self.classes, self.kernel = frames, mels, classes, kernel
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))
        blocks, c_in, h, w = [], 1, frames, mels
        self.shapes = []
        for c in channels:
            self.shapes.append((c_in, c, h, w))
            blocks += [nn.Conv2d(c_in, c, kernel, padding=kernel // 2), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c_in, h, w = c, h // 2, w // 2
        self.features = nn.Sequential(*blocks)
        self.out_shape = (c_in, h, w)
        self.head = nn.Linear(c_in, classes)

    def forward(self, x):
        """Return class logits [B, classes] of patches x [B, frames * mels]."""
        img = ((x - self.mean) / self.std).reshape(-1, 1, self.frames, self.mels)
        return self.head(self.features(img).mean(dim=(2, 3)))

    def probabilities(self, x):
        """Return class probabilities [B, classes]."""
        return torch.softmax(self.forward(x), dim=-1)


def _a(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def to_ir(net: TechniqueCNN, *, sample_rate: float, name: str = "technique_cnn", metadata: dict | None = None) -> Model:
    """Return the IR model computing ``net.probabilities`` on one patch per frame, batch-norms folded."""
    n_in = net.frames * net.mels
    std = float(net.std)
    layers = [Layer("batchnorm", {"features": n_in, "eps": 0.0},
                    {"weight": np.full(n_in, 1.0 / std), "bias": np.zeros(n_in),
                     "running_mean": np.full(n_in, float(net.mean)), "running_var": np.ones(n_in)},
                    name="input normalisation")]
    mods = list(net.features)
    for b, (c_in, c_out, h, w) in enumerate(net.shapes):
        conv, bn = mods[4 * b], mods[4 * b + 1]
        k = net.kernel
        layers.append(Layer("conv2d", {"in_channels": c_in, "out_channels": c_out, "height": h, "width": w,
                                       "kernel_h": k, "kernel_w": k, "padding_h": k // 2, "padding_w": k // 2},
                            {"weight": _a(conv.weight), "bias": _a(conv.bias)}, name=f"conv{b + 1}"))
        ho, wo = h + 2 * (k // 2) - k + 1, w + 2 * (k // 2) - k + 1
        rep = ho * wo
        layers.append(Layer("batchnorm", {"features": c_out * rep, "eps": float(bn.eps)},
                            {key: np.repeat(_a(getattr(bn, key)), rep)
                             for key in ("weight", "bias", "running_mean", "running_var")}))
        # max-pool before the ReLU: the same numbers (both are monotonic), the ReLU on a quarter of the values
        layers.append(Layer("pool2d", {"channels": c_out, "height": ho, "width": wo, "kernel_h": 2, "kernel_w": 2,
                                       "mode": "max"}))
        layers.append(Layer("activation", {"function": "relu", "features": c_out * (ho // 2) * (wo // 2)}))
    c, h, w = net.out_shape
    layers.append(Layer("pool2d", {"channels": c, "height": h, "width": w, "kernel_h": h, "kernel_w": w,
                                   "mode": "avg"}, name="global average"))
    layers.append(Layer("dense", {"in_features": c, "out_features": net.classes},
                        {"weight": _a(net.head.weight), "bias": _a(net.head.bias)}, name="head"))
    layers.append(Layer("activation", {"function": "softmax", "features": net.classes}))
    model = Model(fold_batchnorm(layers), input_size=n_in, sample_rate=float(sample_rate), name=name,
                  metadata=dict(metadata or {}))
    model.validate()
    return model
