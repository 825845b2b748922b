"""Import GuitarML SmartGuitarAmp / SmartAmpPro WaveNet JSON ("WaveNetVA", Damskägg et al. 2019).

The layout, as SmartGuitarAmp's plugin reads it (src/WaveNetLoader.cpp, WaveNet.cpp,
ConvolutionStack.cpp, ConvolutionLayer.cpp, Convolution.cpp):

- ``residual_channels`` C, ``input_channels``, ``output_channels``, ``filter_width`` K,
  ``dilations`` (one layer each), ``activation`` (``gated``: tanh of the first C conv outputs
  times sigmoid of the other C; ``softgated``: softsign times softsign; else ``tanh``, ``sigmoid``,
  ``relu``, ``softsign`` or ``linear``), optional ``level_adjust`` (a gain the plugin applies after
  its EQ and master volume, not part of the network: kept in the metadata);
- ``variables``: objects with ``layer_idx``, ``name`` and ``data`` (numbers, or numbers written as
  text). ``layer_idx`` -1 is the input layer (``W``, ``b``: a 1x1 conv ``input_channels -> C``),
  0..n-1 the layers (``W_conv``/``b_conv``: the dilated conv ``C -> g*C``; ``W_out``/``b_out``: the
  1x1 ``C -> C`` of the residual path), n the output layer (``W``, ``b``: a 1x1 conv from the
  concatenated skips, ``n*C`` channels with layer j's at ``j*C``, to ``output_channels``).

A kernel is stored tap, input, output (``W[k][i][o]``, row major) and tap ``k`` multiplies the input
from ``(K-1-k) * dilation`` steps ago (Convolution::setKernel stores it reversed and reads its
newest-first buffer), PyTorch's order: the IR weight is ``W.reshape(K, in, out).transpose(2, 1, 0)``.
Layer j: ``a = act(conv(x))``, the skip is ``a``, ``x' = x + out1x1(a)``. The IR graph sums each
layer's share of the output layer (``W_j a_j``; the output bias rides on layer 0's share) rather than
concatenating the skips, which is the same product.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, UnsupportedError
from ..files import check_limit
from ..ir import Layer, Model
from ..ir.layers import INPUT
from ._json import checked, read_array, read_int

ACTIVATIONS = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "softsign": "softsign", "linear": "identity"}
GATED = {"gated": ("tanh", "sigmoid"), "softgated": ("softsign", "softsign")}


def _data(value, n: int, what: str, where: str) -> np.ndarray:
    if not isinstance(value, list):
        raise FormatError(f"{where}: {what} 'data' must be a list of numbers.")
    check_limit(len(value), "weights", f"{what} (weight values)", where)
    try:
        value = [float(v) if isinstance(v, str) else v for v in value]
    except ValueError:
        raise FormatError(f"{where}: {what} holds text that is not a number.") from None
    a = read_array(value, None, what, where)
    if a.shape != (n,):
        raise FormatError(f"{where}: {what} has {a.size} values, expected {n}.")
    return a


def _dense(name, w, b, inputs, output="") -> Layer:
    params = {"in_features": w.shape[1], "out_features": w.shape[0], "bias": b is not None}
    weights = {"weight": w} if b is None else {"weight": w, "bias": b}
    return Layer("dense", params, weights, name=name, inputs=inputs, output=output)


def _act(function, n, name, inputs, output) -> Layer:
    return Layer("activation", {"function": function, "features": n}, name=name, inputs=inputs, output=output)


def from_smartamp(doc: dict, name: str = "model", where: str = "SmartGuitarAmp file") -> Model:
    """Return the IR graph of a SmartGuitarAmp WaveNet JSON document."""
    def size(key, cap="layer_units"):
        if key not in doc:
            raise FormatError(f"{where}: the file lacks the field '{key}'.")
        return read_int(doc[key], f"'{key}'", where, cap=cap)

    C, n_in, n_out, K = size("residual_channels"), size("input_channels"), size("output_channels"), \
        size("filter_width", "taps")
    if n_in != 1 or n_out != 1:
        raise UnsupportedError(f"{where}: a SmartGuitarAmp WaveNet with {n_in} inputs and {n_out} outputs is not "
                               f"supported; the plugin runs mono models (1 input, 1 output).")
    activation = doc.get("activation")
    if not isinstance(activation, str) or (activation not in ACTIVATIONS and activation not in GATED):
        raise UnsupportedError(f"{where}: activation {activation!r} is not one SmartGuitarAmp runs "
                               f"({', '.join([*GATED, *ACTIVATIONS])}).")
    dilations = doc.get("dilations")
    if not isinstance(dilations, list) or not dilations:
        raise FormatError(f"{where}: 'dilations' must be a non-empty list of integers.")
    check_limit(len(dilations), "layers", "the number of layers (dilations)", where)
    dilations = [read_int(d, "a dilation", where, cap="taps") for d in dilations]
    for d in dilations:
        check_limit((K - 1) * d + 1, "taps", "a layer's receptive field ((filter_width - 1) * dilation + 1)", where)
    n = len(dilations)
    g = 2 if activation in GATED else 1
    check_limit(n * C, "layer_units", "the skip channels (residual_channels x layers)", where)
    sizes = {(-1, "W"): n_in * C, (-1, "b"): C, (n, "W"): n * C * n_out, (n, "b"): n_out}
    for j in range(n):
        sizes.update({(j, "W_conv"): K * C * g * C, (j, "b_conv"): g * C, (j, "W_out"): C * C, (j, "b_out"): C})
    variables = doc.get("variables")
    if not isinstance(variables, list):
        raise FormatError(f"{where}: 'variables' must be a list of objects with layer_idx, name and data.")
    found = {}
    for v in variables:
        if not isinstance(v, dict):
            raise FormatError(f"{where}: every entry of 'variables' must be an object.")
        key = (v.get("layer_idx"), v.get("name"))
        if not isinstance(key[0], int) or isinstance(key[0], bool) or not isinstance(key[1], str) or key not in sizes:
            raise FormatError(f"{where}: variable {key[1]!r} of layer_idx {key[0]!r} is not one of this network's.")
        found[key] = _data(v.get("data"), sizes[key], f"variable {key[1]} of layer {key[0]}", where)
    missing = [f"{name} of layer {idx}" for idx, name in sizes if (idx, name) not in found]
    if missing:
        raise FormatError(f"{where}: the variables lack {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}.")

    def conv(wv, c_in, c_out, k):  # W[k][i][o] -> (out, in, K)
        return wv.reshape(k, c_in, c_out).transpose(2, 1, 0)

    layers = [_dense("input layer", conv(found[-1, "W"], n_in, C, 1)[:, :, 0], found[-1, "b"], [INPUT], "x0")]
    out_w = conv(found[n, "W"], n * C, n_out, 1)[:, :, 0]
    shares = []
    for j, d in enumerate(dilations):
        lj, x = f"l{j}", f"x{j}"
        layers.append(Layer("conv1d", {"in_channels": C, "out_channels": g * C, "kernel_size": K, "dilation": d},
                            {"weight": conv(found[j, "W_conv"], C, g * C, K), "bias": found[j, "b_conv"]},
                            name=f"{lj} conv", inputs=[x], output=f"{lj}.z"))
        if g == 2:
            first, second = GATED[activation]
            layers += [Layer("slice", {"in_features": 2 * C, "start": 0, "stop": C}, name=f"{lj} filter half",
                             inputs=[f"{lj}.z"]),
                       _act(first, C, f"{lj} filter", [], f"{lj}.filter"),
                       Layer("slice", {"in_features": 2 * C, "start": C, "stop": 2 * C}, name=f"{lj} gate half",
                             inputs=[f"{lj}.z"]),
                       _act(second, C, f"{lj} gate", [], f"{lj}.gate"),
                       Layer("mul", {"features": C}, name=f"{lj} gated", inputs=[f"{lj}.filter", f"{lj}.gate"],
                             output=f"{lj}.a")]
        else:
            layers.append(_act(ACTIVATIONS[activation], C, f"{lj} activation", [f"{lj}.z"], f"{lj}.a"))
        layers.append(_dense(f"{lj} out 1x1", conv(found[j, "W_out"], C, C, 1)[:, :, 0], found[j, "b_out"],
                             [f"{lj}.a"], f"{lj}.r"))
        layers.append(Layer("add", {"features": C}, name=f"{lj} residual", inputs=[x, f"{lj}.r"], output=f"x{j + 1}"))
        layers.append(_dense(f"{lj} share of the output layer", out_w[:, j * C:(j + 1) * C],
                             found[n, "b"] if j == 0 else None, [f"{lj}.a"], f"{lj}.s"))
        shares.append(f"{lj}.s")
    if n > 1:
        layers.append(Layer("add", {"features": n_out}, name="output layer", inputs=shares))
    else:
        layers.append(Layer("gain", {"features": n_out, "gain": 1.0}, name="output layer", inputs=shares))
    level = doc.get("level_adjust")
    metadata = {"format": "SmartGuitarAmp WaveNet", "activation": activation}
    if isinstance(level, (int, float)) and not isinstance(level, bool):
        metadata["level_adjust"] = float(level)
    model = Model(layers, input_size=1, name=name, metadata=metadata)  # the files do not give a sample rate
    return checked(model, where)
