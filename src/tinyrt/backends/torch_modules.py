"""PyTorch modules that compute each IR layer with the IR's exact semantics and streaming state.

Every layer module reads frames batch-first, ``x: [B, T, in_features]``, together with a list of
state tensors, and returns ``(y, new_state)`` with ``y: [B, T, out_features]``; the state is never
changed in place, so a caller keeps it (or not) between calls. ``initial_state(x)`` returns the
state a reset starts from, for the batch size of ``x``. ``n_state`` says how many state tensors a
layer uses. ``from_layer(layer)`` builds a module from an IR layer and ``ir_layer()`` gives the
IR layer back with identical float32 weights (the torch importer finds modules by that method).
All modules compile with ``torch.jit.script``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import UnsupportedError
from ..ir import Layer


def _tensor(w) -> Tensor:
    return torch.from_numpy(np.array(w, dtype=np.float32))


def _array(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _empty() -> list[Tensor]:
    out: list[Tensor] = []
    return out


class Dense(nn.Module):
    """IR ``dense``: ``y = x W^T + b`` over the feature axis, through an nn.Linear."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features, self.n_state = in_features, out_features, 0
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    @classmethod
    def from_layer(cls, layer: Layer) -> Dense:
        """Return the module for an IR dense layer."""
        p = layer.params
        m = cls(p["in_features"], p["out_features"], p["bias"])
        with torch.no_grad():
            m.linear.weight.copy_(_tensor(layer.weights["weight"]))
            if p["bias"]:
                m.linear.bias.copy_(_tensor(layer.weights["bias"]))
        return m

    def ir_layer(self) -> Layer:
        """Return the IR dense layer this module computes."""
        bias = self.linear.bias is not None
        w = {"weight": _array(self.linear.weight)}
        if bias:
            w["bias"] = _array(self.linear.bias)
        return Layer("dense", {"in_features": self.in_features, "out_features": self.out_features,
                               "bias": bias}, w)

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the (empty) state: a dense layer has none."""
        return _empty()

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, state) for frames x: [B, T, in_features]."""
        return F.linear(x, self.linear.weight, self.linear.bias), state


class _Recurrent(nn.Module):
    """Shared part of the LSTM and GRU wrappers: a batch-first nn.LSTM/nn.GRU plus initial state.

    The nn.LSTM/nn.GRU holds the parameters (named as in PyTorch and the IR); forward() calls the
    kernels on its parameter list directly, skipping nn.RNN's Python-side checks: one-frame calls
    (a real-time loop at host block = model block) step the fused cells (``torch.lstm_cell`` /
    ``torch.gru_cell``) layer by layer, which costs far less per call than the sequence kernel
    (``torch.lstm`` / ``torch.gru``, what nn.LSTM/nn.GRU run) that longer calls use.
    """

    cell, initial = "rnn", ("h0",)  # the IR layer type and its optional initial-state weights

    def __init__(self, rnn: nn.Module, given: tuple):
        super().__init__()
        self.rnn = rnn
        self.in_features, self.out_features = rnn.input_size, rnn.hidden_size
        self.num_layers, self.bias = rnn.num_layers, rnn.bias
        self.given = tuple(given)  # initial states the IR layer gives (the others are zeros)
        for name in self.initial:
            self.register_buffer(name, torch.zeros(rnn.num_layers, rnn.hidden_size))

    @classmethod
    def from_layer(cls, layer: Layer):
        """Return the module for an IR lstm or gru layer (weights, bias and initial state)."""
        p = layer.params
        kind = nn.LSTM if cls.cell == "lstm" else nn.GRU
        rnn = kind(p["input_size"], p["hidden_size"], p["num_layers"], bias=p["bias"], batch_first=True)
        m = cls(rnn, [name for name in cls.initial if name in layer.weights])
        with torch.no_grad():
            for name, param in rnn.named_parameters():
                param.copy_(_tensor(layer.weights[name]))
            for name in m.given:
                getattr(m, name).copy_(_tensor(layer.weights[name]))
        return m.eval()

    def ir_layer(self) -> Layer:
        """Return the IR layer this module computes, with its initial state if it has one."""
        w = {name: _array(param) for name, param in self.rnn.named_parameters()}
        w.update({name: _array(getattr(self, name)) for name in self.given})
        return Layer(self.cell, {"input_size": self.in_features, "hidden_size": self.out_features,
                                 "num_layers": self.num_layers, "bias": self.bias}, w)

    def _start(self, init: Tensor, x: Tensor) -> Tensor:
        return init.unsqueeze(1).expand(-1, x.size(0), -1).contiguous()


class LSTMLayer(_Recurrent):
    """IR ``lstm`` (gates i, f, g, o; optional h0/c0) over a batch-first nn.LSTM."""

    cell, initial = "lstm", ("h0", "c0")

    def __init__(self, rnn: nn.Module, given: tuple = ()):
        super().__init__(rnn, given)
        self.n_state = 2

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return [h, c], each [num_layers, B, hidden], from h0/c0 (zeros when absent)."""
        return [self._start(self.h0, x), self._start(self.c0, x)]

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, [h, c]) for frames x: [B, T, input_size] starting from state [h, c]."""
        w = self.rnn._flat_weights  # nn.LSTM's own parameter list: per layer w_ih, w_hh[, b_ih, b_hh]
        if x.size(1) != 1:
            y, h, c = torch.lstm(x, [state[0], state[1]], w, self.bias, self.num_layers, 0.0, False, False, True)
            return y, [h, c]
        per = len(w) // self.num_layers
        y, h0, c0 = x.squeeze(1), state[0], state[1]
        hs: list[Tensor] = []
        cs: list[Tensor] = []
        for k in range(self.num_layers):
            i = k * per
            if self.bias:
                y, c = torch.lstm_cell(y, [h0[k], c0[k]], w[i], w[i + 1], w[i + 2], w[i + 3])
            else:
                y, c = torch.lstm_cell(y, [h0[k], c0[k]], w[i], w[i + 1])
            hs.append(y)
            cs.append(c)
        if self.num_layers == 1:
            return y.unsqueeze(1), [hs[0].unsqueeze(0), cs[0].unsqueeze(0)]
        return y.unsqueeze(1), [torch.stack(hs), torch.stack(cs)]


class GRULayer(_Recurrent):
    """IR ``gru`` (gates r, z, n with the reset gate after the recurrent matmul; optional h0)."""

    cell, initial = "gru", ("h0",)

    def __init__(self, rnn: nn.Module, given: tuple = ()):
        super().__init__(rnn, given)
        self.n_state = 1

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return [h], [num_layers, B, hidden], from h0 (zeros when absent)."""
        return [self._start(self.h0, x)]

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, [h]) for frames x: [B, T, input_size] starting from state [h]."""
        w = self.rnn._flat_weights  # nn.GRU's own parameter list: per layer w_ih, w_hh[, b_ih, b_hh]
        if x.size(1) != 1:
            y, h = torch.gru(x, state[0], w, self.bias, self.num_layers, 0.0, False, False, True)
            return y, [h]
        per = len(w) // self.num_layers
        y, h0 = x.squeeze(1), state[0]
        hs: list[Tensor] = []
        for k in range(self.num_layers):
            i = k * per
            if self.bias:
                y = torch.gru_cell(y, h0[k], w[i], w[i + 1], w[i + 2], w[i + 3])
            else:
                y = torch.gru_cell(y, h0[k], w[i], w[i + 1])
            hs.append(y)
        if self.num_layers == 1:
            return y.unsqueeze(1), [hs[0].unsqueeze(0)]
        return y.unsqueeze(1), [torch.stack(hs)]


class CausalConv1d(nn.Module):
    """IR ``conv1d``: a causal streaming nn.Conv1d whose state is the last (K-1)*dilation frames.

    ``y[t] = b + sum_k W[:, :, k] x[t - (K-1-k) * dilation]`` (per group), with zeros before the
    first frame after a reset; the state is a left history buffer [B, (K-1)*dilation, in_channels].
    """

    def __init__(self, conv: nn.Conv1d):
        super().__init__()
        self.conv = conv
        self.in_features, self.out_features, self.n_state = conv.in_channels, conv.out_channels, 1
        self.history = (conv.kernel_size[0] - 1) * conv.dilation[0]

    @classmethod
    def from_layer(cls, layer: Layer) -> CausalConv1d:
        """Return the module for an IR conv1d layer."""
        p = layer.params
        conv = nn.Conv1d(p["in_channels"], p["out_channels"], p["kernel_size"], dilation=p["dilation"],
                         groups=p["groups"], bias=p["bias"])
        with torch.no_grad():
            conv.weight.copy_(_tensor(layer.weights["weight"]))
            if p["bias"]:
                conv.bias.copy_(_tensor(layer.weights["bias"]))
        return cls(conv)

    def ir_layer(self) -> Layer:
        """Return the IR conv1d layer this module computes."""
        c = self.conv
        w = {"weight": _array(c.weight)}
        if c.bias is not None:
            w["bias"] = _array(c.bias)
        return Layer("conv1d", {"in_channels": c.in_channels, "out_channels": c.out_channels,
                                "kernel_size": c.kernel_size[0], "dilation": c.dilation[0],
                                "groups": c.groups, "bias": c.bias is not None}, w)

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return [history] of zeros, [B, (K-1)*dilation, in_channels]."""
        return [x.new_zeros(x.size(0), self.history, self.in_features)]

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, [history]) for frames x: [B, T, in_channels]."""
        xp = torch.cat([state[0], x], 1)
        y = self.conv(xp.transpose(1, 2)).transpose(1, 2)
        return y, [xp[:, xp.size(1) - self.history:]]


class HardTanh(nn.Module):
    """IR ``hardtanh``: x inside [min_val, max_val], slopes min_slope / max_slope beyond the bounds."""

    def __init__(self, min_val: float, max_val: float, min_slope: float, max_slope: float):
        super().__init__()
        self.lo, self.hi, self.lo_slope, self.hi_slope = float(min_val), float(max_val), float(min_slope), \
            float(max_slope)

    def forward(self, x: Tensor) -> Tensor:
        """Return the activation of x."""
        y = torch.where(x < self.lo, (x - self.lo) * self.lo_slope + self.lo, x)
        return torch.where(x > self.hi, (x - self.hi) * self.hi_slope + self.hi, y)


_BOUNDS = ("min_val", "max_val", "min_slope", "max_slope")
_ACTIVATIONS = {
    "hardtanh": lambda p: HardTanh(*(p[k] for k in _BOUNDS)),
    "hardswish": lambda p: nn.Hardswish(),
    "tanh": lambda p: nn.Tanh(),
    "relu": lambda p: nn.ReLU(),
    "sigmoid": lambda p: nn.Sigmoid(),
    "softsign": lambda p: nn.Softsign(),
    "elu": lambda p: nn.ELU(alpha=p["alpha"]),
    "prelu": lambda p: nn.PReLU(p["num_parameters"]),
    "silu": lambda p: nn.SiLU(),
    "gelu": lambda p: nn.GELU(approximate="none"),
    "softmax": lambda p: nn.Softmax(dim=-1),
    "identity": lambda p: nn.Identity(),
}


class Activation(nn.Module):
    """IR ``activation``: torch's own activation module applied to frames [B*T, features].

    Frames are flattened so PReLU's per-channel slopes and softmax act on the feature axis.
    """

    def __init__(self, function: str, features: int, alpha: float = 1.0, num_parameters: int = 1,
                 bounds: tuple = (-1.0, 1.0, 0.0, 0.0)):
        super().__init__()
        self.function, self.alpha, self.num_parameters = function, alpha, num_parameters
        self.bounds = tuple(float(b) for b in bounds)
        self.in_features = self.out_features = features
        self.n_state = 0
        self.fn = _ACTIVATIONS[function]({"alpha": alpha, "num_parameters": num_parameters,
                                          **dict(zip(_BOUNDS, self.bounds))})

    @classmethod
    def from_layer(cls, layer: Layer) -> Activation:
        """Return the module for an IR activation layer."""
        p = layer.params
        m = cls(p["function"], p["features"], p["alpha"], p["num_parameters"], tuple(p[k] for k in _BOUNDS))
        if p["function"] == "prelu":
            with torch.no_grad():
                m.fn.weight.copy_(_tensor(layer.weights["weight"]))
        return m

    def ir_layer(self) -> Layer:
        """Return the IR activation layer this module computes."""
        params = {"function": self.function, "features": self.in_features, "alpha": self.alpha,
                  "num_parameters": self.num_parameters, **dict(zip(_BOUNDS, self.bounds))}
        w = {"weight": _array(self.fn.weight)} if self.function == "prelu" else {}
        return Layer("activation", params, w)

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the (empty) state: an activation has none."""
        return _empty()

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, state) for frames x: [B, T, features]."""
        return self.fn(x.reshape(-1, self.in_features)).reshape(x.shape), state


class BatchNorm(nn.Module):
    """IR ``batchnorm``: an nn.BatchNorm1d always applied with its running statistics (eval mode)."""

    def __init__(self, features: int, eps: float = 1e-5):
        super().__init__()
        self.in_features = self.out_features = features
        self.n_state = 0
        self.bn = nn.BatchNorm1d(features, eps=eps)

    @classmethod
    def from_layer(cls, layer: Layer) -> BatchNorm:
        """Return the module for an IR batchnorm layer."""
        m = cls(layer.params["features"], layer.params["eps"])
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(m.bn, name).copy_(_tensor(layer.weights[name]))
        return m.eval()

    def ir_layer(self) -> Layer:
        """Return the IR batchnorm layer this module computes."""
        w = {name: _array(getattr(self.bn, name)) for name in ("weight", "bias", "running_mean", "running_var")}
        return Layer("batchnorm", {"features": self.in_features, "eps": float(self.bn.eps)}, w)

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the (empty) state: batch-norm has none."""
        return _empty()

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, state) for frames x: [B, T, features], normalised with the running statistics."""
        b = self.bn
        y = F.batch_norm(x.reshape(-1, self.in_features), b.running_mean, b.running_var, b.weight, b.bias,
                         False, 0.0, b.eps)
        return y.reshape(x.shape), state


class Gain(nn.Module):
    """IR ``gain``: multiply every value by a constant."""

    def __init__(self, features: int, gain: float):
        super().__init__()
        self.in_features = self.out_features = features
        self.gain, self.n_state = float(gain), 0

    @classmethod
    def from_layer(cls, layer: Layer) -> Gain:
        """Return the module for an IR gain layer."""
        return cls(layer.params["features"], layer.params["gain"])

    def ir_layer(self) -> Layer:
        """Return the IR gain layer this module computes."""
        return Layer("gain", {"features": self.in_features, "gain": self.gain})

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the (empty) state: a gain has none."""
        return _empty()

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, state) for frames x: [B, T, features]."""
        return x * self.gain, state


class Residual(nn.Module):
    """IR ``residual``: ``y = body(x) + x[..., :body_out]``; the state is the body's, concatenated."""

    def __init__(self, body: list[nn.Module]):
        super().__init__()
        self.body = nn.ModuleList(body)
        self.in_features, self.out_features = body[0].in_features, body[-1].out_features
        self.n_state = sum(m.n_state for m in body)

    @classmethod
    def from_layer(cls, layer: Layer) -> Residual:
        """Return the module for an IR residual layer and its body."""
        return cls([build(sub) for sub in layer.layers])

    def ir_layer(self) -> Layer:
        """Return the IR residual layer with its body."""
        return Layer("residual", {"features": self.in_features}, layers=[m.ir_layer() for m in self.body])

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the initial state of every body layer, in order."""
        out = _empty()
        for layer in self.body:
            out.extend(layer.initial_state(x))
        return out

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (body(x) + x[..., :body_out], new state) for frames x: [B, T, features]."""
        y, new, i = x, _empty(), 0
        for layer in self.body:
            y, s = layer.forward(y, state[i:i + layer.n_state])
            new.extend(s)
            i += layer.n_state
        return y + x[:, :, :self.out_features], new


class Conv2d(nn.Module):
    """IR ``conv2d``: an nn.Conv2d over the one channel-major image each frame holds."""

    def __init__(self, conv: nn.Conv2d, height: int, width: int):
        super().__init__()
        self.conv, self.height, self.width, self.n_state = conv, height, width, 0
        self.channels = conv.in_channels
        self.in_features = conv.in_channels * height * width
        ho = (height + 2 * conv.padding[0] - conv.kernel_size[0]) // conv.stride[0] + 1
        wo = (width + 2 * conv.padding[1] - conv.kernel_size[1]) // conv.stride[1] + 1
        self.out_features = conv.out_channels * ho * wo

    @classmethod
    def from_layer(cls, layer: Layer) -> Conv2d:
        """Return the module for an IR conv2d layer."""
        p = layer.params
        conv = nn.Conv2d(p["in_channels"], p["out_channels"], (p["kernel_h"], p["kernel_w"]),
                         stride=(p["stride_h"], p["stride_w"]), padding=(p["padding_h"], p["padding_w"]),
                         bias=p["bias"])
        with torch.no_grad():
            conv.weight.copy_(_tensor(layer.weights["weight"]))
            if p["bias"]:
                conv.bias.copy_(_tensor(layer.weights["bias"]))
        return cls(conv, p["height"], p["width"])

    def ir_layer(self) -> Layer:
        """Return the IR conv2d layer this module computes."""
        c = self.conv
        w = {"weight": _array(c.weight)}
        if c.bias is not None:
            w["bias"] = _array(c.bias)
        return Layer("conv2d", {"in_channels": c.in_channels, "out_channels": c.out_channels, "height": self.height,
                                "width": self.width, "kernel_h": c.kernel_size[0], "kernel_w": c.kernel_size[1],
                                "stride_h": c.stride[0], "stride_w": c.stride[1], "padding_h": c.padding[0],
                                "padding_w": c.padding[1], "bias": c.bias is not None}, w)

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the (empty) state: a conv2d keeps none."""
        return _empty()

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, state) for frames x: [B, T, channels * height * width]."""
        img = x.reshape(-1, self.channels, self.height, self.width)
        y = self.conv(img)
        return y.reshape(x.size(0), x.size(1), self.out_features), state


class Pool2d(nn.Module):
    """IR ``pool2d``: max or average pooling of each frame's image, stride equal to the kernel."""

    def __init__(self, channels: int, height: int, width: int, kernel_h: int, kernel_w: int, mode: str):
        super().__init__()
        self.channels, self.height, self.width = channels, height, width
        self.kernel_h, self.kernel_w, self.mode, self.n_state = kernel_h, kernel_w, mode, 0
        self.in_features = channels * height * width
        self.out_features = channels * (height // kernel_h) * (width // kernel_w)

    @classmethod
    def from_layer(cls, layer: Layer) -> Pool2d:
        """Return the module for an IR pool2d layer."""
        p = layer.params
        return cls(p["channels"], p["height"], p["width"], p["kernel_h"], p["kernel_w"], p["mode"])

    def ir_layer(self) -> Layer:
        """Return the IR pool2d layer this module computes."""
        return Layer("pool2d", {"channels": self.channels, "height": self.height, "width": self.width,
                                "kernel_h": self.kernel_h, "kernel_w": self.kernel_w, "mode": self.mode})

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the (empty) state: pooling keeps none."""
        return _empty()

    def forward(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, state) for frames x: [B, T, channels * height * width]."""
        img = x.reshape(-1, self.channels, self.height, self.width)
        kernel = [self.kernel_h, self.kernel_w]
        y = F.max_pool2d(img, kernel, kernel) if self.mode == "max" else F.avg_pool2d(img, kernel, kernel)
        return y.reshape(x.size(0), x.size(1), self.out_features), state


class Node(nn.Module):
    """A layer of a graph model: the wrapped layer module, reading the first tensor a graph gives it."""

    def __init__(self, inner: nn.Module, inputs: list, output: str):
        super().__init__()
        self.inner, self.inputs, self.output = inner, list(inputs), output
        self.in_features, self.out_features, self.n_state = inner.in_features, inner.out_features, inner.n_state

    def ir_layer(self) -> Layer:
        """Return the IR layer with its graph inputs and output."""
        layer = self.inner.ir_layer()
        layer.inputs, layer.output = list(self.inputs), self.output
        return layer

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the wrapped layer's initial state."""
        return self.inner.initial_state(x)

    def forward_graph(self, xs: list[Tensor], state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, new state) of the wrapped layer for the first of its inputs."""
        return self.inner.forward(xs[0], state)


class Combine(nn.Module):
    """IR ``add`` (the sum of its inputs), ``mul`` (their product) and ``slice`` (features start..stop) in a graph."""

    def __init__(self, kind: str, features: int, inputs: list, output: str, start: int = 0, stop: int = 0):
        super().__init__()
        self.kind, self.inputs, self.output, self.start, self.stop = kind, list(inputs), output, start, stop
        self.in_features = features
        self.out_features = stop - start if kind == "slice" else features
        self.n_state = 0

    @classmethod
    def from_layer(cls, layer: Layer) -> Combine:
        """Return the module for an IR add, mul or slice layer."""
        p = layer.params
        if layer.type == "slice":
            return cls("slice", p["in_features"], layer.inputs, layer.output, p["start"], p["stop"])
        return cls(layer.type, p["features"], layer.inputs, layer.output)

    def ir_layer(self) -> Layer:
        """Return the IR layer this module computes."""
        params = ({"in_features": self.in_features, "start": self.start, "stop": self.stop} if self.kind == "slice"
                  else {"features": self.in_features})
        return Layer(self.kind, params, inputs=list(self.inputs), output=self.output)

    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the (empty) state."""
        return _empty()

    def forward_graph(self, xs: list[Tensor], state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Return (y, state) for the input tensors."""
        if self.kind == "slice":
            return xs[0][:, :, self.start:self.stop], state
        y = xs[0]
        for other in xs[1:]:
            y = y * other if self.kind == "mul" else y + other
        return y, state


# TorchScript types the input names (a list that may be empty) from real annotations, not postponed text.
Node.__annotations__ = Combine.__annotations__ = {"inputs": list[str], "output": str}


def build_node(layer: Layer) -> nn.Module:
    """Return the module of one layer of a graph model (forward_graph(inputs, state))."""
    if layer.type in ("add", "mul", "slice"):
        return Combine.from_layer(layer)
    return Node(build(layer), layer.inputs, layer.output)


_BUILDERS = {"dense": Dense, "lstm": LSTMLayer, "gru": GRULayer, "conv1d": CausalConv1d,
             "activation": Activation, "batchnorm": BatchNorm, "residual": Residual, "gain": Gain}
_BUILDERS.update(conv2d=Conv2d, pool2d=Pool2d)  # image layers


def build(layer: Layer) -> nn.Module:
    """Return the streaming PyTorch module for one IR layer."""
    if layer.type not in _BUILDERS:
        raise UnsupportedError(f"a {layer.type} layer has no PyTorch form in tinyrt; run it on the C engine "
                               f"or the reference.")
    return _BUILDERS[layer.type].from_layer(layer)
