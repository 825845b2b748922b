"""The NumPy reference runner: every IR layer written for clarity, in float64.

This is the numerical truth the C, ONNX Runtime and torch backends are tested against.
Each step object keeps its own streaming state; ``process`` takes frames of shape
(T, in_features) and returns (T, out_features), and calls may split a signal anywhere.
"""
from __future__ import annotations

import numpy as np
from scipy.special import erf

from .layers import INPUT, conv2d_out, pool2d_out
from .reference_classic import CLASSIC_STEPS


def sigmoid(x):
    """Return the logistic function of x."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def activate(function: str, x, alpha: float = 1.0, weight=None, bounds=(-1.0, 1.0, 0.0, 0.0)):
    """Return ``function`` applied to x (T, features); bounds = (min_val, max_val, min_slope, max_slope) of hardtanh."""
    if function == "tanh":
        return np.tanh(x)
    if function == "relu":
        return np.maximum(x, 0.0)
    if function == "sigmoid":
        return sigmoid(x)
    if function == "softsign":
        return x / (1.0 + np.abs(x))
    if function == "elu":
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    if function == "prelu":
        return np.where(x >= 0, x, weight * x)
    if function == "silu":
        return x * sigmoid(x)
    if function == "gelu":
        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    if function == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if function == "identity":
        return x
    if function == "hardtanh":
        lo, hi, lo_slope, hi_slope = bounds
        return np.where(x < lo, (x - lo) * lo_slope + lo, np.where(x > hi, (x - hi) * hi_slope + hi, x))
    if function == "hardswish":
        return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0
    raise ValueError(function)


def _w(layer, key):
    return layer.weights[key].astype(np.float64)


class _Dense:
    def __init__(self, layer):
        self.w = _w(layer, "weight")
        self.b = _w(layer, "bias") if layer.params["bias"] else 0.0

    def reset(self):
        pass

    def process(self, x):
        return x @ self.w.T + self.b


class _Recurrent:
    """Shared by LSTM and GRU: per sub-layer weights and initial state."""

    def __init__(self, layer, gates):
        p = layer.params
        self.h_size, self.n = p["hidden_size"], p["num_layers"]
        zero = np.zeros(gates * self.h_size)
        self.w_ih = [_w(layer, f"weight_ih_l{k}") for k in range(self.n)]
        self.w_hh_t = [_w(layer, f"weight_hh_l{k}").T.copy() for k in range(self.n)]
        self.b_ih = [_w(layer, f"bias_ih_l{k}") if p["bias"] else zero for k in range(self.n)]
        self.b_hh = [_w(layer, f"bias_hh_l{k}") if p["bias"] else zero for k in range(self.n)]
        zeros = np.zeros((self.n, self.h_size))
        self.h0 = _w(layer, "h0") if "h0" in layer.weights else zeros
        self.c0 = _w(layer, "c0") if "c0" in layer.weights else zeros
        self.reset()

    def reset(self):
        self.h = self.h0.copy()
        self.c = self.c0.copy()


class _LSTM(_Recurrent):
    def __init__(self, layer):
        super().__init__(layer, 4)

    def process(self, x):
        H = self.h_size
        for k in range(self.n):
            xp = x @ self.w_ih[k].T + (self.b_ih[k] + self.b_hh[k])
            whh, h, c = self.w_hh_t[k], self.h[k].copy(), self.c[k].copy()
            y = np.empty((len(x), H))
            for t in range(len(x)):
                g = xp[t] + h @ whh
                s = 1.0 / (1.0 + np.exp(-g))  # sigmoid of all four gates; only i, f, o use it
                c = s[H:2 * H] * c + s[:H] * np.tanh(g[2 * H:3 * H])
                h = s[3 * H:] * np.tanh(c)
                y[t] = h
            self.h[k], self.c[k] = h, c
            x = y
        return x


class _GRU(_Recurrent):
    def __init__(self, layer):
        super().__init__(layer, 3)

    def process(self, x):
        H = self.h_size
        for k in range(self.n):
            xp = x @ self.w_ih[k].T + self.b_ih[k]
            whh, bhh, h = self.w_hh_t[k], self.b_hh[k], self.h[k].copy()
            y = np.empty((len(x), H))
            for t in range(len(x)):
                hp = h @ whh + bhh
                rz = 1.0 / (1.0 + np.exp(-(xp[t, :2 * H] + hp[:2 * H])))
                n = np.tanh(xp[t, 2 * H:] + rz[:H] * hp[2 * H:])
                h = n + rz[H:] * (h - n)  # (1 - z) * n + z * h
                y[t] = h
            self.h[k] = h
            x = y
        return x


class _Conv1d:
    """Causal conv1d: the last (kernel-1)*dilation input frames are the state."""

    def __init__(self, layer):
        p = layer.params
        self.w = _w(layer, "weight")  # (out, in/groups, K)
        self.b = _w(layer, "bias") if p["bias"] else np.zeros(p["out_channels"])
        self.k, self.d, self.g = p["kernel_size"], p["dilation"], p["groups"]
        self.c_in, self.c_out = p["in_channels"], p["out_channels"]
        self.history = (self.k - 1) * self.d
        self.reset()

    def reset(self):
        self.state = np.zeros((self.history, self.c_in))

    def process(self, x):
        xp = np.concatenate([self.state, x], axis=0)
        T = len(x)
        y = np.tile(self.b, (T, 1))
        gi, go = self.c_in // self.g, self.c_out // self.g
        for g in range(self.g):
            xs = xp[:, g * gi:(g + 1) * gi]
            for k in range(self.k):
                tap = xs[k * self.d:k * self.d + T]
                y[:, g * go:(g + 1) * go] += tap @ self.w[g * go:(g + 1) * go, :, k].T
        if self.history:
            self.state = xp[len(xp) - self.history:]
        return y


class _Activation:
    def __init__(self, layer):
        p = layer.params
        self.function, self.alpha = p["function"], p["alpha"]
        self.weight = _w(layer, "weight") if p["function"] == "prelu" else None
        self.bounds = (p["min_val"], p["max_val"], p["min_slope"], p["max_slope"])

    def reset(self):
        pass

    def process(self, x):
        return activate(self.function, x, self.alpha, self.weight, self.bounds)


class _BatchNorm:
    def __init__(self, layer):
        scale = _w(layer, "weight") / np.sqrt(_w(layer, "running_var") + layer.params["eps"])
        self.scale, self.shift = scale, _w(layer, "bias") - _w(layer, "running_mean") * scale

    def reset(self):
        pass

    def process(self, x):
        return x * self.scale + self.shift


class _Residual:
    def __init__(self, layer):
        self.body = [make_step(s) for s in layer.layers]
        self.n_out = layer.out_features

    def reset(self):
        for s in self.body:
            s.reset()

    def process(self, x):
        y = x
        for s in self.body:
            y = s.process(y)
        return y + x[:, :self.n_out]


class _Gain:
    def __init__(self, layer):
        self.gain = float(layer.params["gain"])

    def reset(self):
        pass

    def process(self, x):
        return x * self.gain


class _Add:
    def __init__(self, layer):
        pass

    def reset(self):
        pass

    def process(self, *xs):
        return sum(xs[1:], xs[0].copy())


class _Mul(_Add):
    def process(self, a, b):
        return a * b


class _Slice(_Add):
    def __init__(self, layer):
        self.start, self.stop = layer.params["start"], layer.params["stop"]

    def process(self, x):
        return x[:, self.start:self.stop]


class _Conv2d(_Add):
    """conv2d on one image per frame: zero padding, then a sum over the kernel taps."""

    def __init__(self, layer):
        p = self.p = layer.params
        self.w = _w(layer, "weight")  # (out, in, kh, kw)
        self.b = _w(layer, "bias") if p["bias"] else np.zeros(p["out_channels"])
        self.h_out, self.w_out = conv2d_out(p)

    def process(self, x):
        p = self.p
        img = x.reshape(len(x), p["in_channels"], p["height"], p["width"])
        img = np.pad(img, ((0, 0), (0, 0), (p["padding_h"],) * 2, (p["padding_w"],) * 2))
        y = np.zeros((len(x), p["out_channels"], self.h_out, self.w_out)) + self.b[None, :, None, None]
        sh, sw = p["stride_h"], p["stride_w"]
        for u in range(p["kernel_h"]):
            for v in range(p["kernel_w"]):
                tap = img[:, :, u:u + sh * (self.h_out - 1) + 1:sh, v:v + sw * (self.w_out - 1) + 1:sw]
                y += np.einsum("tchw,oc->tohw", tap, self.w[:, :, u, v])
        return y.reshape(len(x), -1)


class _Pool2d(_Add):
    """pool2d: the max or mean of each kernel_h x kernel_w window, stride equal to the kernel."""

    def __init__(self, layer):
        self.p = layer.params

    def process(self, x):
        p = self.p
        kh, kw = p["kernel_h"], p["kernel_w"]
        ho, wo = pool2d_out(p)
        img = x.reshape(len(x), p["channels"], p["height"], p["width"])[:, :, :ho * kh, :wo * kw]
        win = img.reshape(len(x), p["channels"], ho, kh, wo, kw)
        y = win.max(axis=(3, 5)) if p["mode"] == "max" else win.mean(axis=(3, 5))
        return y.reshape(len(x), -1)


_STEPS = {"dense": _Dense, "add": _Add, "mul": _Mul, "slice": _Slice, "lstm": _LSTM, "gru": _GRU, "conv1d": _Conv1d,
          "activation": _Activation, "batchnorm": _BatchNorm, "residual": _Residual, "gain": _Gain,
          **CLASSIC_STEPS}
_STEPS.update(conv2d=_Conv2d, pool2d=_Pool2d)  # image layers


def make_step(layer):
    """Return the reference implementation of one layer."""
    return _STEPS[layer.type](layer)


class ReferenceRunner:
    """Runs a Model frame by frame in float64, keeping state across calls until reset()."""

    def __init__(self, model):
        model.validate()
        self.model = model
        self.steps = [make_step(layer) for layer in model.layers]

    def reset(self) -> None:
        """Return every layer to its initial state."""
        for s in self.steps:
            s.reset()

    def process(self, frames) -> np.ndarray:
        """Return the model's output frames (T, output_size) in float64 for input frames (T, input_size)."""
        x = np.asarray(frames, dtype=np.float64).reshape(-1, self.model.input_size)
        named = {INPUT: x}
        for layer, s in zip(self.model.layers, self.steps):
            x = s.process(*([named[n] for n in layer.inputs] or [x]))
            if layer.output:
                named[layer.output] = x
        return x
