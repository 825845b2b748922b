"""Back ends: engines that run a Model (``backend``) and exporters that write it (``export``)."""
from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import UnsupportedError
from ..ir.model import set_audio_call
from .base import Backend, audio_call

# engine name -> (module, class); modules load on first use so optional packages stay optional
ENGINES = {
    "c": ("tinyrt.backends.c", "CBackend"),
    "onnxruntime": ("tinyrt.backends.onnx", "OnnxBackend"),
    "torch": ("tinyrt.backends.torch", "TorchBackend"),
    "torchscript": ("tinyrt.backends.torch", "TorchScriptBackend"),
    "reference": ("tinyrt.backends.reference", "ReferenceBackend"),
}

# export format -> (module, function); each function is export(model, path, **options) -> Path
EXPORTERS = {
    "c": ("tinyrt.backends.c", "export"),
    "onnx": ("tinyrt.backends.onnx", "export"),
    "rtneural": ("tinyrt.backends.rtneural", "export"),
    "nam": ("tinyrt.backends.nam", "export"),
    "aidax": ("tinyrt.backends.aidax", "export"),
    "coreaudioml": ("tinyrt.backends.coreaudioml", "export"),
    "torch": ("tinyrt.backends.torch", "export"),
    "classic": ("tinyrt.backends.c.cmodel", "export"),
    "tinyrt": ("tinyrt.backends", "save_ir"),
}


set_audio_call(audio_call)  # model(audio, sr, engine=..., **knobs) runs here


def save_ir(model, path) -> Path:
    """Write the model as a .tinyrt file (the IR itself) and return the path."""
    return model.save(path)


def _resolve(table: dict, key: str, what: str):
    if key not in table:
        raise UnsupportedError(f"unknown {what} {key!r}; choose one of {', '.join(table)}.")
    module, attr = table[key]
    return getattr(importlib.import_module(module), attr)


def backend(model, engine: str = "c", **options) -> Backend:
    """Return a ready-to-run Backend for the model on the named engine."""
    return _resolve(ENGINES, engine, "engine")(model, **options)


def export(model, fmt: str, path, **options) -> Path:
    """Write the model in the named format and return the path written."""
    return Path(_resolve(EXPORTERS, fmt, "export format")(model.validate(), Path(path), **options))


__all__ = ["Backend", "ENGINES", "EXPORTERS", "backend", "export"]
