"""Import RTNeural's Keras-style JSON, and AIDA-X model files (the same JSON with extra keys).

The layout, as RTNeural's run-time loader reads it (RTNeural/model_loader.h,
``json_parser::parseJson``) and as its Keras exporter writes it (python/model_utils.py,
``save_model_json``):

- ``in_shape``: a list whose last entry is the number of input features
  (``[null, null, 1]``); a 4-entry shape belongs to conv2d models, which tinyrt does not read.
- ``layers``: a list of objects, each with ``type``, ``shape`` (last entry = output
  features), ``weights`` (Keras ``get_weights()`` order) and ``activation``.
- ``activation`` is a Keras name (``tanh``, ``relu``, ``sigmoid``, ``softmax``, ``elu``, or
  ``""`` for none). RTNeural adds it as a separate layer after ``dense``,
  ``time-distributed-dense`` and ``conv1d`` layers and for ``activation`` layers; it ignores the
  field on ``lstm``/``gru`` (their tanh is built in). RTNeural's ELU always uses alpha 1.
- ``dense``: ``[kernel (in, out), bias (out)]`` with ``y = x @ kernel + bias``; the bias may be absent.
- ``conv1d``: ``[kernel (K, in/groups, out), bias (out)]`` plus ``kernel_size`` and ``dilation``
  (Keras writes one-element lists) and ``groups`` (default 1). Kernel tap ``k`` multiplies the
  input from ``(K-1-k) * dilation`` steps ago, the same order as a PyTorch Conv1d kernel, so the
  IR weight is ``kernel.transpose(2, 1, 0)``. (RTNeural reverses the taps when loading because its
  own state buffer runs newest first; the net effect is Keras' causal convolution.)
- ``lstm``: ``[kernel (in, 4H), recurrent (H, 4H), bias (4H)]``, gates in Keras order i, f, c, o,
  which is PyTorch's i, f, g, o; the single bias is the sum PyTorch splits into ``bias_ih``/``bias_hh``.
- ``gru``: ``[kernel (in, 3H), recurrent (H, 3H), bias (2, 3H)]``, gates in Keras order z, r, h
  with ``reset_after=True``: bias row 0 is added to the input projection, row 1 to the recurrent
  projection inside the reset gate, and ``h' = (1 - z) * n + z * h``. PyTorch orders the gates
  r, z, n, so the first two blocks swap. A one-row bias (``reset_after=False``) is a different cell.
- ``prelu``: ``[[alpha_1 .. alpha_F]]`` (Keras shared_axes=[1]); a single alpha is broadcast.
- ``batchnorm``: ``[gamma, beta, mean, var]`` or, when not affine, ``[mean, var]``, plus ``epsilon``.

AIDA-X (src/aidadsp-plugin.cpp and the Automated-GuitarAmpModelling exporter's model_utils.py)
adds optional top-level keys: ``in_skip`` (the model output plus the first ``in_skip`` input
features; AIDA-X itself handles 0 or 1), ``in_gain`` / ``out_gain`` in dB applied to the audio
input before the model (and the skip) and to the output after the skip, and ``metadata`` with
``samplerate``. ``input_batch``/``output_batch`` (a training snapshot) are ignored. tinyrt's own
exporter also writes ``block_size`` when a frame holds several samples.

Knobs: inputs after the audio are AIDA-X's PARAM1/PARAM2 (0..1, default 0 in AIDA-X; src/DistrhoPluginCommon.hpp);
the files do not name them, so they are ``param1``, ... unless ``metadata`` carries ``input_names`` /
``param_names`` or tinyrt's own ``params``. A file with AIDA-X's keys and no rate is taken at 48 kHz,
AIDA-X's rate, with an AssumptionWarning; plain RTNeural JSON (rate-agnostic) keeps "any rate".
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, UnsupportedError
from ..files import check_limit
from ..formats import AIDAX_KEYS, AIDAX_KNOB_DEFAULT
from ..formats import RTNEURAL_ACTIVATIONS as ACTIVATIONS
from ..formats import RTNEURAL_LAYER_TYPES as LAYER_TYPES
from ..ir import Layer, Model
from ._json import assumed_rate, checked, knob_specs, read_array, read_gain_db, read_int, read_rate


def _weights(entry: dict, counts: tuple, at: str) -> list:
    w = entry.get("weights")
    if not isinstance(w, list) or len(w) not in counts:
        n = len(w) if isinstance(w, list) else "no"
        raise FormatError(f"{at}: 'weights' must be a list of {' or '.join(map(str, counts))} arrays, "
                          f"got {n}.")
    return w


def _activation(entry: dict, features: int, at: str) -> list:
    name = entry.get("activation", "")
    if name in ("", "linear", None):
        return []
    if name not in ACTIVATIONS:
        raise UnsupportedError(f"{at}: activation {name!r} is not one RTNeural runs "
                               f"({', '.join(ACTIVATIONS)}).")
    return [Layer("activation", {"function": name, "features": features})]


def _dense(entry, n_in, n_out, at):
    w = _weights(entry, (1, 2), at)
    weights = {"weight": read_array(w[0], (n_in, n_out), "the dense kernel", at).T}
    if len(w) == 2:
        weights["bias"] = read_array(w[1], (n_out,), "the dense bias", at)
    layer = Layer("dense", {"in_features": n_in, "out_features": n_out, "bias": len(w) == 2}, weights)
    return [layer] + _activation(entry, n_out, at)


def _conv1d(entry, n_in, n_out, at):
    params = {}
    for key in ("kernel_size", "dilation"):
        if key not in entry:
            raise FormatError(f"{at}: a conv1d layer needs the field '{key}'.")
        value = entry[key]
        params[key] = read_int(value[-1] if isinstance(value, list) and value else value, f"'{key}'", at,
                               cap="taps")
    check_limit((params["kernel_size"] - 1) * params["dilation"] + 1, "taps",
                "the receptive field ((kernel_size - 1) * dilation + 1)", at)
    groups = read_int(entry.get("groups", 1), "'groups'", at, cap="layer_units")
    if n_in % groups or n_out % groups:
        raise FormatError(f"{at}: groups = {groups} does not divide {n_in} input and {n_out} output channels.")
    w = _weights(entry, (1, 2), at)
    kernel = read_array(w[0], (params["kernel_size"], n_in // groups, n_out), "the conv1d kernel", at)
    weights = {"weight": kernel.transpose(2, 1, 0)}
    if len(w) == 2:
        weights["bias"] = read_array(w[1], (n_out,), "the conv1d bias", at)
    layer = Layer("conv1d", {"in_channels": n_in, "out_channels": n_out, "groups": groups,
                             "bias": len(w) == 2, **params}, weights)
    return [layer] + _activation(entry, n_out, at)


def _recurrent(cell: str, entry, n_in, hidden, at):
    gates = 4 if cell == "lstm" else 3
    bias_shape = (gates * hidden,) if cell == "lstm" else (2, gates * hidden)
    w = _weights(entry, (2, 3), at)
    kernel = read_array(w[0], (n_in, gates * hidden), f"the {cell} kernel", at)
    recurrent = read_array(w[1], (hidden, gates * hidden), f"the {cell} recurrent kernel", at)
    bias = read_array(w[2], None, f"the {cell} bias", at) if len(w) == 3 else None
    if cell == "gru" and bias is not None and bias.ndim == 1:
        raise UnsupportedError(f"{at}: a GRU with a one-row bias is Keras' reset_after=False cell, which "
                               f"neither RTNeural nor tinyrt runs; retrain with reset_after=True.")
    if bias is not None and bias.shape != bias_shape:
        raise FormatError(f"{at}: the {cell} bias has shape {bias.shape}, expected {bias_shape}.")
    # Keras GRU gates are z, r, h; PyTorch's are r, z, n: swap the first two blocks.
    order = np.r_[hidden:2 * hidden, 0:hidden, 2 * hidden:3 * hidden] if cell == "gru" else np.arange(4 * hidden)
    weights = {"weight_ih_l0": kernel[:, order].T, "weight_hh_l0": recurrent[:, order].T}
    if bias is not None and cell == "lstm":
        weights["bias_ih_l0"], weights["bias_hh_l0"] = bias, np.zeros_like(bias)
    elif bias is not None:
        weights["bias_ih_l0"], weights["bias_hh_l0"] = bias[0, order], bias[1, order]
    return [Layer(cell, {"input_size": n_in, "hidden_size": hidden, "num_layers": 1, "bias": bias is not None},
                  weights)]


def _same_size(entry, n_in, n_out, at):
    if n_out != n_in:
        raise FormatError(f"{at}: 'shape' says {n_out} features but a {entry['type']} layer keeps its "
                          f"{n_in} input features.")


def _prelu(entry, n_in, n_out, at):
    _same_size(entry, n_in, n_out, at)
    w = _weights(entry, (1,), at)
    alpha = read_array(w[0], None, "the prelu alpha", at)
    if alpha.ndim != 2 or alpha.shape[0] != 1 or alpha.shape[1] not in (1, n_in):
        raise FormatError(f"{at}: the prelu alpha has shape {alpha.shape}, expected (1, {n_in}) or (1, 1).")
    return [Layer("activation", {"function": "prelu", "features": n_in, "num_parameters": alpha.shape[1]},
                  {"weight": alpha[0]})]


def _batchnorm(entry, n_in, n_out, at):
    _same_size(entry, n_in, n_out, at)
    w = _weights(entry, (2, 4), at)
    names = ("gamma", "beta", "mean", "var") if len(w) == 4 else ("mean", "var")
    v = {k: read_array(a, (n_in,), f"the batchnorm {k}", at) for k, a in zip(names, w)}
    if "epsilon" not in entry:
        raise FormatError(f"{at}: a batchnorm layer needs the field 'epsilon'.")
    eps = read_array(entry["epsilon"], (), "'epsilon'", at)
    return [Layer("batchnorm", {"features": n_in, "eps": float(eps)}, {
        "weight": v.get("gamma", np.ones(n_in)), "bias": v.get("beta", np.zeros(n_in)),
        "running_mean": v["mean"], "running_var": v["var"]})]


def _activation_layer(entry, n_in, n_out, at):
    _same_size(entry, n_in, n_out, at)
    return _activation(entry, n_in, at)


_CONVERT = {
    "dense": _dense,
    "time-distributed-dense": _dense,
    "conv1d": _conv1d,
    "lstm": lambda e, n, h, at: _recurrent("lstm", e, n, h, at),
    "gru": lambda e, n, h, at: _recurrent("gru", e, n, h, at),
    "prelu": _prelu,
    "batchnorm": _batchnorm,
    "activation": _activation_layer,
}


def _last_dim(shape, what: str, where: str) -> int:
    if not isinstance(shape, list) or not shape:
        raise FormatError(f"{where}: {what} must be a list like [null, null, 8].")
    return read_int(shape[-1], f"the last entry of {what}", where, cap="layer_units")


def _layers(doc: dict, n_in: int, where: str) -> list:
    entries = doc.get("layers")
    if not isinstance(entries, list) or not entries:
        raise FormatError(f"{where}: 'layers' must be a non-empty list of layer objects.")
    check_limit(len(entries), "layers", "the number of layers", where)
    out = []
    for i, entry in enumerate(entries):
        at = f"{where}: layer {i}"
        if not isinstance(entry, dict):
            raise FormatError(f"{at} is not an object with 'type', 'shape' and 'weights'.")
        kind = entry.get("type")
        if not isinstance(kind, str) or kind not in _CONVERT:
            raise UnsupportedError(f"{at} has type {kind!r}, which tinyrt does not read from RTNeural JSON "
                                   f"(it reads {', '.join(LAYER_TYPES)}).")
        at = f"{at} ({kind})"
        n_out = _last_dim(entry.get("shape"), "'shape'", at)
        out.extend(_CONVERT[kind](entry, n_in, n_out, at))
        n_in = out[-1].out_features if out else n_in
    return out


def _gain_db(doc: dict, key: str, where: str) -> float:
    return read_gain_db(doc.get(key, 0.0), f"'{key}'", where)


def _input_gain(gain: float, n_in: int, where: str) -> Layer:
    if n_in == 1:
        return Layer("gain", {"features": 1, "gain": gain})
    check_limit(n_in * n_in, "weights", f"the input gain's {n_in} x {n_in} matrix (weight values)", where)
    scale = np.eye(n_in)
    scale[0, 0] = gain  # AIDA-X scales the audio, not the knob inputs after it
    return Layer("dense", {"in_features": n_in, "out_features": n_in, "bias": False}, {"weight": scale})


def from_rtneural(doc: dict, name: str = "model", where: str = "RTNeural JSON") -> Model:
    """Return the IR of an RTNeural (Keras-style) or AIDA-X JSON document."""
    in_shape = doc.get("in_shape")
    if isinstance(in_shape, list) and len(in_shape) == 4:
        raise UnsupportedError(f"{where}: a 4-D 'in_shape' belongs to a conv2d model, which tinyrt does not read.")
    n_in = _last_dim(in_shape, "'in_shape'", where)
    body = _layers(doc, n_in, where)
    layers = body
    skip = read_int(doc.get("in_skip", 0), "'in_skip'", where, minimum=0, cap="layer_units")
    if skip:
        n_out = body[-1].out_features
        if skip != n_out or skip > n_in:
            raise UnsupportedError(f"{where}: 'in_skip' = {skip} must equal the {n_out} model outputs and not "
                                   f"exceed the {n_in} inputs for tinyrt to add the skip.")
        layers = [Layer("residual", {"features": n_in}, layers=body)]
    in_gain, out_gain = _gain_db(doc, "in_gain", where), _gain_db(doc, "out_gain", where)
    if in_gain != 1.0:
        layers = [_input_gain(in_gain, n_in, where)] + layers
    if out_gain != 1.0:
        layers = layers + [Layer("gain", {"features": layers[-1].out_features, "gain": out_gain})]
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise FormatError(f"{where}: 'metadata' must be an object.")
    rate = next((v for v in (metadata.get("samplerate"), metadata.get("sample_rate"), doc.get("sample_rate"))
                 if v is not None), None)
    rate = read_rate(rate, "the sample rate", where)
    block = read_int(doc.get("block_size", 1), "'block_size'", where, cap="block_size")
    metadata = dict(metadata)
    aidax = any(key in doc for key in AIDAX_KEYS)
    if rate is None and aidax:  # AIDA-X's trainer makes its files at 48 kHz
        rate, metadata["sample_rate_assumed"] = assumed_rate("aidax", name, where,
                                                             "add \"samplerate\" to the file's \"metadata\"")
    n_out = layers[-1].out_features if layers else 0
    knobs = knob_specs(metadata, n_in // block - 1 if n_out == block and not n_in % block else 0,
                       AIDAX_KNOB_DEFAULT if aidax else None)
    if knobs:
        metadata["params"] = knobs
    model = Model(layers, input_size=n_in, block_size=block, name=name, metadata=metadata, sample_rate=rate)
    return checked(model, where)
