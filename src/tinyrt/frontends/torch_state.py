"""Import RTNeural's PyTorch state-dict JSON (``*_torch.json``): a ``state_dict()`` dumped with json.

RTNeural's own scripts (python/lstm_torch.py, gru_torch.py, conv1d_torch.py) write
``json.dump(model.state_dict(), ...)`` and its C++ loads each layer by name prefix with
RTNeural/torch_helpers.h (``loadLSTM``, ``loadGRU``, ``loadConv1D``, ``loadDense``), the network
itself being written in C++. The file therefore holds weights only: tinyrt reads the modules in the
order the file lists them, each named by its key prefix (``lstm.weight_ih_l0`` -> ``lstm``), and infers
each module from its keys:

- ``weight_ih_l{k}``/``weight_hh_l{k}`` (+ biases): an LSTM when ``weight_hh`` has 4H rows, a GRU when 3H
  (PyTorch gate order, as the IR; ``k`` stacked layers);
- a 3-D ``weight`` (out, in/groups, K) (+ ``bias``): a Conv1d run causally (torch_helpers reverses the taps
  for RTNeural's newest-first buffer, which is PyTorch's convolution over past samples), dilation 1
  unless given in ``dilations``, groups inferred from the previous module's width;
- a 2-D ``weight`` (out, in) (+ ``bias``): a Linear layer.

Activations are not in a state dict; pass ``activations={"prefix": "tanh"}`` to apply one after a module.
Any other key (batch-norm statistics, transposed convolutions...) is refused in one sentence.
"""
from __future__ import annotations

import re

from ..errors import FormatError, UnsupportedError
from ..files import check_limit
from ..ir import Layer, Model
from ..ir.layers import ACTIVATIONS
from ._json import checked, read_array

_RNN = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)")
_PLAIN = ("weight", "bias")


def looks_like_state_dict(doc: dict) -> bool:
    """Return whether a JSON object looks like a PyTorch state dict (tensors as lists, some named ...weight)."""
    return (bool(doc) and all(isinstance(v, list) for v in doc.values())
            and any(k.rsplit(".", 1)[-1] in _PLAIN or _RNN.fullmatch(k.rsplit(".", 1)[-1]) for k in doc))


def _modules(doc: dict, where: str) -> list:
    """Return [(prefix, {param: array})] in the file's order."""
    out: dict = {}
    check_limit(len(doc), "layers", "the number of tensors", where)
    for key, value in doc.items():
        prefix, _, param = key.rpartition(".")
        if not (param in _PLAIN or _RNN.fullmatch(param)):
            raise UnsupportedError(f"{where}: the state dict entry {key!r} is not a weight or bias of an LSTM, GRU, "
                                   f"Conv1d or Linear module, which is all tinyrt reads from a state dict.")
        out.setdefault(prefix, {})[param] = read_array(value, None, f"{key!r}", where)
    return list(out.items())


def _recurrent(prefix: str, p: dict, n_in: int, where: str) -> Layer:
    if not all(_RNN.fullmatch(k) for k in p):
        raise UnsupportedError(f"{where}: module {prefix!r} mixes recurrent weights with {sorted(p)}, which is not "
                               f"an LSTM or GRU tinyrt can infer from a state dict.")
    w_hh, w_ih = p.get("weight_hh_l0"), p.get("weight_ih_l0")
    if (w_hh is None or w_ih is None or w_hh.ndim != 2 or w_ih.ndim != 2
            or w_hh.shape[0] not in (3 * w_hh.shape[1], 4 * w_hh.shape[1])):
        raise FormatError(f"{where}: module {prefix!r} has no weight_ih_l0 (gates, inputs) and weight_hh_l0 of "
                          f"shape (3H or 4H, H).")
    hidden = w_hh.shape[1]
    kind = "lstm" if w_hh.shape[0] == 4 * hidden else "gru"
    n_layers = 1 + max(int(_RNN.fullmatch(k).group(2)) for k in p)
    bias = "bias_ih_l0" in p
    expected = {f"{n}_l{k}" for k in range(n_layers) for n in ("weight_ih", "weight_hh")
                + (("bias_ih", "bias_hh") if bias else ())}
    if set(p) != expected:
        raise FormatError(f"{where}: module {prefix!r} lacks or repeats some of {sorted(expected)}.")
    return Layer(kind, {"input_size": p["weight_ih_l0"].shape[1], "hidden_size": hidden, "num_layers": n_layers,
                        "bias": bias}, p, name=prefix)


def from_torch_state(doc: dict, name: str = "model", where: str = "state dict", activations: dict | None = None,
                     dilations: dict | None = None) -> Model:
    """Return the IR stack of an RTNeural ``*_torch.json`` state dict (see the module docstring)."""
    activations, dilations = dict(activations or {}), dict(dilations or {})
    modules = _modules(doc, where)
    unknown = set(activations) | set(dilations)
    unknown -= {prefix for prefix, _ in modules}
    if unknown:
        raise UnsupportedError(f"{where}: no module is called {sorted(unknown)[0]!r}; the modules are "
                               f"{', '.join(repr(p) for p, _ in modules)}.")
    layers, n_in = [], None
    for prefix, p in modules:
        if any(_RNN.fullmatch(k) for k in p):
            layer = _recurrent(prefix, p, n_in, where)
        elif set(p) <= set(_PLAIN) and "weight" in p and p["weight"].ndim in (2, 3):
            w, bias = p["weight"], p.get("bias")
            if w.ndim == 2:
                layer = Layer("dense", {"in_features": w.shape[1], "out_features": w.shape[0],
                                        "bias": bias is not None}, p, name=prefix)
            else:
                groups = 1 if n_in is None else n_in // max(w.shape[1], 1)
                if groups < 1 or (n_in is not None and groups * w.shape[1] != n_in):
                    raise FormatError(f"{where}: Conv1d {prefix!r} reads {w.shape[1]} channels per group, which "
                                      f"does not divide the previous module's {n_in}.")
                check_limit(w.shape[2], "taps", f"Conv1d {prefix!r} kernel size", where)
                layer = Layer("conv1d", {"in_channels": w.shape[1] * groups, "out_channels": w.shape[0],
                                         "kernel_size": w.shape[2], "dilation": int(dilations.get(prefix, 1)),
                                         "groups": groups, "bias": bias is not None}, p, name=prefix)
        else:
            raise UnsupportedError(f"{where}: module {prefix!r} holds {sorted(p)}, which is not an LSTM, GRU, Conv1d "
                                   f"or Linear module tinyrt can infer from a state dict.")
        layers.append(layer)
        n_in = layer.out_features
        if prefix in activations:
            function = activations[prefix]
            if function not in ACTIVATIONS or function == "prelu":
                raise UnsupportedError(f"activation {function!r} for {prefix!r} is not one of "
                                       f"{', '.join(a for a in ACTIVATIONS if a != 'prelu')}.")
            layers.append(Layer("activation", {"function": function, "features": n_in}, name=f"{prefix} {function}"))
    if not layers:
        raise FormatError(f"{where}: the state dict holds no modules.")
    model = Model(layers, input_size=layers[0].in_features, name=name,
                  metadata={"format": "PyTorch state dict (RTNeural torch_helpers)"})
    return checked(model, where)


__all__ = ["from_torch_state", "looks_like_state_dict"]
