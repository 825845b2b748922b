"""Import Neural Amp Modeler ``.nam`` files with the ``LSTM`` and ``Linear`` architectures.

A ``.nam`` file is JSON (sdatkinson/neural-amp-modeler nam/models/exportable.py
``_get_export_dict``): ``version`` (file format, semantic version string), ``architecture``,
``config`` (the architecture's sizes), ``weights`` (one flat list of numbers), an optional
``sample_rate`` and ``metadata`` (date, loudness, gain, name, gear and training details...).
NeuralAmpModelerCore (NAM/get_dsp.cpp) reads versions 0.5.0 up to 0.7.x; so does tinyrt.

``LSTM`` (trainer: nam/models/recurrent.py ``_export_weights``; Core: NAM/lstm.cpp): ``config``
has ``input_size``, ``hidden_size``, ``num_layers`` and, in newer files, ``in_channels`` and
``out_channels`` (default 1). The weights are consumed in this order, for each layer k:

1. the combined matrix ``[W_ih | W_hh]`` of shape (4H, in_k + H), row major: each row holds the
   input weights then the recurrent weights of one gate unit, gates in PyTorch order i, f, g, o;
2. one bias of 4H values, the sum of PyTorch's ``bias_ih`` and ``bias_hh``;
3. the initial hidden state (H values), then the initial cell state (H values);

then the head: ``out_channels x H`` weights row major and ``out_channels`` biases. tinyrt keeps the
summed bias as ``bias_ih`` with a zero ``bias_hh`` and the initial states as ``h0``/``c0``, which
``reset()`` restores (as the trainer's forward pass does). NeuralAmpModelerCore additionally
"prewarms" an LSTM with half a second of silence when the host resets it (NAM/dsp.cpp
``prewarm``); run that much silence through a tinyrt model to reproduce the plugin's start.

``Linear`` (trainer: nam/models/linear.py; Core: NAM/linear.cpp): ``config`` has
``receptive_field`` R and ``bias``; the weights are R taps and then the bias if any. Core reads
the taps as an impulse response, ``weights[0]`` multiplying the current sample; trainers before
the fix of neural-amp-modeler issue #696 wrote the PyTorch Conv1d kernel instead (oldest sample
first), which Core plays time-reversed. tinyrt follows Core by default; pass
``linear_order="kernel"`` for a file that must sound as the old trainer computed it. Core applies
the same filter to each channel when ``in_channels`` = ``out_channels`` > 1.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import FormatError, UnsupportedError
from ..files import check_limit
from ..ir import Layer, Model
from ._json import checked, read_array, read_int, read_rate

SUPPORTED = ("LSTM", "Linear")
EARLIEST, LATEST = (0, 5, 0), (0, 7)
LINEAR_ORDERS = ("impulse", "kernel")


def _version(doc: dict, where: str) -> str:
    version = doc.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise FormatError(f"{where}: 'version' must be a version string like \"0.5.4\", got {version!r}.")
    parts = tuple(int(p) for p in version.split("."))
    if parts < EARLIEST or parts[:2] > LATEST:
        raise UnsupportedError(f"{where}: .nam file version {version} is outside the versions tinyrt reads "
                               f"(0.5.0 to 0.7.x); re-export the model with a matching trainer.")
    return version


_CAPS = {"num_layers": "layers", "receptive_field": "taps"}  # every other config size is a layer width


def _config_int(config: dict, key: str, where: str, default=None) -> int:
    if key not in config and default is None:
        raise FormatError(f"{where}: 'config' lacks the field '{key}'.")
    return read_int(config.get(key, default), f"config '{key}'", where, cap=_CAPS.get(key, "layer_units"))


def _count_check(weights: np.ndarray, expected: int, what: str, where: str) -> None:
    if len(weights) != expected:
        raise FormatError(f"{where}: {what} needs {expected} weights but the file has {len(weights)}.")


def _lstm(config: dict, weights: np.ndarray, where: str) -> list:
    n_in = _config_int(config, "input_size", where)
    hidden = _config_int(config, "hidden_size", where)
    n_layers = _config_int(config, "num_layers", where)
    n_out = _config_int(config, "out_channels", where, default=1)
    in_channels = _config_int(config, "in_channels", where, default=1)
    if in_channels != n_in:
        raise UnsupportedError(f"{where}: an LSTM with in_channels = {in_channels} but input_size = {n_in} is "
                               f"not supported; NAM's LSTM feeds each input channel to one LSTM input.")
    sizes = [n_in] + [hidden] * (n_layers - 1)
    expected = sum(4 * hidden * (n + hidden) + 6 * hidden for n in sizes) + n_out * (hidden + 1)
    _count_check(weights, expected, f"an LSTM with input_size {n_in}, hidden_size {hidden}, "
                                    f"num_layers {n_layers} and {n_out} output(s)", where)
    w, at = {}, 0

    def take(n: int) -> np.ndarray:
        nonlocal at
        at += n
        return weights[at - n:at]

    h0, c0 = np.zeros((n_layers, hidden)), np.zeros((n_layers, hidden))
    for k, n in enumerate(sizes):
        combined = take(4 * hidden * (n + hidden)).reshape(4 * hidden, n + hidden)
        w[f"weight_ih_l{k}"], w[f"weight_hh_l{k}"] = combined[:, :n], combined[:, n:]
        w[f"bias_ih_l{k}"], w[f"bias_hh_l{k}"] = take(4 * hidden), np.zeros(4 * hidden)
        h0[k], c0[k] = take(hidden), take(hidden)
    head = {"weight": take(n_out * hidden).reshape(n_out, hidden), "bias": take(n_out)}
    return [Layer("lstm", {"input_size": n_in, "hidden_size": hidden, "num_layers": n_layers},
                  {**w, "h0": h0, "c0": c0}),
            Layer("dense", {"in_features": hidden, "out_features": n_out}, head)]


def _linear(config: dict, weights: np.ndarray, where: str, order: str) -> list:
    taps = _config_int(config, "receptive_field", where)
    bias = config.get("bias")
    if not isinstance(bias, bool):
        raise FormatError(f"{where}: config 'bias' must be true or false, got {bias!r}.")
    channels = _config_int(config, "in_channels", where, default=1)
    if _config_int(config, "out_channels", where, default=1) != channels:
        raise UnsupportedError(f"{where}: a Linear model with different in_channels and out_channels is not "
                               f"supported.")
    _count_check(weights, taps + bias, f"a Linear model with receptive_field {taps}"
                                       f"{' and a bias' if bias else ''}", where)
    kernel = weights[:taps][::-1] if order == "impulse" else weights[:taps]
    check_limit(channels * taps, "weights", f"{channels} channels x {taps} taps (weight values)", where)
    w = {"weight": np.tile(kernel, (channels, 1, 1))}
    if bias:
        w["bias"] = np.full(channels, weights[taps])
    return [Layer("conv1d", {"in_channels": channels, "out_channels": channels, "kernel_size": taps,
                             "groups": channels, "bias": bias}, w)]


def from_nam(doc: dict, name: str = "model", where: str = "NAM file", linear_order: str = "impulse") -> Model:
    """Return the IR of a Neural Amp Modeler ``.nam`` document (LSTM or Linear architecture)."""
    if linear_order not in LINEAR_ORDERS:
        raise UnsupportedError(f"linear_order={linear_order!r} is not an option; use 'impulse' or 'kernel'.")
    version = _version(doc, where)
    arch = doc.get("architecture")
    if arch not in SUPPORTED:
        raise UnsupportedError(f"{where}: NAM architecture {arch!r} is not supported; tinyrt reads "
                               f"{' and '.join(SUPPORTED)}.")
    config = doc.get("config")
    if not isinstance(config, dict):
        raise FormatError(f"{where}: 'config' must be an object.")
    weights = doc.get("weights")
    weights = read_array(weights, None, "'weights'", where) if isinstance(weights, list) else None
    if weights is None or weights.ndim != 1:
        raise FormatError(f"{where}: 'weights' must be a flat list of numbers.")
    layers = _lstm(config, weights, where) if arch == "LSTM" else _linear(config, weights, where, linear_order)
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise FormatError(f"{where}: 'metadata' must be an object.")
    model = Model(layers, input_size=layers[0].in_features, name=name,
                  sample_rate=read_rate(doc.get("sample_rate"), "'sample_rate'", where),
                  metadata={**metadata, "nam_version": version, "nam_architecture": arch})
    return checked(model, where)
