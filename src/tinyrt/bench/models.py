"""IR layers and models of a chosen size with random weights (PyTorch-style initialisation), for sweeps,
the zoo, benchmarks and parity tests."""
from __future__ import annotations

import numpy as np

from ..ir import Layer, Model


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def rnn(rng, cell: str, n_in: int, hidden: int, num_layers: int = 1, bias: bool = True,
        initial_state: bool = False) -> Layer:
    """Return an LSTM or GRU layer with weights drawn as PyTorch initialises them."""
    gates = 4 if cell == "lstm" else 3
    bound = 1.0 / np.sqrt(hidden)
    w = {}
    for k in range(num_layers):
        w[f"weight_ih_l{k}"] = _uniform(rng, bound, (gates * hidden, n_in if k == 0 else hidden))
        w[f"weight_hh_l{k}"] = _uniform(rng, bound, (gates * hidden, hidden))
        if bias:
            w[f"bias_ih_l{k}"] = _uniform(rng, bound, (gates * hidden,))
            w[f"bias_hh_l{k}"] = _uniform(rng, bound, (gates * hidden,))
    if initial_state:
        w["h0"] = _uniform(rng, 0.5, (num_layers, hidden))
        if cell == "lstm":
            w["c0"] = _uniform(rng, 0.5, (num_layers, hidden))
    return Layer(cell, {"input_size": n_in, "hidden_size": hidden, "num_layers": num_layers, "bias": bias}, w)


def dense(rng, n_in: int, n_out: int, bias: bool = True) -> Layer:
    """Return a dense layer with PyTorch's default initialisation."""
    bound = 1.0 / np.sqrt(n_in)
    w = {"weight": _uniform(rng, bound, (n_out, n_in))}
    if bias:
        w["bias"] = _uniform(rng, bound, (n_out,))
    return Layer("dense", {"in_features": n_in, "out_features": n_out, "bias": bias}, w)


def conv1d(rng, c_in: int, c_out: int, kernel: int, dilation: int = 1, groups: int = 1,
           bias: bool = True) -> Layer:
    """Return a causal conv1d layer with PyTorch's default initialisation."""
    bound = 1.0 / np.sqrt(c_in // groups * kernel)
    w = {"weight": _uniform(rng, bound, (c_out, c_in // groups, kernel))}
    if bias:
        w["bias"] = _uniform(rng, bound, (c_out,))
    return Layer("conv1d", {"in_channels": c_in, "out_channels": c_out, "kernel_size": kernel,
                            "dilation": dilation, "groups": groups, "bias": bias}, w)


def activation(rng, function: str, features: int) -> Layer:
    """Return an activation layer; PReLU gets random per-channel slopes and ELU a random alpha."""
    params = {"function": function, "features": features}
    weights = {}
    if function == "prelu":
        params["num_parameters"] = features
        weights["weight"] = rng.uniform(0.05, 0.5, size=features).astype(np.float32)
    if function == "elu":
        params["alpha"] = float(np.float32(rng.uniform(0.5, 1.5)))
    if function == "hardtanh":  # NAM's LeakyHardtanh: bounds inside the inputs' range, leaky beyond
        params.update(min_val=-0.25, max_val=0.5, min_slope=0.125, max_slope=0.0625)
    return Layer("activation", params, weights)


def batchnorm(rng, features: int) -> Layer:
    """Return a batch-norm layer with random running statistics."""
    return Layer("batchnorm", {"features": features, "eps": 1e-5}, {
        "weight": rng.uniform(0.5, 1.5, features).astype(np.float32),
        "bias": rng.uniform(-0.2, 0.2, features).astype(np.float32),
        "running_mean": rng.uniform(-0.2, 0.2, features).astype(np.float32),
        "running_var": rng.uniform(0.5, 2.0, features).astype(np.float32),
    })


def effect_model(rng, cell: str = "lstm", hidden: int = 16, num_layers: int = 1, block_size: int = 1,
                 skip: bool = False, sample_rate: float | None = 48000.0) -> Model:
    """Return the guitar-effect shape: recurrent layer(s) then a dense head, optional input skip."""
    n = block_size
    body = [rnn(rng, cell, n, hidden, num_layers), dense(rng, hidden, n)]
    layers = [Layer("residual", {"features": n}, layers=body)] if skip else body
    return Model(layers, input_size=n, block_size=block_size, sample_rate=sample_rate,
                 name=f"{cell}{hidden}")


def stack_model(rng, features: int = 4) -> Model:
    """Return a model using every layer type once (conv, rnns, activations, batch-norm, residual, gain)."""
    f = features
    layers = [
        conv1d(rng, 1, f, 5, dilation=2),
        batchnorm(rng, f),
        activation(rng, "prelu", f),
        conv1d(rng, f, 2 * f, 3, dilation=3, groups=f),
        activation(rng, "gelu", 2 * f),
        rnn(rng, "gru", 2 * f, 8, num_layers=2),
        Layer("residual", {"features": 8}, layers=[
            rnn(rng, "lstm", 8, 8), activation(rng, "silu", 8), dense(rng, 8, 8)]),
        activation(rng, "elu", 8),
        dense(rng, 8, 4),
        activation(rng, "softsign", 4),
        Layer("gain", {"features": 4, "gain": 0.5}),
        dense(rng, 4, 1),
        activation(rng, "tanh", 1),
    ]
    return Model(layers, input_size=1, sample_rate=48000.0, name="stack")
