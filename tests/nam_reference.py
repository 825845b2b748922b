"""Neural Amp Modeler's own code as the reference for tinyrt's NAM support (a test helper, not a test).

The ``neural-amp-modeler`` package (PyPI, 0.13.0) builds the models, exports the ``.nam`` files and
computes the PyTorch output every tinyrt engine is compared with. Only its model code is used:
``nam/__init__`` also imports the trainer (PyTorch Lightning, matplotlib, tkinter) and ``nam.data``
imports librosa at the top, none of which the models need. So the package is installed without
its dependencies (``pip install --no-deps neural-amp-modeler==0.13.0`` plus ``pydantic wavio tqdm``,
see the Makefile) and ``_nam_models()`` imports ``nam.models`` with the package's ``__init__``
skipped and librosa, when it is absent, standing in as a module that raises on use (it is used only
to read WAV files, which these helpers never do). With every dependency installed the ordinary
import is used instead.

Functions for tests:

- ``make_nam_lstm(tmp_path, hidden, layers, seed, identity=False) -> Path``
- ``make_nam_wavenet(tmp_path, preset_or_config, seed, identity=False) -> Path``
- ``nam_output(path_or_model, audio) -> np.ndarray`` (float32, NAM's PyTorch forward pass)
- ``guitar(seconds, sr)`` (tinyrt's synthetic guitar, float32)
- ``WAVENET_PRESETS``: the trainer's "standard", "lite", "feather" and "nano" WaveNets
  (neural-amp-modeler 0.7-0.12, nam/train/core.py ``_get_wavenet_config``; 0.13's trainer trains
  a packed "A2" WaveNet instead, so the classic presets are kept here verbatim).
"""
from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

_DILATIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
_LITE_TAIL = [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def _preset(channels: int, head: int, second: int, first_dilations: list, second_dilations: list) -> dict:
    def array(input_size, ch, head_size, dilations, head_bias):
        return {"input_size": input_size, "condition_size": 1, "channels": ch, "head_size": head_size,
                "kernel_size": 3, "dilations": list(dilations), "activation": "Tanh", "gated": False,
                "head_bias": head_bias}
    return {"layers_configs": [array(1, channels, head, first_dilations, False),
                               array(channels, second, 1, second_dilations, True)],
            "head_scale": 0.02}


WAVENET_PRESETS = {
    "standard": _preset(16, 8, 8, _DILATIONS, _DILATIONS),
    "lite": _preset(12, 6, 6, _DILATIONS[:7], _LITE_TAIL),
    "feather": _preset(8, 4, 4, _DILATIONS[:7], _LITE_TAIL),
    "nano": _preset(4, 2, 2, _DILATIONS[:7], _LITE_TAIL),
}

_MODELS = None


def _nam_models():
    """Return the ``nam.models`` module, skipping NAM's package ``__init__`` when its trainer deps are absent."""
    global _MODELS
    if _MODELS is not None:
        return _MODELS
    spec = importlib.util.find_spec("nam")
    if spec is None or spec.submodule_search_locations is None:
        pytest.skip("the neural-amp-modeler package is not installed (make install)")
    full = all(importlib.util.find_spec(m) is not None for m in ("librosa", "pytorch_lightning", "matplotlib"))
    if full or "nam" in sys.modules:
        _MODELS = importlib.import_module("nam.models")
        return _MODELS
    sys.modules["nam"] = importlib.util.module_from_spec(spec)  # the package, its __init__ not run
    placeholder = None
    if importlib.util.find_spec("librosa") is None:
        placeholder = types.ModuleType("librosa")

        def _missing(name):
            raise AttributeError(f"librosa.{name}: librosa is not installed; tinyrt's tests never use NAM's WAV "
                                 f"loading")
        placeholder.__getattr__ = _missing
        sys.modules["librosa"] = placeholder
    try:
        _MODELS = importlib.import_module("nam.models")
    finally:
        if placeholder is not None and sys.modules.get("librosa") is placeholder:
            del sys.modules["librosa"]  # nam.data keeps its reference; nothing else sees the stand-in
    return _MODELS


def nam_version() -> str:
    """Return the installed neural-amp-modeler version."""
    _nam_models()
    return importlib.import_module("nam._version").__version__


@functools.lru_cache(maxsize=4)
def _guitar(seconds: float, sr: int, seed: int) -> np.ndarray:
    from tinyrt.data.synth import guitar_track
    audio = guitar_track(seconds, sr, seed=seed)
    audio.flags.writeable = False
    return audio


def guitar(seconds: float, sr: int = 48000, seed: int = 0) -> np.ndarray:
    """Return tinyrt's synthetic guitar performance (float32 mono, peak 0.85; cached, read-only)."""
    return _guitar(float(seconds), int(sr), int(seed))


def _export(model, tmp_path, basename: str) -> Path:
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    import torch
    model.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.export(tmp_path, basename=basename)
    finally:
        torch.set_num_threads(threads)
    return tmp_path / f"{basename}.nam"


def _randomise(module, seed: int, scale: float = 0.5) -> None:
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * (2 * torch.rand(p.shape, generator=g) - 1))


def make_nam_lstm(tmp_path, hidden: int, layers: int, seed: int, identity: bool = False,
                  input_size: int = 1) -> Path:
    """Return a ``.nam`` file of a NAM LSTM with random weights, exported with NAM's exporter.

    The exporter stores the state after 48 000 samples of silence as the file's initial state, as
    the trainer does. NAM's LSTM is ``head(lstm(x))`` with no skip path and h = o * tanh(c) bounded
    by 1, so no weights make its output equal its input: ``identity=True`` raises ValueError.
    """
    import torch
    if identity:
        raise ValueError("NAM's LSTM has no skip path, so no weights make its output equal its input; "
                         "use make_nam_wavenet(..., identity=True) for identity files.")
    models = _nam_models()
    torch.manual_seed(seed)
    net = models.recurrent.LSTM(hidden, input_size=input_size, num_layers=layers, sample_rate=48000.0)
    _randomise(net, seed)
    return _export(net, tmp_path, f"nam_lstm_{hidden}x{layers}_s{seed}")


def _wavenet_config(preset) -> dict:
    """Return NAM 0.13's WaveNet init config for a preset name or a classic/new config dict.

    The classic trainer configs name the head path ``head_size``/``head_bias`` and the gating
    ``gated``; 0.13 reads a ``head`` object (``out_channels``, ``kernel_size``, ``bias``) and gated
    activations as ``PairMultiply`` of the primary and a sigmoid. Both spellings are accepted.
    """
    if isinstance(preset, str):
        if preset not in WAVENET_PRESETS:
            raise ValueError(f"unknown NAM WaveNet preset {preset!r}; choose one of {', '.join(WAVENET_PRESETS)}")
        preset = WAVENET_PRESETS[preset]
    config = copy.deepcopy(dict(preset))
    for lc in config["layers_configs"]:
        if "head" not in lc:
            lc["head"] = {"out_channels": lc.pop("head_size"), "kernel_size": 1, "bias": lc.pop("head_bias", False)}
        if lc.pop("gated", False):
            lc["activation"] = {"name": "PairMultiply", "primary": lc["activation"], "secondary": "Sigmoid"}
    return config


def make_nam_wavenet(tmp_path, preset, seed: int, identity: bool = False) -> Path:
    """Return a ``.nam`` file of a NAM WaveNet built from a preset name or config dict, exported by NAM.

    Random weights (uniform in +-0.3), or with ``identity=True`` weights that make the output equal
    the input. Every path to a NAM WaveNet's output crosses a layer's activation, so an exact
    identity needs a linear activation: ``identity=True`` builds the same structure with the
    activation ``Identity`` (NAM's name for no activation), all weights zero except array 0's
    first-layer input mixin (the condition, i.e. the input audio, onto channel 0), each array's head
    rechannel passing head channel 0 on (last tap of its kernel), and the last one scaled by
    1 / head_scale.
    """
    models = _nam_models()
    config = _wavenet_config(preset)
    if identity:
        for lc in config["layers_configs"]:
            lc["activation"] = "Identity"
    config["sample_rate"] = 48000.0
    net = models.wavenet.WaveNet.init_from_config(config)
    if identity:
        _identity_wavenet(net, config)
    else:
        _randomise(net, seed, scale=0.3)
    name = preset if isinstance(preset, str) else "custom"
    return _export(net, tmp_path, f"nam_wavenet_{name}_s{seed}{'_identity' if identity else ''}")


def _identity_wavenet(net, config: dict) -> None:
    import torch
    arrays = net._net._layer_arrays
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        arrays[0]._layers[0]._input_mixer.weight[0, 0, -1] = 1.0
        for k, array in enumerate(arrays):
            w = array._head_rechannel.weight
            w[0, 0, -1] = 1.0 / config["head_scale"] if k == len(arrays) - 1 else 1.0


def load_nam(path_or_model):
    """Return NAM's PyTorch model for a ``.nam`` path (or the model itself), in eval mode."""
    models = _nam_models()
    if isinstance(path_or_model, (str, Path)):
        doc = json.loads(Path(path_or_model).read_text())
        net = models.init_from_nam(doc)
    else:
        net = path_or_model
    net.eval()
    return net


def nam_output(path_or_model, audio) -> np.ndarray:
    """Return NAM's PyTorch output (float32) for mono audio, from the file's initial state."""
    import torch
    net = load_nam(path_or_model)
    x = torch.from_numpy(np.array(audio, dtype=np.float32))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machines are shared: many threads on a loaded box run 100x slower
    try:
        with torch.no_grad():
            y = net(x[None], pad_start=True)[0]
    finally:
        torch.set_num_threads(threads)
    return y.numpy().astype(np.float32)
