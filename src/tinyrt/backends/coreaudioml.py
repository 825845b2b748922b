"""Export the IR as CoreAudioML / GuitarML JSON (SimpleRNN), the format NeuralPi and Proteus load.

The layout is the one ``tinyrt.frontends.coreaudioml`` documents and reads back exactly:
``model_data`` (``model`` "SimpleRNN", ``input_size``, ``output_size``, ``unit_type``,
``num_layers``, ``hidden_size``, ``skip``, ``bias_fl``, ``sample_rate``) and ``state_dict`` (the
PyTorch state dict of ``rec`` and ``lin`` as nested lists). A model with knob inputs keeps them:
``input_size`` = 1 + knobs, audio first (NeuralPi's and TS-M1N3's conditioned models), and the
knobs' names and ranges go into ``model_data["params"]`` (other readers ignore the key).

SimpleRNN is one LSTM or GRU stack and a linear layer, optionally with the first ``skip`` inputs
added to the output; it starts from a zero state and reads one sample per step. Anything else
(other layers, a non-zero initial state, blocks of samples) is refused in one sentence.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ModelError, UnsupportedError
from ..files import write_text


def _refuse(model, why: str) -> UnsupportedError:
    return UnsupportedError(f"{model.name} cannot be written as CoreAudioML JSON: {why}.")


def _list(a) -> list:
    return np.asarray(a, np.float32).astype(np.float64).tolist()


def simple_rnn(model):
    """Return (recurrent layer, dense layer, skip) of a SimpleRNN-shaped model or raise UnsupportedError."""
    layers, skip = model.layers, 0
    if len(layers) == 1 and layers[0].type == "residual":
        layers, skip = layers[0].layers, layers[0].out_features
    kinds = [layer.type for layer in layers]
    if len(kinds) != 2 or kinds[0] not in ("lstm", "gru") or kinds[1] != "dense":
        raise _refuse(model, f"SimpleRNN is one LSTM or GRU stack and a linear layer (with an optional input "
                             f"skip), this model is {' -> '.join(layer.type for layer in model.layers)}")
    if model.block_size != 1:
        raise _refuse(model, f"SimpleRNN reads one sample per step, this model reads blocks of {model.block_size}")
    rec = layers[0]
    for key in ("h0", "c0"):
        if key in rec.weights and np.any(rec.weights[key] != 0):
            raise _refuse(model, f"its {rec.type} starts from a non-zero state ({key}) and SimpleRNN starts from "
                                 f"zero")
    return rec, layers[1], skip


def to_coreaudioml(model) -> dict:
    """Return the CoreAudioML JSON document (a dict) of the model."""
    model.validate()
    rec, lin, skip = simple_rnn(model)
    p = rec.params
    gates = 4 if rec.type == "lstm" else 3
    sd = {}
    for k in range(p["num_layers"]):
        for key in (f"weight_ih_l{k}", f"weight_hh_l{k}"):
            sd[f"rec.{key}"] = _list(rec.weights[key])
        for key in (f"bias_ih_l{k}", f"bias_hh_l{k}"):
            sd[f"rec.{key}"] = _list(rec.weights.get(key, np.zeros(gates * p["hidden_size"])))
    sd["lin.weight"] = _list(lin.weights["weight"])
    if lin.params["bias"]:
        sd["lin.bias"] = _list(lin.weights["bias"])
    md = {"model": "SimpleRNN", "input_size": model.input_size, "output_size": lin.params["out_features"],
          "unit_type": rec.type.upper(), "num_layers": p["num_layers"], "hidden_size": p["hidden_size"],
          "skip": skip, "bias_fl": bool(lin.params["bias"])}
    if model.sample_rate is not None:
        md["sample_rate"] = float(model.sample_rate)
    if isinstance(model.metadata.get("params"), list):
        md["params"] = model.metadata["params"]
    return {"model_data": md, "state_dict": sd}


def export(model, path, **options) -> Path:
    """Write the model as CoreAudioML / GuitarML JSON and return the path."""
    if options:
        raise UnsupportedError(f"the CoreAudioML exporter has no option {next(iter(options))!r}.")
    doc = to_coreaudioml(model)
    try:
        text = json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{model.name}: the model cannot be written as CoreAudioML JSON ({exc}).") from None
    return write_text(Path(path), text, "CoreAudioML JSON file")
