"""Export the IR as an AIDA-X model file (RTNeural Keras-style JSON with AIDA-X's keys).

The document is ``tinyrt.backends.rtneural``'s (so ``tinyrt.load`` reads it back exactly), with a
whole-model input skip written as ``in_skip`` = 1, which AIDA-X adds back, and ``metadata`` with
``samplerate``. AIDA-X compiles a fixed set of models (its model_variant.hpp): one LSTM or GRU
layer of 8, 12, 16, 20, 32, 40 or 64 units with 1 to 3 inputs (audio, then up to two knobs) and a
one-output dense layer; anything else is refused in one sentence, since the plugin would reject it.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UnsupportedError
from . import rtneural

HIDDEN_SIZES = (8, 12, 16, 20, 32, 40, 64)
MAX_INPUTS = 3


def _refuse(model, why: str) -> UnsupportedError:
    return UnsupportedError(f"{model.name} cannot be written for AIDA-X: {why}.")


def to_aidax(model) -> dict:
    """Return the AIDA-X document (a dict) of the model."""
    doc = rtneural.to_rtneural(model, skip="strip")
    kinds = [layer["type"] for layer in doc["layers"]]
    if kinds not in (["lstm", "dense"], ["gru", "dense"]) or doc["layers"][1]["activation"]:
        raise _refuse(model, f"AIDA-X runs one LSTM or GRU layer and a dense output, this model is "
                             f"{' -> '.join(kinds)}")
    hidden = doc["layers"][0]["shape"][-1]
    if hidden not in HIDDEN_SIZES:
        raise _refuse(model, f"AIDA-X runs recurrent layers of {', '.join(map(str, HIDDEN_SIZES))} units, this "
                             f"one has {hidden}")
    if not 1 <= model.input_size <= MAX_INPUTS or doc.get("block_size", 1) != 1:
        raise _refuse(model, f"AIDA-X takes one sample of audio and at most {MAX_INPUTS - 1} knobs per step, this "
                             f"model takes {model.input_size} values per block of {model.block_size}")
    if doc["layers"][1]["shape"][-1] != 1:
        raise _refuse(model, "AIDA-X's models have one output")
    return doc


def export(model, path, **options) -> Path:
    """Write the model as an AIDA-X (RTNeural JSON) model file and return the path."""
    if options:
        raise UnsupportedError(f"the AIDA-X exporter has no option {next(iter(options))!r}.")
    to_aidax(model)  # refuse before writing
    return rtneural.export(model, path, skip="strip")
