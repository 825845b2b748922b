"""Export the IR as a Neural Amp Modeler ``.nam`` file (the NAM plugin and NeuralAmpModelerCore load it).

The file is the JSON that NAM's exporter writes (nam/models/exportable.py ``_get_export_dict``):
``version``, ``architecture``, ``config``, ``weights`` (one flat list), ``sample_rate`` and
``metadata``; ``tinyrt.frontends.nam`` documents the layouts and reads the file back exactly.

Each architecture has a writer in ``WRITERS`` (name -> function(model) -> (config, weights) or
None). A writer returns None when the model is not of its shape and raises UnsupportedError (one
sentence) when it is but the format cannot hold something in it. ``register_writer`` adds one (the
WaveNet writer joins the LSTM one this way); ``to_nam`` asks each in turn.

``LSTM``: an IR ``lstm`` layer followed by a ``dense`` layer with one output (NAM's head). NAM's
LSTM has no GRU cell, no input skip, no output activation, one audio input and one sample per
step, so models with a GRU, a residual skip, knob inputs or ``block_size`` > 1 are refused. The
summed bias ``bias_ih + bias_hh`` and the initial states ``h0``/``c0`` (zeros when the IR has none)
are written as NAM orders them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ModelError, UnsupportedError
from ..files import write_text
from .nam_wavenet import wavenet_writer

VERSION = "0.5.4"   # the LSTM layout is unchanged since 0.5; every NeuralAmpModelerCore release reads 0.5.x
# NAM's metadata keys (nam/models/metadata.py and NeuralAmpModelerCore's get_dsp.cpp); others are not written
METADATA_KEYS = ("date", "loudness", "gain", "name", "modeled_by", "gear_type", "gear_make", "gear_model",
                 "tone_type", "input_level_dbu", "output_level_dbu", "training")


def _floats(*arrays) -> list:
    return np.concatenate([np.asarray(a, np.float32).reshape(-1) for a in arrays]).astype(np.float64).tolist()


def _refuse(model, why: str) -> UnsupportedError:
    return UnsupportedError(f"{model.name} cannot be written as a .nam file: {why}.")


def lstm_writer(model):
    """Return (config, weights) of NAM's LSTM for an lstm + dense(1) model, None for other shapes."""
    layers = model.layers
    types = [layer.type for layer in layers]
    every = [layer.type for layer in model.walk()]
    if "lstm" not in every and "gru" not in every:
        return None
    if "gru" in every:
        raise _refuse(model, "NAM has no GRU architecture (use an LSTM cell)")
    if types == ["residual"] and [sub.type for sub in layers[0].layers] == ["lstm", "dense"]:
        raise _refuse(model, "NAM's LSTM has no input skip (train with [model] skip = false to export to NAM)")
    if "gru" in types:
        raise _refuse(model, "NAM has no GRU architecture (use an LSTM cell)")
    if types != ["lstm", "dense"]:
        raise _refuse(model, f"NAM's LSTM is one LSTM stack followed by a one-output dense head, this model is "
                             f"{' -> '.join(types)}")
    lstm, head = layers
    if model.block_size != 1:
        raise _refuse(model, f"NAM's LSTM reads one sample per step, this model reads blocks of {model.block_size}")
    if model.input_size != 1:
        raise _refuse(model, f"NAM's plugin feeds audio only, this model has {model.input_size - 1} knob input(s) "
                             f"(export it with --to aidax or --to coreaudioml, which keep the knobs)")
    if head.params["out_features"] != 1:
        raise _refuse(model, f"NAM's LSTM head has one output, this one has {head.params['out_features']}")
    p, w = lstm.params, lstm.weights
    hidden, n_layers = p["hidden_size"], p["num_layers"]
    zeros = np.zeros(4 * hidden, np.float32)
    h0 = w.get("h0", np.zeros((n_layers, hidden), np.float32))
    c0 = w.get("c0", np.zeros((n_layers, hidden), np.float32))
    parts = []
    for k in range(n_layers):
        bias = w.get(f"bias_ih_l{k}", zeros).astype(np.float64) + w.get(f"bias_hh_l{k}", zeros).astype(np.float64)
        parts += [np.concatenate([w[f"weight_ih_l{k}"], w[f"weight_hh_l{k}"]], axis=1),
                  bias.astype(np.float32), h0[k], c0[k]]
    parts += [head.weights["weight"], head.weights.get("bias", np.zeros(1, np.float32))]
    config = {"input_size": p["input_size"], "hidden_size": hidden, "num_layers": n_layers}
    return config, _floats(*parts)


WRITERS = {"LSTM": lstm_writer, "WaveNet": wavenet_writer}


def register_writer(architecture: str, writer) -> None:
    """Add a writer for a NAM architecture: writer(model) -> (config, weights), or None when not its shape."""
    WRITERS[architecture] = writer


def _metadata(model) -> dict:
    out = {k: model.metadata[k] for k in METADATA_KEYS if k in model.metadata}
    out["name"] = str(model.metadata.get("name", model.name))
    return out


def to_nam(model) -> dict:
    """Return the .nam document (a dict) of the model, from the first writer that takes its shape."""
    model.validate()
    for architecture, writer in WRITERS.items():
        found = writer(model)
        if found is not None:
            config, weights = found
            doc = {"version": VERSION, "architecture": architecture, "config": config, "weights": weights,
                   "metadata": _metadata(model)}
            if model.sample_rate is not None:
                doc["sample_rate"] = float(model.sample_rate)
            return doc
    kinds = " -> ".join(layer.type for layer in model.layers)
    raise _refuse(model, f"tinyrt writes NAM's {' and '.join(WRITERS)} architecture(s), and this model is {kinds}")


def export(model, path, **options) -> Path:
    """Write the model as a NAM .nam file and return the path."""
    if options:
        raise UnsupportedError(f"the NAM exporter has no option {next(iter(options))!r}.")
    doc = to_nam(model)
    try:
        text = json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{model.name}: the model cannot be written as a .nam file ({exc}).") from None
    return write_text(Path(path), text, ".nam file")
