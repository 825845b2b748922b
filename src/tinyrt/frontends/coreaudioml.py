"""Import CoreAudioML / GuitarML JSON (SimpleRNN: one LSTM or GRU stack and a linear layer).

The layout is what CoreAudioML's ``SimpleRNN.save_model`` writes (Alec-Wright/CoreAudioML,
networks.py) and what GuitarML's NeuralPi/Proteus plugins load:

- ``model_data``: ``model`` (``"SimpleRNN"``), ``input_size`` (1 for audio, more when knob
  values are extra inputs), ``output_size``, ``unit_type`` (``"LSTM"`` or ``"GRU"``; the Elman
  ``"RNN"`` is not read), ``num_layers``, ``hidden_size``, ``skip`` and ``bias_fl``; BYOD's GuitarML
  loader also reads an optional ``sample_rate`` there (``samplerate`` is accepted too).
- ``state_dict``: the PyTorch state dict as nested lists: ``rec.weight_ih_l{k}``,
  ``rec.weight_hh_l{k}``, ``rec.bias_ih_l{k}``, ``rec.bias_hh_l{k}`` (the recurrent unit always has
  biases), ``lin.weight`` (output_size, hidden_size) and, when ``bias_fl`` is true, ``lin.bias``.

``SimpleRNN.forward`` computes ``lin(rec(x)) + x[..., 0:skip]`` when ``skip`` is non-zero: the
first ``skip`` input channels are added to the output. That is an IR residual when ``skip``
equals ``output_size`` (the usual ``skip = 1`` with one output); other values rely on
broadcasting, which tinyrt refuses. The recurrent state starts at zero.

Inputs after the first are knobs (NeuralPi's gain, TS-M1N3's drive and tone), 0..1 with the plugins'
default 0.5; the files do not name them, so they are ``param1``, ... unless ``model_data`` carries
``input_names``/``param_names``. A file without a rate is taken at 44.1 kHz, the rate GuitarML's
plugins run these models at (48 kHz when the file name says "48k"), with an AssumptionWarning.
"""
from __future__ import annotations

from ..errors import FormatError, UnsupportedError
from ..ir import Layer, Model
from ._json import assumed_rate, checked, knob_specs, read_array, read_int, read_rate

_STRUCTURE = ("model", "input_size", "output_size", "unit_type", "num_layers", "hidden_size", "skip", "bias_fl",
              "bidirectional", "sample_rate", "samplerate")


def _field(md: dict, key: str, where: str, default=None):
    if key not in md and default is None:
        raise FormatError(f"{where}: 'model_data' lacks the field '{key}'.")
    return md.get(key, default)


def _state(sd: dict, shapes: dict, where: str) -> dict:
    extra = sorted(set(sd) - set(shapes))
    if extra:
        raise FormatError(f"{where}: 'state_dict' has the key '{extra[0]}', which a SimpleRNN of this "
                          f"'model_data' does not have.")
    out = {}
    for key, shape in shapes.items():
        if key not in sd:
            raise FormatError(f"{where}: 'state_dict' lacks '{key}' (expected shape {shape}).")
        out[key] = read_array(sd[key], shape, f"'state_dict' entry '{key}'", where)
    return out


def from_coreaudioml(doc: dict, name: str = "model", where: str = "CoreAudioML JSON") -> Model:
    """Return the IR of a CoreAudioML / GuitarML SimpleRNN JSON document."""
    md, sd = doc.get("model_data"), doc.get("state_dict")
    if not isinstance(md, dict) or not isinstance(sd, dict):
        raise FormatError(f"{where}: 'model_data' and 'state_dict' must both be objects.")
    kind = md.get("model", "SimpleRNN")
    if kind != "SimpleRNN":
        raise UnsupportedError(f"{where}: CoreAudioML model {kind!r} is not supported; tinyrt reads SimpleRNN "
                               f"(an LSTM or GRU followed by a linear layer).")
    unit = _field(md, "unit_type", where)
    if unit not in ("LSTM", "GRU"):
        raise UnsupportedError(f"{where}: unit_type {unit!r} is not supported; tinyrt reads LSTM and GRU.")
    if md.get("bidirectional"):
        raise UnsupportedError(f"{where}: a bidirectional recurrent unit cannot run in real time, so tinyrt does "
                               f"not read it.")
    n_in = read_int(_field(md, "input_size", where), "'input_size'", where, cap="layer_units")
    n_out = read_int(_field(md, "output_size", where), "'output_size'", where, cap="layer_units")
    hidden = read_int(_field(md, "hidden_size", where), "'hidden_size'", where, cap="layer_units")
    n_layers = read_int(md.get("num_layers", 1), "'num_layers'", where, cap="layers")
    skip = _field(md, "skip", where)
    skip = read_int(int(skip) if isinstance(skip, bool) else skip, "'skip'", where, minimum=0, cap="layer_units")
    bias_fl = md.get("bias_fl", True)
    if not isinstance(bias_fl, bool):
        raise FormatError(f"{where}: 'bias_fl' must be true or false, got {bias_fl!r}.")

    gates = 4 if unit == "LSTM" else 3
    shapes = {}
    for k in range(n_layers):
        shapes[f"rec.weight_ih_l{k}"] = (gates * hidden, n_in if k == 0 else hidden)
        shapes[f"rec.weight_hh_l{k}"] = (gates * hidden, hidden)
        shapes[f"rec.bias_ih_l{k}"] = (gates * hidden,)
        shapes[f"rec.bias_hh_l{k}"] = (gates * hidden,)
    shapes["lin.weight"] = (n_out, hidden)
    if bias_fl:
        shapes["lin.bias"] = (n_out,)
    w = _state(sd, shapes, where)

    rec = Layer(unit.lower(), {"input_size": n_in, "hidden_size": hidden, "num_layers": n_layers, "bias": True},
                {key[len("rec."):]: v for key, v in w.items() if key.startswith("rec.")})
    lin = Layer("dense", {"in_features": hidden, "out_features": n_out, "bias": bias_fl},
                {key[len("lin."):]: v for key, v in w.items() if key.startswith("lin.")})
    layers = [rec, lin]
    if skip:
        if skip != n_out or skip > n_in:
            raise UnsupportedError(f"{where}: skip = {skip} with {n_in} inputs and {n_out} outputs relies on "
                                   f"broadcasting; tinyrt adds a skip only when it equals output_size.")
        layers = [Layer("residual", {"features": n_in}, layers=layers)]
    rate = read_rate(next((md[k] for k in ("sample_rate", "samplerate") if md.get(k) is not None), None),
                     "'sample_rate'", where)
    metadata = {k: v for k, v in md.items() if k not in _STRUCTURE}
    if rate is None:  # GuitarML's plugins run these files at 44.1 kHz
        rate, metadata["sample_rate_assumed"] = assumed_rate(
            "coreaudioml", name, where, "add \"sample_rate\" to the file's \"model_data\"")
    knobs = knob_specs(metadata, n_in - 1 if n_out == 1 else 0)
    if knobs:
        metadata["params"] = knobs
    model = Model(layers, input_size=n_in, name=name, metadata=metadata, sample_rate=rate)
    return checked(model, where)
