"""How each PyTorch layer module becomes IR layers, for the torch importer.

The importer follows tensors symbolically: a ``Value`` records the IR layers applied since the
module's input, the axis order of the tensor (batch ``b``, time ``t``, features ``f``), and how its
frames line up with the IR's. One ``Mapper`` maps modules for one assumed input layout; a layout
that does not fit a layer raises ``LayoutError`` so the caller can try the next one.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..errors import ModelError, UnsupportedError
from ..ir import Layer
from ..ir.layers import state_floats

SUPPORTED = ("nn.Linear, nn.LSTM, nn.GRU, nn.Conv1d, nn.BatchNorm1d, nn.Tanh, nn.ReLU, nn.Sigmoid, "
             "nn.Softsign, nn.ELU, nn.PReLU, nn.SiLU, nn.GELU, nn.Softmax, nn.Identity, nn.Dropout, "
             "nn.Sequential, tinyrt's own modules and custom modules whose forward() chains these")

AXIS_WORDS = {"b": "batch", "t": "time", "f": "features"}

_PASS_THROUGH = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                 nn.FeatureAlphaDropout)  # identities at inference
_SIMPLE = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Softsign: "softsign", nn.SiLU: "silu"}


class LayoutError(UnsupportedError):
    """A layer needs its input laid out differently from the layout being tried."""

    def __init__(self, message: str, progress: int):
        super().__init__(message)
        self.progress = progress


@dataclass(frozen=True, eq=False)
class Value:
    """A tensor met while importing: the IR layers that made it and how its axes and frames lie."""

    layers: tuple             # IR layers from the module's input to here; identity marks a shared prefix
    features: int | None      # values per frame (None: the input's, not known yet)
    axes: str                 # axis order, e.g. "btf" = (batch, time, features)
    offset: int = 0           # frame t of this tensor is frame t + offset of the IR model's output
    sliced: bool = False      # a leading slice of the features of the tensor `layers` make
    base: int | None = None   # for a slice: the features of that tensor (None: the input's)
    pair: str = ""            # set to the producing layer's name when this is an (output, state) tuple


def words(axes: str) -> str:
    """Return axis letters as words, e.g. "(batch, time, features)"."""
    return "(" + ", ".join(AXIS_WORDS[a] for a in axes) + ")"


def describe(module: nn.Module, name: str) -> str:
    """Return how error messages name a module, e.g. "nn.LSTM 'rec'"."""
    cls = type(module)
    prefix = "nn." if cls.__module__.startswith("torch.nn") else ""
    return f"{prefix}{cls.__name__} '{name}'" if name else f"{prefix}{cls.__name__}"


def array(t) -> np.ndarray:
    """Return a tensor's values as a float32 NumPy array."""
    return t.detach().cpu().to(torch.float32).numpy().copy()


@contextmanager
def preserved(module: nn.Module):
    """Restore every submodule's attributes (training flags, tensors forward() stores on self) on exit."""
    saved = {m: dict(vars(m)) for m in module.modules()}
    try:
        yield
    finally:
        for m, attrs in saved.items():
            vars(m).clear()
            vars(m).update(attrs)


def is_tinyrt(module: nn.Module) -> bool:
    """Return True for tinyrt's own modules (a TorchModel or one of its layer modules)."""
    return callable(getattr(module, "ir_layer", None)) or callable(getattr(module, "ir_model", None))


def is_custom(module: nn.Module) -> bool:
    """Return True when the module's forward() is user code (not torch's, not tinyrt's), to be traced."""
    forward_module = getattr(type(module).forward, "__module__", None) or ""
    return not forward_module.startswith("torch.") and not is_tinyrt(module)


def is_plain_sequential(module: nn.Module) -> bool:
    """Return True for an nn.Sequential (or subclass) that keeps nn.Sequential's forward()."""
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


class Mapper:
    """Maps modules to IR layers for one assumed layout of the module's input (e.g. "btf")."""

    def __init__(self, layout: str):
        self.layout = layout
        self.input_size: int | None = None
        self.progress = 0

    # -- sizes and layouts ---------------------------------------------------------------------------

    def n(self, v: Value) -> int | None:
        """Return the features of v, resolving "the input's" once the input size is known."""
        return self.input_size if v.features is None else v.features

    def sized(self, v: Value, n_in: int, who: str) -> None:
        """Check that v has n_in features (fixing the input size if v is the input's)."""
        have = self.n(v)
        if have is None:
            self.input_size = n_in
        elif have != n_in:
            raise ModelError(f"{who} takes {n_in} features per frame but gets {have} from the layer before.")

    def need(self, v: Value, ok: bool, wants: str, who: str) -> None:
        """Raise LayoutError unless ok (the layer accepts v's axis order)."""
        if not ok:
            raise LayoutError(f"{who} needs its input laid out as {wants} but gets {words(v.axes)}; "
                              f"transpose between the layers in forward().", self.progress)

    def fresh(self, v: Value, who: str) -> None:
        """Check that a layer starting from zero state (RNN, padded Conv1d) starts with the IR model."""
        if v.offset:
            raise UnsupportedError(f"{who} starts from zero state {v.offset} frames after the imported stream "
                                   f"does, because frames before it were dropped (Conv1d without causal "
                                   f"padding, or a frame slice); give those Conv1d padding=(kernel_size-1)*dilation.")

    def tensor(self, v: Value, who: str) -> Value:
        """Return v if it is a plain tensor; raise for a tuple or a slice used as a layer input."""
        if v.pair:
            raise UnsupportedError(f"{who} is given the (output, state) tuple of {v.pair}; "
                                   f"take output[0] first.")
        if v.sliced:
            raise UnsupportedError(f"{who} is given a slice of a tensor; tinyrt only adds leading feature "
                                   f"slices back as a skip connection.")
        return v

    def then(self, v: Value, layer: Layer, features: int | None, **changes) -> Value:
        """Return the value after appending one IR layer to v."""
        self.progress += 1
        changes = {"sliced": False, "base": None, "pair": "", **changes}
        return replace(v, layers=v.layers + (layer,), features=features, **changes)

    def activation(self, v: Value, function: str, who: str, alpha: float = 1.0, weight=None) -> Value:
        """Return v after an activation layer."""
        v = self.tensor(v, who)
        params, weights = {"function": function, "features": v.features, "alpha": float(alpha)}, {}
        if weight is not None:
            params["num_parameters"] = int(weight.size)
            weights["weight"] = weight
        return self.then(v, Layer("activation", params, weights), v.features)

    def feature_dim(self, v: Value, dim, who: str) -> None:
        """Check that axis dim of v is its feature axis (softmax, PReLU and batch-norm act there)."""
        if not isinstance(dim, int):
            raise UnsupportedError(f"{who} has no dim set; tinyrt applies it over features, so set dim=-1.")
        ok = -len(v.axes) <= dim < len(v.axes) and v.axes[dim] == "f"
        self.need(v, ok, f"features on axis {dim}", who)

    # -- layer modules ------------------------------------------------------------------------------

    def module(self, module: nn.Module, name: str, v: Value) -> Value:
        """Return the value after a leaf layer module (not Sequential, not custom) is applied to v."""
        who = describe(module, name)
        if isinstance(module, nn.Linear):
            return self.linear(module, who, self.tensor(v, who))
        if isinstance(module, (nn.LSTM, nn.GRU)):
            return self.recurrent(module, who, self.tensor(v, who))
        if isinstance(module, nn.Conv1d):
            return self.conv1d(module, who, self.tensor(v, who))
        if isinstance(module, nn.BatchNorm1d):
            return self.batchnorm(module, who, self.tensor(v, who))
        if isinstance(module, _PASS_THROUGH):
            self.progress += 1
            return self.tensor(v, who)
        if is_tinyrt(module):
            return self.tinyrt(module, who, self.tensor(v, who))
        return self.activation_module(module, who, v)

    def activation_module(self, module: nn.Module, who: str, v: Value) -> Value:
        """Return v after an activation module; raise UnsupportedError for anything else."""
        if type(module) in _SIMPLE:
            return self.activation(v, _SIMPLE[type(module)], who)
        if isinstance(module, nn.ELU):
            return self.activation(v, "elu", who, alpha=module.alpha)
        if isinstance(module, nn.GELU):
            if module.approximate != "none":
                raise UnsupportedError(f"{who} uses the {module.approximate!r} approximation; tinyrt computes "
                                       f"the exact erf form, so use nn.GELU(approximate='none').")
            return self.activation(v, "gelu", who)
        if isinstance(module, nn.Softmax):
            self.feature_dim(v, module.dim, who)
            return self.activation(v, "softmax", who)
        if isinstance(module, nn.PReLU):
            weight = array(module.weight).reshape(-1)
            if weight.size > 1:
                self.feature_dim(v, 1, who)
                self.sized(v, weight.size, who)
            return self.activation(v, "prelu", who, weight=weight)
        raise UnsupportedError(f"{who} is not a layer tinyrt can import; supported: {SUPPORTED}.")

    def linear(self, m: nn.Linear, who: str, v: Value) -> Value:
        """Return v after an nn.Linear (a dense layer over the last axis)."""
        self.need(v, v.axes[-1] == "f", "(..., features)", who)
        self.sized(v, m.in_features, who)
        w = {"weight": array(m.weight)}
        if m.bias is not None:
            w["bias"] = array(m.bias)
        layer = Layer("dense", {"in_features": m.in_features, "out_features": m.out_features,
                                "bias": m.bias is not None}, w)
        return self.then(v, layer, m.out_features)

    def recurrent(self, m: nn.Module, who: str, v: Value) -> Value:
        """Return the (output, state) value after an nn.LSTM or nn.GRU."""
        if m.bidirectional:
            raise UnsupportedError(f"{who} is bidirectional, which needs the future; tinyrt streams causal "
                                   f"models, so use bidirectional=False.")
        if getattr(m, "proj_size", 0):
            raise UnsupportedError(f"{who} has proj_size={m.proj_size}; tinyrt's LSTM has no projection, "
                                   f"so use proj_size=0.")
        if m.dropout and m.training and m.num_layers > 1:
            raise UnsupportedError(f"{who} applies dropout between its layers in training mode; call "
                                   f"module.eval() before importing.")
        layouts = ("btf", "tf") if m.batch_first else ("tbf", "tf")
        self.need(v, v.axes in layouts, " or ".join(words(a) for a in layouts), who)
        self.sized(v, m.input_size, who)
        self.fresh(v, who)
        names = [f"{kind}_{part}_l{k}" for k in range(m.num_layers) for kind in ("weight", "bias")
                 for part in ("ih", "hh") if kind == "weight" or m.bias]
        cell = "lstm" if isinstance(m, nn.LSTM) else "gru"
        layer = Layer(cell, {"input_size": m.input_size, "hidden_size": m.hidden_size,
                             "num_layers": m.num_layers, "bias": bool(m.bias)},
                      {key: array(getattr(m, key)) for key in names})
        return self.then(v, layer, m.hidden_size, pair=who)

    def conv1d(self, m: nn.Conv1d, who: str, v: Value) -> Value:
        """Return v after an nn.Conv1d, read as a causal streaming convolution."""
        (k,), (stride,), (dilation,) = m.kernel_size, m.stride, m.dilation
        history = (k - 1) * dilation
        if stride != 1:
            raise UnsupportedError(f"{who} has stride {stride}; tinyrt streams Conv1d frame by frame, so "
                                   f"only stride 1 is supported.")
        if m.padding == "valid":
            left = 0
        elif m.padding == "same":
            left = history // 2
        else:
            left = m.padding[0]
        if left > history:
            raise UnsupportedError(f"{who} pads {left} frames on the left, more than (kernel_size-1)*dilation "
                                   f"= {history}; tinyrt runs Conv1d causally, so use padding 0 or {history}.")
        if left and m.padding_mode != "zeros":
            raise UnsupportedError(f"{who} pads with {m.padding_mode!r}; tinyrt's causal history starts at "
                                   f"zero, so use padding_mode='zeros'.")
        self.need(v, v.axes in ("bft", "ft"), "(batch, channels, time) or (channels, time)", who)
        self.sized(v, m.in_channels, who)
        if left:
            self.fresh(v, who)
        w = {"weight": array(m.weight)}
        if m.bias is not None:
            w["bias"] = array(m.bias)
        layer = Layer("conv1d", {"in_channels": m.in_channels, "out_channels": m.out_channels,
                                 "kernel_size": k, "dilation": dilation, "groups": m.groups,
                                 "bias": m.bias is not None}, w)
        return self.then(v, layer, m.out_channels, offset=v.offset + history - left)

    def batchnorm(self, m: nn.BatchNorm1d, who: str, v: Value) -> Value:
        """Return v after an nn.BatchNorm1d with its running statistics."""
        if m.running_mean is None:
            raise UnsupportedError(f"{who} keeps no running statistics (track_running_stats=False), so its "
                                   f"output depends on the batch; tinyrt needs running statistics.")
        self.feature_dim(v, 1, who)
        self.sized(v, m.num_features, who)
        f = m.num_features
        w = {"weight": array(m.weight) if m.weight is not None else np.ones(f, np.float32),
             "bias": array(m.bias) if m.bias is not None else np.zeros(f, np.float32),
             "running_mean": array(m.running_mean), "running_var": array(m.running_var)}
        return self.then(v, Layer("batchnorm", {"features": f, "eps": float(m.eps)}, w), f)

    def tinyrt(self, m: nn.Module, who: str, v: Value) -> Value:
        """Return the (output, state) value after a TorchModel or a tinyrt layer module."""
        self.need(v, v.axes == "btf", words("btf"), who)
        layers = m.ir_model().layers if callable(getattr(m, "ir_model", None)) else [m.ir_layer()]
        self.sized(v, layers[0].in_features, who)
        if any(state_floats(sub.type, sub.params) for top in layers for sub in top.walk()):
            self.fresh(v, who)
        for layer in layers:
            v = self.then(v, layer, layer.out_features)
        return replace(v, pair=who)
