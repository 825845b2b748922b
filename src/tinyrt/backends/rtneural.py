"""Export the IR as the Keras-style JSON that RTNeural's run-time loader reads.

The file follows the layout documented in ``tinyrt.frontends.rtneural`` (RTNeural's
model_loader.h ``json_parser::parseJson``), so ``tinyrt.load`` reads it back exactly:

- each LSTM/GRU sub-layer becomes its own ``lstm``/``gru`` layer (RTNeural layers are single
  layer; loading a stacked PyTorch state dict into one layer mis-loads silently);
- an activation right after a dense or conv1d layer goes into that layer's ``activation`` field,
  as Keras writes it; other activations become ``activation`` layers; ``identity`` is dropped;
- absent biases are written as zeros (RTNeural's loader expects them);
- ``block_size`` is written when a frame holds several samples, and ``metadata`` carries the
  model's metadata plus ``name`` and ``samplerate`` (AIDA-X's convention).

RTNeural cannot express residual or gain layers, softsign/silu/gelu activations, ELU with an
alpha other than 1, or recurrent initial states (it resets them to zero); those raise
UnsupportedError naming the layer. A residual wrapping the whole model (the usual input skip
of an amp model) can be exported with ``skip="strip"``: the body is written and the skip is
recorded as ``in_skip`` = number of outputs, AIDA-X's key for "add the first in_skip inputs to
the output", which the host must add back (AIDA-X does).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ModelError, UnsupportedError
from ..files import write_text
from ..formats import RTNEURAL_ACTIVATIONS as ACTIVATIONS

SUPPORTED = (f"dense, conv1d, lstm, gru, batchnorm, prelu and {'/'.join(ACTIVATIONS)} activations "
             f"(ELU with alpha 1)")
SKIP_OPTIONS = ("error", "strip")


def _unsupported(layer, path: str, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer {path} ({layer.type}) cannot be written as RTNeural JSON: {why}; "
                            f"RTNeural supports {SUPPORTED}.")


def _array(w) -> list:
    return np.asarray(w, dtype=np.float32).astype(np.float64).tolist()


def _json_scalar(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} in the model metadata is not JSON serialisable")


def _shape(n: int) -> list:
    return [None, None, n]


def _bias(layer, key: str, n) -> np.ndarray:
    return layer.weights[key] if layer.params["bias"] else np.zeros(n, dtype=np.float32)


def _activation_name(layer, path: str) -> str:
    p = layer.params
    if p["function"] == "elu" and p["alpha"] != 1.0:
        raise _unsupported(layer, path, f"RTNeural's ELU always uses alpha 1, this one uses {p['alpha']:g}")
    if p["function"] not in ACTIVATIONS:
        raise _unsupported(layer, path, f"RTNeural has no {p['function']} activation")
    return p["function"]


def _foldable(layer) -> bool:
    return (layer is not None and layer.type == "activation" and layer.params["function"] in ACTIVATIONS
            and (layer.params["function"] != "elu" or layer.params["alpha"] == 1.0))


def _dense(layer, path):
    n = layer.params["out_features"]
    return [{"type": "dense", "activation": "", "shape": _shape(n),
             "weights": [_array(layer.weights["weight"].T), _array(_bias(layer, "bias", n))]}]


def _conv1d(layer, path):
    p = layer.params
    n = p["out_channels"]
    return [{"type": "conv1d", "activation": "", "shape": _shape(n), "kernel_size": [p["kernel_size"]],
             "dilation": [p["dilation"]], "groups": p["groups"],
             "weights": [_array(layer.weights["weight"].transpose(2, 1, 0)), _array(_bias(layer, "bias", n))]}]


def _recurrent(layer, path):
    p, w = layer.params, layer.weights
    for key in ("h0", "c0"):
        if key in w and np.any(w[key] != 0):
            raise _unsupported(layer, path, f"it has a non-zero initial state {key} and RTNeural resets to zero")
    h, out = p["hidden_size"], []
    # PyTorch GRU gates are r, z, n; Keras/RTNeural's are z, r, h: swap the first two blocks.
    order = np.r_[h:2 * h, 0:h, 2 * h:3 * h] if layer.type == "gru" else np.arange(4 * h)
    for k in range(p["num_layers"]):
        b_ih = _bias(layer, f"bias_ih_l{k}", len(order)).astype(np.float64)
        b_hh = _bias(layer, f"bias_hh_l{k}", len(order)).astype(np.float64)
        bias = [b_ih[order], b_hh[order]] if layer.type == "gru" else (b_ih + b_hh).astype(np.float32)
        out.append({"type": layer.type, "activation": "", "shape": _shape(h), "weights": [
            _array(w[f"weight_ih_l{k}"][order].T), _array(w[f"weight_hh_l{k}"][order].T), _array(bias)]})
    return out


def _activation(layer, path):
    p = layer.params
    if p["function"] == "identity":
        return []
    if p["function"] == "prelu":
        return [{"type": "prelu", "activation": "", "shape": _shape(p["features"]),
                 "weights": [[_array(layer.weights["weight"])]]}]
    return [{"type": "activation", "activation": _activation_name(layer, path), "shape": _shape(p["features"]),
             "weights": []}]


def _batchnorm(layer, path):
    w = layer.weights
    return [{"type": "batchnorm", "activation": "", "shape": _shape(layer.params["features"]),
             "epsilon": float(layer.params["eps"]),
             "weights": [_array(w[k]) for k in ("weight", "bias", "running_mean", "running_var")]}]


def _refuse(why):
    def convert(layer, path):
        raise _unsupported(layer, path, why)
    return convert


_CONVERT = {
    "dense": _dense,
    "conv1d": _conv1d,
    "lstm": _recurrent,
    "gru": _recurrent,
    "activation": _activation,
    "batchnorm": _batchnorm,
    "residual": _refuse("RTNeural has no skip connections (skip='strip' handles only a skip "
                        "around the whole model)"),
    "gain": _refuse("RTNeural has no gain layer (fold the gain into the next dense layer)"),
}


def _entries(layers: list, prefix: str) -> list:
    out, i = [], 0
    while i < len(layers):
        layer, path = layers[i], f"{prefix}{i}"
        if layer.type not in _CONVERT:
            raise _unsupported(layer, path, "RTNeural has no such layer")
        entries = _CONVERT[layer.type](layer, path)
        following = layers[i + 1] if i + 1 < len(layers) else None
        if layer.type in ("dense", "conv1d") and _foldable(following):
            entries[0]["activation"] = following.params["function"]
            i += 1
        out.extend(entries)
        i += 1
    return out


def to_rtneural(model, skip: str = "error") -> dict:
    """Return the RTNeural JSON document (a dict) for the model."""
    if skip not in SKIP_OPTIONS:
        raise UnsupportedError(f"skip={skip!r} is not an option of the RTNeural exporter; use "
                               f"{' or '.join(map(repr, SKIP_OPTIONS))}.")
    model.validate().require_stack("RTNeural's JSON format")
    doc = {"in_shape": _shape(model.input_size)}
    layers, prefix = model.layers, ""
    if len(layers) == 1 and layers[0].type == "residual":
        if skip == "error":
            exc = _unsupported(layers[0], "0", "RTNeural has no skip connections; pass skip='strip' to "
                                               "export the body and record the skip as 'in_skip' for the host")
            exc.cli = str(exc).replace("pass skip='strip'", "give --skip strip")
            raise exc
        doc["in_skip"] = layers[0].out_features
        layers, prefix = layers[0].layers, "0."
    doc["layers"] = _entries(layers, prefix)
    if not doc["layers"]:
        raise UnsupportedError(f"{model.name} has only identity layers, which leave nothing for RTNeural to run.")
    if model.block_size != 1:
        doc["block_size"] = model.block_size
    metadata = {**model.metadata, "name": model.name}
    if model.sample_rate is not None:
        metadata["samplerate"] = model.sample_rate
    doc["metadata"] = metadata
    return doc


def export(model, path, skip: str = "error", **options) -> Path:
    """Write the model as RTNeural JSON and return the path; skip="strip" writes a whole-model skip as in_skip."""
    if options:
        raise UnsupportedError(f"the RTNeural exporter has no option {next(iter(options))!r}; "
                               f"its only option is skip.")
    doc = to_rtneural(model, skip)
    try:  # serialised in full before the file is touched
        text = json.dumps(doc, default=_json_scalar)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{model.name}: the model cannot be written as RTNeural JSON ({exc}).") from None
    return write_text(Path(path), text, "RTNeural JSON file")
