"""Import Neural Amp Modeler ``.nam`` files with the ``LSTM`` and ``Linear`` architectures.

A ``.nam`` file is JSON (sdatkinson/neural-amp-modeler nam/models/exportable.py
``_get_export_dict``): ``version`` (file format, semantic version string), ``architecture``,
``config`` (the architecture's sizes), ``weights`` (one flat list of numbers), an optional
``sample_rate`` and ``metadata`` (date, loudness, gain, name, gear and training details...).
NeuralAmpModelerCore (NAM/get_dsp.cpp) reads versions 0.5.0 up to 0.7.x; so does tinyrt
(neural-amp-modeler 0.13 writes 0.7.0).

``WaveNet`` (trainer: nam/models/wavenet/; Core: NAM/wavenet/model.cpp): see ``_wavenet`` for the
config fields and weight order; the graph is built by ``tinyrt.ir.wavenet``. NAM starts a WaveNet
from the state silence leaves (the trainer pads the input with receptive-field zeros, Core
"prewarms"), tinyrt from zero state: run ``metadata["nam_prewarm_samples"]`` zeros through an
engine first to reproduce NAM's first samples exactly (after that many samples they agree anyway).
NAM 0.13's trainer exports a ``SlimmableContainer`` of WaveNets (see ``from_nam``).

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

from ..errors import FormatError, ModelError, UnsupportedError
from ..files import check_limit
from ..ir import Layer, Model
from ._json import checked, read_array, read_int, read_rate
from .wavenet import LayerArray, PostHead, act, wavenet_layers

SUPPORTED = ("LSTM", "Linear", "WaveNet")
EARLIEST, LATEST = (0, 5, 0), (0, 7)
LINEAR_ORDERS = ("impulse", "kernel")
_MISSING = {"ConvNet": "is a ConvNet (strided dilated convolutions with batch norm)"}


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


# --- WaveNet ---------------------------------------------------------------------------------------

# NAM activation types (NeuralAmpModelerCore activations.cpp; the trainer's _activations.py) -> IR specs
_SIMPLE_ACTS = {"Tanh": "tanh", "Sigmoid": "sigmoid", "ReLU": "relu", "SiLU": "silu", "Softsign": "softsign",
                "Identity": "identity", "GELU": "gelu", "ELU": "elu", "Hardswish": "hardswish"}
_FILM_KEYS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film",
              "activation_pre_film", "activation_post_film", "layer1x1_post_film", "head1x1_post_film")


def _number(value, default: float, what: str, where: str) -> float:
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise FormatError(f"{where}: {what} must be a number, got {value!r}.")
    return float(value)


def _nam_activation(value, where: str) -> dict:
    """Return the IR activation spec of a NAM activation (a name, or an object with 'type' or 'name')."""
    if isinstance(value, str):
        kind, opts = value, {}
    elif isinstance(value, dict) and isinstance(value.get("type", value.get("name")), str):
        kind, opts = value.get("type", value.get("name")), value
    else:
        raise FormatError(f"{where}: an activation must be a name or an object with a 'type', got {value!r}.")
    if kind in _SIMPLE_ACTS:
        return act(_SIMPLE_ACTS[kind])
    if kind in ("LeakyReLU", "PReLU"):
        slopes = opts.get("negative_slopes")
        if slopes is not None:
            slopes = read_array(slopes, None, f"{kind} 'negative_slopes'", where)
            check_limit(slopes.size, "layer_units", f"{kind} slopes", where)
            if slopes.ndim != 1 or slopes.size < 1:
                raise FormatError(f"{where}: {kind} 'negative_slopes' must be a list of numbers.")
        else:
            default = 0.01 if kind == "LeakyReLU" else 0.25
            slopes = np.array([_number(opts.get("negative_slope"), default, f"{kind} 'negative_slope'", where)])
        return act("prelu", weight=slopes)
    if kind in ("Hardtanh", "LeakyHardtanh", "LeakyHardTanh"):
        leaky = kind != "Hardtanh"
        spec = act("hardtanh", min_val=_number(opts.get("min_val"), -1.0, f"{kind} 'min_val'", where),
                   max_val=_number(opts.get("max_val"), 1.0, f"{kind} 'max_val'", where),
                   min_slope=_number(opts.get("min_slope"), 0.01, f"{kind} 'min_slope'", where) if leaky else 0.0,
                   max_slope=_number(opts.get("max_slope"), 0.01, f"{kind} 'max_slope'", where) if leaky else 0.0)
        if not spec["min_val"] <= spec["max_val"]:
            raise FormatError(f"{where}: {kind} has min_val {spec['min_val']} above max_val {spec['max_val']}.")
        return spec
    if kind == "Fasttanh":
        raise UnsupportedError(f"{where}: the model uses NeuralAmpModelerCore's Fasttanh, an approximation of tanh "
                               f"tinyrt does not reproduce; re-export it with Tanh.")
    raise UnsupportedError(f"{where}: the model uses the activation {kind!r}, which tinyrt does not run yet.")


def _active(value, what: str, where: str, default: bool = False) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict):
        raise FormatError(f"{where}: {what} must be an object, got {value!r}.")
    active = value.get("active", default)
    if not isinstance(active, bool):
        raise FormatError(f"{where}: {what} 'active' must be true or false, got {active!r}.")
    return active


def _int_list(value, n: int, what: str, where: str, cap: str) -> list:
    """Return a list of n positive ints from an int (repeated) or a list of n ints."""
    if isinstance(value, list):
        if len(value) != n:
            raise FormatError(f"{where}: {what} lists {len(value)} values for {n} layers.")
        return [read_int(v, what, where, cap=cap) for v in value]
    return [read_int(value, what, where, cap=cap)] * n


def _per_layer(value, n: int, what: str, where: str) -> list:
    if isinstance(value, list):
        if len(value) != n:
            raise FormatError(f"{where}: {what} lists {len(value)} entries for {n} layers.")
        return list(value)
    return [value] * n


def _wavenet_array(lc, i: int, where: str) -> tuple:
    """Return (LayerArray without weights, weight count, whether the head has a bias) of one layer array config."""
    w = f"{where}: layer array {i}"
    if not isinstance(lc, dict):
        raise FormatError(f"{w} must be an object.")
    films = {}
    for key in _FILM_KEYS:
        if _active(lc.get(key), f"'{key}'", w, default=True):  # Core: a FiLM object is active unless it says not
            if key == "layer1x1_post_film":
                raise UnsupportedError(f"{w} uses FiLM after the layer1x1, where NAM's trainer and "
                                       f"NeuralAmpModelerCore (which applies it in blended layers only) disagree, so "
                                       f"tinyrt does not run it yet.")
            shift = lc[key].get("shift", True)
            if not isinstance(shift, bool):
                raise FormatError(f"{w}: '{key}' 'shift' must be true or false, got {shift!r}.")
            films[key] = {"shift": shift, "groups": _config_int(lc[key], "groups", w, default=1)}
    slim = lc.get("slimmable")  # a slimmable array runs at full width unless a host slims it (Core and trainer)
    if slim is not None and (not isinstance(slim, dict) or slim.get("method") != "slice_channels_uniform"):
        raise UnsupportedError(f"{w} is slimmable by the method {slim!r}, which tinyrt does not know; NAM knows "
                               f"'slice_channels_uniform'.")

    def size(key, default=None):
        return _config_int(lc, key, w, default=default)

    channels, input_size, condition_size = size("channels"), size("input_size"), size("condition_size")
    bottleneck = size("bottleneck", default=channels)
    dilations = lc.get("dilations")
    if not isinstance(dilations, list) or not dilations:
        raise FormatError(f"{w}: 'dilations' must be a non-empty list of integers.")
    check_limit(len(dilations), "layers", "the number of layers (dilations)", w)
    n = len(dilations)
    dilations = [read_int(d, "a dilation", w, cap="taps") for d in dilations]
    if "kernel_sizes" in lc and "kernel_size" in lc:
        raise FormatError(f"{w}: give 'kernel_size' or 'kernel_sizes', not both.")
    kernels = _int_list(lc.get("kernel_sizes", lc.get("kernel_size")), n, "a kernel size", w, cap="taps")
    for k, d in zip(kernels, dilations):
        check_limit((k - 1) * d + 1, "taps", "a layer's receptive field ((kernel - 1) * dilation + 1)", w)
    head = lc.get("head")
    if isinstance(head, dict):
        head_size = _config_int(head, "out_channels", w)
        head_kernel = _config_int(head, "kernel_size", w, default=1)
        head_dilation = read_int(head.get("head_dilation", 1), "head 'head_dilation'", w, cap="taps")
        head_bias = head.get("bias", False)
    else:
        head_size, head_kernel, head_dilation = size("head_size"), 1, 1
        head_bias = lc.get("head_bias", False)
    if not isinstance(head_bias, bool):
        raise FormatError(f"{w}: the head's 'bias' must be true or false, got {head_bias!r}.")
    check_limit((head_kernel - 1) * head_dilation + 1, "taps", "the head rechannel's receptive field", w)
    primaries = [_nam_activation(a, w) for a in _per_layer(lc.get("activation", "Tanh"), n, "'activation'", w)]
    if "gating_mode" in lc:
        modes = _per_layer(lc["gating_mode"], n, "'gating_mode'", w)
    else:
        gated = lc.get("gated", False)
        if not isinstance(gated, bool):
            raise FormatError(f"{w}: 'gated' must be true or false, got {gated!r}.")
        modes = ["gated" if gated else "none"] * n
    for mode in modes:
        if not isinstance(mode, str) or mode not in ("gated", "blended", "none"):
            raise FormatError(f"{w}: gating mode {mode!r} is not 'none', 'gated' or 'blended'.")
    seconds = _per_layer(lc.get("secondary_activation"), n, "'secondary_activation'", w)
    secondary = [_nam_activation(s if s is not None else "Sigmoid", w) if m != "none" else None
                 for s, m in zip(seconds, modes)]
    layer1x1 = lc.get("layer1x1", lc.get("layer_1x1_config", {"active": True, "groups": 1}))
    l1_active = _active(layer1x1, "'layer1x1'", w, default=True)
    head1x1 = lc.get("head1x1", lc.get("head_1x1_config"))
    h1_active = _active(head1x1, "'head1x1'", w)
    groups = {"groups_input": size("groups_input", default=1), "groups_input_mixin": size("groups_input_mixin",
                                                                                          default=1),
              "layer1x1_groups": _config_int(layer1x1, "groups", w, default=1) if l1_active else 1,
              "head1x1_groups": _config_int(head1x1, "groups", w, default=1) if h1_active else 1}
    h1 = _config_int(head1x1, "out_channels", w) if h1_active else None
    arr = LayerArray(input_size, condition_size, channels, head_size, kernels[0], dilations,
                     kernel_sizes=kernels, activations=primaries, gating=modes, secondary=secondary,
                     bottleneck=bottleneck, layer1x1=l1_active, head1x1=h1, head_kernel_size=head_kernel,
                     head_dilation=head_dilation, films=films, **groups)
    if "head1x1_post_film" in films and not h1_active:
        raise FormatError(f"{w}: 'head1x1_post_film' is active but the head1x1 is not.")
    for key, spec in films.items():
        if condition_size % spec["groups"] or arr.film_features(key, 0) % spec["groups"]:
            raise FormatError(f"{w}: '{key}' groups = {spec['groups']} does not divide its condition and outputs.")
    for key, (n_in, n_out) in {"groups_input": (channels, bottleneck), "groups_input_mixin": (condition_size,
                                                                                              bottleneck),
                               "layer1x1_groups": (bottleneck, channels), "head1x1_groups": (bottleneck, h1 or 1)
                               }.items():
        g = getattr(arr, key)
        if n_in % g or n_out % g:
            raise FormatError(f"{w}: {key} = {g} does not divide {n_in} inputs and {n_out} outputs.")
    if not l1_active:
        raise UnsupportedError(f"{w} turns the layer1x1 off, where NAM's trainer (which adds the activation to the "
                               f"residual stream) and NeuralAmpModelerCore (which passes the stream on unchanged) "
                               f"disagree, so tinyrt does not run it yet.")
    B, C = bottleneck, channels
    count = C * input_size
    for j, k in enumerate(kernels):
        m = (1 if modes[j] == "none" else 2) * B
        count += m * (C // arr.groups_input) * k + m + m * (condition_size // arr.groups_input_mixin)
        count += C * (B // arr.layer1x1_groups) + C if l1_active else 0
        count += h1 * (B // arr.head1x1_groups) + h1 if h1_active else 0
        for key, spec in films.items():
            out = (2 if spec["shift"] else 1) * arr.film_features(key, j)
            count += out * (condition_size // spec["groups"]) + out
    count += head_size * arr.head_input * head_kernel + (head_size if head_bias else 0)
    return arr, count, head_bias


def _post_head(config, n_in: int, where: str) -> tuple:
    """Return (PostHead without weights, block shapes, weight count) of the config's 'head', or (None, [], 0)."""
    head = config.get("head")
    if head is None:
        return None, [], 0
    if not isinstance(head, dict):
        raise FormatError(f"{where}: the WaveNet 'head' must be an object or null.")
    channels, out = _config_int(head, "channels", where), _config_int(head, "out_channels", where)
    kernels = head.get("kernel_sizes")
    if not isinstance(kernels, list) or not kernels:
        raise FormatError(f"{where}: the WaveNet head's 'kernel_sizes' must be a non-empty list.")
    check_limit(len(kernels), "layers", "the head's number of blocks", where)
    kernels = [read_int(k, "a head kernel size", where, cap="taps") for k in kernels]
    shapes, cin = [], n_in
    for b, k in enumerate(kernels):
        cout = out if b == len(kernels) - 1 else channels
        shapes.append((cout, cin, k))
        cin = cout
    count = sum(o * i * k + o for o, i, k in shapes)
    return PostHead(_nam_activation(head.get("activation", "Tanh"), where), [], []), shapes, count


def _wavenet(config: dict, weights: np.ndarray, where: str) -> tuple:
    """Return (layer arrays, head_scale, post head) of a WaveNet .nam config and its weights.

    ``config``: ``layers`` (one object per layer array: ``input_size``, ``condition_size``,
    ``channels``, ``dilations``, ``kernel_size`` or per-layer ``kernel_sizes``, ``activation`` (one or
    per layer; a name or {"type", parameters}), ``gated`` or per-layer ``gating_mode`` with
    ``secondary_activation``, ``head`` {out_channels, kernel_size, bias[, head_dilation]} or the
    classic ``head_size``/``head_bias``, and optionally ``bottleneck``, ``head1x1``, ``layer1x1``,
    ``groups_input``, ``groups_input_mixin``, the FiLM objects (``conv_pre_film`` ... ``head1x1_post_film``:
    active, shift, groups), ``slimmable``), ``head`` (post-stack
    head or null), ``head_scale``, ``condition_dsp``. Weights, in Core's order (set_weights_): per
    array the rechannel (channels x input_size, no bias); per layer the dilated conv (PyTorch's
    (out, in/groups, K) row major) and its bias, the input mixin (no bias), the layer 1x1 and bias,
    the head 1x1 and bias, each active FiLM's 1x1 and bias (in the order of ``_FILM_KEYS``); the head
    rechannel and its bias; then the post-stack head's convs and
    biases; the head scale last (Core uses this value; the trainer keeps the config's when they
    agree within 1e-5, as tinyrt does).
    """
    if config.get("condition_dsp") is not None:
        raise UnsupportedError(f"{where}: the WaveNet has a condition DSP (a second model that processes the "
                               f"condition), which tinyrt does not run yet.")
    configs = config.get("layers")
    if not isinstance(configs, list) or not configs:
        raise FormatError(f"{where}: a WaveNet 'config' needs a non-empty list 'layers' of layer arrays.")
    check_limit(len(configs), "layers", "the number of layer arrays", where)
    parsed = [_wavenet_array(lc, i, where) for i, lc in enumerate(configs)]
    head, shapes, head_count = _post_head(config, parsed[-1][0].head_size, where)
    expected = sum(count for _, count, _ in parsed) + head_count + 1
    _count_check(weights, expected, f"a WaveNet of {len(parsed)} layer array(s) with this config", where)
    at = 0

    def take(*shape) -> np.ndarray:
        nonlocal at
        n = int(np.prod(shape))
        at += n
        return weights[at - n:at].reshape(shape)

    arrays = []
    for arr, _, head_bias in parsed:
        C, B, n = arr.channels, arr.width, len(arr.dilations)
        arr.rechannel = take(C, arr.input_size)
        for j in range(n):
            m = (2 if arr.layer_gated(j) else 1) * B
            arr.conv_weights.append(take(m, C // arr.groups_input, arr.layer_kernel(j)))
            arr.conv_biases.append(take(m))
            arr.mixins.append(take(m, arr.condition_size // arr.groups_input_mixin))
            if arr.layer1x1:
                arr.one_by_one_weights.append(take(C, B // arr.layer1x1_groups))
                arr.one_by_one_biases.append(take(C))
            if arr.head1x1:
                arr.head1x1_weights.append(take(arr.head1x1, B // arr.head1x1_groups))
                arr.head1x1_biases.append(take(arr.head1x1))
            if arr.films:
                arr.film_weights.append({})
            for key in _FILM_KEYS:  # in Core's order
                if key in arr.films:
                    spec = arr.films[key]
                    out = (2 if spec["shift"] else 1) * arr.film_features(key, j)
                    arr.film_weights[-1][key] = (take(out, arr.condition_size // spec["groups"]), take(out))
        K = arr.head_kernel_size
        arr.head_weight = take(arr.head_size, arr.head_input) if K == 1 else take(arr.head_size, arr.head_input, K)
        arr.head_bias = take(arr.head_size) if head_bias else None
        arrays.append(arr)
    for o, i, k in shapes:
        head.weights.append(take(o, i, k))
        head.biases.append(take(o))
    scale = float(weights[at])  # Core reads the head scale here; the trainer keeps the config's when they agree
    configured = config.get("head_scale")
    if isinstance(configured, (int, float)) and not isinstance(configured, bool) and abs(configured - scale) <= 1e-5:
        scale = float(configured)
    return arrays, scale, head


def _container(doc: dict, where: str, submodel) -> tuple:
    """Return (the chosen submodel's document, note) of a SlimmableContainer (neural-amp-modeler 0.13's
    PackedWaveNet export: ``config.submodels`` = [{max_value, model: a .nam document}], sorted by max_value)."""
    subs = doc.get("config", {}).get("submodels") if isinstance(doc.get("config"), dict) else None
    if not isinstance(subs, list) or not subs or not all(isinstance(s, dict) and isinstance(s.get("model"), dict)
                                                         for s in subs):
        raise FormatError(f"{where}: a SlimmableContainer needs 'config.submodels', a list of "
                          f"{{max_value, model}} objects.")
    check_limit(len(subs), "layers", "the number of submodels", where)
    index = len(subs) - 1 if submodel is None else submodel
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(subs):
        raise UnsupportedError(f"submodel={submodel!r} is not an index of the container's {len(subs)} submodels "
                               f"(0 to {len(subs) - 1}, the last is the largest).")
    if subs[index]["model"].get("architecture") == "SlimmableContainer":
        raise FormatError(f"{where}: submodel {index} is itself a container.")
    values = [s.get("max_value") for s in subs]
    return subs[index]["model"], {"nam_container_submodel": index, "nam_container_max_values": values}


def from_nam(doc: dict, name: str = "model", where: str = "NAM file", linear_order: str = "impulse",
             submodel: int | None = None) -> Model:
    """Return the IR of a Neural Amp Modeler ``.nam`` document (LSTM, Linear or WaveNet architecture).

    A ``SlimmableContainer`` (what neural-amp-modeler 0.13's trainer exports: the same capture at
    several sizes, the plugin picking one with a size knob) gives one of its submodels: the largest
    by default, else ``submodel`` (an index, 0 = the smallest); the metadata records which.
    """
    if linear_order not in LINEAR_ORDERS:
        raise UnsupportedError(f"linear_order={linear_order!r} is not an option; use 'impulse' or 'kernel'.")
    version = _version(doc, where)
    note = {}
    if doc.get("architecture") == "SlimmableContainer":
        top_metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        rate = doc.get("sample_rate")
        doc, note = _container(doc, where, submodel)
        doc = doc if "sample_rate" in doc or rate is None else {**doc, "sample_rate": rate}
        note = {**top_metadata, **note}
        where = f"{where} (submodel {note['nam_container_submodel']})"
        version = _version(doc, where)
    elif submodel is not None:
        raise UnsupportedError(f"submodel={submodel!r} applies to SlimmableContainer files only.")
    arch = doc.get("architecture")
    if isinstance(arch, str) and arch in _MISSING:
        raise UnsupportedError(f"{where}: the NAM architecture {arch!r} {_MISSING[arch]}, which tinyrt does not run "
                               f"yet.")
    if arch not in SUPPORTED:
        raise UnsupportedError(f"{where}: NAM architecture {arch!r} is not supported; tinyrt reads "
                               f"{', '.join(SUPPORTED)} and SlimmableContainer.")
    config = doc.get("config")
    if not isinstance(config, dict):
        raise FormatError(f"{where}: 'config' must be an object.")
    weights = doc.get("weights")
    weights = read_array(weights, None, "'weights'", where) if isinstance(weights, list) else None
    if weights is None or weights.ndim != 1:
        raise FormatError(f"{where}: 'weights' must be a flat list of numbers.")
    if arch == "WaveNet":
        arrays, head_scale, head = _wavenet(config, weights, where)
        slim = [lc.get("slimmable") for lc in config["layers"]]
        if any(slim):  # run at full width, as NAM does unless a host slims it; the file's options kept
            note["nam_slimmable"] = slim
        # NeuralAmpModelerCore prewarms with this many zeros (the trainer pads as many minus one):
        note["nam_prewarm_samples"] = 1 + sum(
            sum((arr.layer_kernel(j) - 1) * d for j, d in enumerate(arr.dilations))
            + (arr.head_kernel_size - 1) * arr.head_dilation for arr in arrays) + sum(
            w.shape[2] - 1 for w in (head.weights if head else []))
        try:
            layers = wavenet_layers(arrays, head_scale, head)
        except ModelError as exc:
            raise ModelError(f"{where}: {exc}") from None
    else:
        layers = _lstm(config, weights, where) if arch == "LSTM" else _linear(config, weights, where, linear_order)
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise FormatError(f"{where}: 'metadata' must be an object.")
    model = Model(layers, input_size=arrays[0].input_size if arch == "WaveNet" else layers[0].in_features, name=name,
                  sample_rate=read_rate(doc.get("sample_rate"), "'sample_rate'", where),
                  metadata={**note, **metadata, "nam_version": version, "nam_architecture": arch})
    return checked(model, where)
