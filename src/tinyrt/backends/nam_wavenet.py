"""Export a WaveNet graph (as ``tinyrt.ir.wavenet`` builds it) back to a Neural Amp Modeler ``.nam`` document.

``wavenet_to_nam(model)`` returns the document neural-amp-modeler 0.13's exporter writes
(nam/models/exportable.py ``_get_export_dict``, nam/models/wavenet/_wavenet.py ``export_config``):
``version``, ``metadata``, ``architecture`` "WaveNet", ``config`` (``layers``: one object per layer
array with ``input_size``, ``condition_size``, ``head`` {out_channels, kernel_size, bias},
``channels``, ``kernel_sizes``, ``dilations``, ``activation`` / ``gating_mode`` /
``secondary_activation`` per layer, ``bottleneck``, ``head1x1``, ``layer1x1``, ``groups_input``,
``groups_input_mixin``, the FiLM objects and ``slimmable`` null; ``head`` (the post-stack
head or null) and ``head_scale``), ``weights`` in the order NeuralAmpModelerCore reads them
(NAM/wavenet/model.cpp ``set_weights_``: per array the rechannel, then per layer the dilated conv
and its bias, the input mixin, the layer 1x1 and its bias, the head 1x1 and its bias, each FiLM's
1x1 and bias; the head rechannel and its bias; then the post-stack head's convs; the head scale
last), and ``sample_rate``.
A conv's weights are PyTorch's (out, in/groups, K) flattened row major, which is also Core's order.
Any other model is refused in one sentence.
"""
from __future__ import annotations

import datetime

import numpy as np

from ..errors import UnsupportedError
from ..ir.wavenet import wavenet_arrays

NAM_FILE_VERSION = "0.7.0"  # what neural-amp-modeler 0.13 writes (nam/models/_constants.py MODEL_VERSION)
_FILMS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film",
          "activation_pre_film", "activation_post_film", "layer1x1_post_film", "head1x1_post_film")
_NAMES = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "ReLU", "silu": "SiLU", "softsign": "Softsign",
          "hardswish": "Hardswish", "identity": "Identity", "gelu": "GELU"}


def _short(v) -> float:
    """Return a float32 parameter as the shortest decimal that reads back as the same float32 (0.01, not 0.0099...)."""
    return float(repr(np.float32(v)).removeprefix("np.float32(").removesuffix(")"))


def _activation(spec: dict, where: str) -> dict:
    """Return NAM's export form ({"type": ..., parameters}) of an IR activation spec."""
    f = spec["function"]
    if f in _NAMES:
        return {"type": _NAMES[f]}
    if f == "elu" and spec.get("alpha", 1.0) == 1.0:
        return {"type": "ELU"}
    if f == "prelu":
        slopes = [_short(v) for v in np.asarray(spec["weight"]).ravel()]
        return ({"type": "LeakyReLU", "negative_slope": slopes[0]} if len(slopes) == 1
                else {"type": "PReLU", "negative_slopes": slopes})
    if f == "hardtanh":
        if spec.get("min_slope", 0.0) == 0.0 and spec.get("max_slope", 0.0) == 0.0:
            return {"type": "Hardtanh", "min_val": _short(spec["min_val"]), "max_val": _short(spec["max_val"])}
        return {"type": "LeakyHardtanh", **{k: _short(spec[k]) for k in ("min_val", "max_val", "min_slope",
                                                                         "max_slope")}}
    raise UnsupportedError(f"{where} uses the activation {f!r}, which a .nam file cannot hold.")


def _flat(*arrays) -> list:
    return [np.asarray(a, dtype=np.float32).ravel() for a in arrays if a is not None]


def wavenet_writer(model):
    """Return (config, weights) of a WaveNet graph, or None for any other model (the WRITERS interface of
    ``tinyrt.backends.nam``: ``register_writer("WaveNet", wavenet_writer)``)."""
    try:
        found = wavenet_arrays(model)
    except ValueError:
        return None
    return _config_and_weights(model, *found)


def wavenet_to_nam(model) -> dict:
    """Return the .nam document (a dict to write with json) of a WaveNet graph built by tinyrt.ir.wavenet."""
    model.validate()
    found = wavenet_writer(model)
    if found is None:
        raise UnsupportedError(f"model {model.name!r} is not a WaveNet graph as tinyrt's WaveNet importers build "
                               f"it, so it cannot be written as a NAM WaveNet.")
    config, weights = found
    now = datetime.datetime.now()
    metadata = {key: value for key, value in model.metadata.items() if not key.startswith("nam_")}
    metadata.setdefault("date", {"year": now.year, "month": now.month, "day": now.day, "hour": now.hour,
                                 "minute": now.minute, "second": now.second})
    metadata.setdefault("name", model.name)
    doc = {"version": NAM_FILE_VERSION, "metadata": metadata, "architecture": "WaveNet", "config": config,
           "weights": weights}
    if model.sample_rate is not None:
        doc["sample_rate"] = float(model.sample_rate)
    return doc


def _config_and_weights(model, arrays: list, head_scale: float, head) -> tuple:
    if model.output_size != 1:
        raise UnsupportedError(f"model {model.name!r} gives {model.output_size} outputs per sample; a NAM WaveNet "
                               f"gives one.")
    layers, weights = [], []
    for i, arr in enumerate(arrays):
        where = f"layer array {i} of {model.name!r}"
        n = len(arr.dilations)
        layers.append({
            "input_size": arr.input_size,
            "condition_size": arr.condition_size,
            "head": {"out_channels": arr.head_size, "kernel_size": arr.head_kernel_size,
                     "bias": arr.head_bias is not None},
            "channels": arr.channels,
            "kernel_sizes": [arr.layer_kernel(j) for j in range(n)],
            "dilations": [int(d) for d in arr.dilations],
            "activation": [_activation(arr.layer_activation(j), where) for j in range(n)],
            "bottleneck": arr.width,
            "head1x1": {"active": bool(arr.head1x1), "out_channels": arr.head1x1 or 1,
                        "groups": arr.head1x1_groups},
            "layer1x1": {"active": arr.layer1x1, "groups": arr.layer1x1_groups},
            "groups_input": arr.groups_input,
            "groups_input_mixin": arr.groups_input_mixin,
            **{key: {"active": key in arr.films, "shift": arr.films.get(key, {}).get("shift", True),
                     "groups": arr.films.get(key, {}).get("groups", 1)} for key in _FILMS},
            "gating_mode": [arr.layer_mode(j) for j in range(n)],
            "secondary_activation": [_activation(arr.layer_secondary(j), where) if arr.layer_gated(j) else None
                                     for j in range(n)],
            "slimmable": None,
        })
        if arr.head_dilation != 1:
            layers[-1]["head"]["head_dilation"] = arr.head_dilation
        weights += _flat(arr.rechannel)
        for j in range(n):
            weights += _flat(arr.conv_weights[j], arr.conv_biases[j], arr.mixins[j])
            if arr.layer1x1:
                weights += _flat(arr.one_by_one_weights[j], arr.one_by_one_biases[j])
            if arr.head1x1:
                weights += _flat(arr.head1x1_weights[j], arr.head1x1_biases[j])
            for key in _FILMS:
                if key in arr.films:
                    weights += _flat(*arr.film_weights[j][key])
        weights += _flat(arr.head_weight, arr.head_bias)
    post = None
    if head is not None:
        w0 = head.weights
        spec = _activation(head.activation if isinstance(head.activation, dict) else {"function": head.activation},
                           f"the head of {model.name!r}")
        # the trainer writes the head's activation as given (a name); both readers take a plain name
        post = {"channels": int(w0[0].shape[0]) if len(w0) > 1 else 1,
                "activation": spec["type"] if len(spec) == 1 else spec,
                "out_channels": int(w0[-1].shape[0]), "kernel_sizes": [int(w.shape[2]) for w in w0]}
        for w, b in zip(head.weights, head.biases):
            weights += _flat(w, b)
    weights.append(np.array([head_scale], dtype=np.float32))
    return ({"layers": layers, "head": post, "head_scale": float(head_scale)},
            [float(v) for v in np.concatenate(weights)])


__all__ = ["wavenet_to_nam", "wavenet_writer", "NAM_FILE_VERSION"]
