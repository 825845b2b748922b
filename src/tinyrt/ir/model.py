"""The model IR: an ordered list of typed layers with float32 weights, and its `.tinyrt` file."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FormatError, ModelError, UnsupportedError
from ..files import limit, load_npz, loads_json, read_member, write_bytes
from .layers import REQUIRED, SPECS, state_floats

FORMAT_VERSION = 2  # 2: graphs (layers naming their inputs and output); a stack is still written as version 1

# The audio call behind Model.__call__, registered by tinyrt.backends (which the IR may not import):
# audio_call(model, audio, sample_rate, engine, knobs) -> processed audio
_AUDIO_CALL = None


def set_audio_call(function) -> None:
    """Register the function that runs ``model(audio, sample_rate, engine=..., **knobs)`` (tinyrt.backends does)."""
    global _AUDIO_CALL
    _AUDIO_CALL = function


@dataclass
class Layer:
    """One IR layer: its type, parameters, float32 weights, (for ``residual``) its body and, in a graph, the
    names of the tensors it reads (``inputs``; empty: the previous layer's output) and of its ``output``."""

    type: str
    params: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    name: str = ""
    inputs: list = field(default_factory=list)
    output: str = ""

    def __post_init__(self):
        spec = SPECS.get(self.type)
        if spec is None:
            return  # validate() reports unknown types with the layer's position
        params = {}
        for key, p in spec.params.items():
            if key in self.params:
                params[key] = self.params[key]
            elif p.default is not REQUIRED:
                params[key] = p.default
        params.update({k: v for k, v in self.params.items() if k not in params})
        self.params = params
        self.weights = {k: np.asarray(v, dtype=np.float32) for k, v in self.weights.items()}
        self.inputs = list(self.inputs)

    @property
    def in_features(self) -> int:
        """Return the number of values this layer reads per frame."""
        return SPECS[self.type].in_features(self.params)

    @property
    def out_features(self) -> int:
        """Return the number of values this layer writes per frame."""
        if self.type == "residual":
            return self.layers[-1].out_features if self.layers else self.params["features"]
        return SPECS[self.type].out_features(self.params)

    def walk(self):
        """Yield this layer and, depth first, every layer nested in it."""
        yield self
        for sub in self.layers:
            yield from sub.walk()


@dataclass
class Model:
    """A framework-neutral model: layers applied in order to frames of ``input_size`` values.

    ``block_size`` is the number of audio samples per frame (model block size); a frame holds
    ``block_size * in_channels`` values, sample-major. ``sample_rate`` is None for a model
    that does not care.
    """

    layers: list
    input_size: int
    block_size: int = 1
    sample_rate: float | None = None
    name: str = "model"
    metadata: dict = field(default_factory=dict)

    @property
    def output_size(self) -> int:
        """Return the number of values the model writes per frame."""
        return self.layers[-1].out_features if self.layers else self.input_size

    @property
    def in_channels(self) -> int:
        """Return the number of audio channels per sample going in."""
        return self.input_size // self.block_size

    @property
    def out_channels(self) -> int:
        """Return the number of audio channels per sample coming out."""
        return self.output_size // self.block_size

    def walk(self):
        """Yield every layer, nested ones included, depth first."""
        for layer in self.layers:
            yield from layer.walk()

    @property
    def is_graph(self) -> bool:
        """Return True when a layer names its inputs or output (a graph, not a plain stack of layers)."""
        return any(layer.inputs or layer.output for layer in self.layers)

    def require_stack(self, what: str) -> Model:
        """Return self if the model is a plain stack of layers; else raise UnsupportedError: `what` can't run it."""
        if self.is_graph:
            kinds = sorted({layer.type for layer in self.layers if layer.inputs or layer.output})
            raise UnsupportedError(f"{self.name}: {what} takes a plain stack of layers, and this model is a graph "
                                   f"(named paths between its {', '.join(kinds)} layers, such as a WaveNet's); "
                                   f"run it on the reference, C, torch or ONNX Runtime engine.")
        return self

    @property
    def params(self) -> list:
        """Return the knob parameters (ir.knobs.Knob: index, name, minimum, maximum, default) in input order.

        From ``metadata["params"]`` when the file names them, else ``param1``, ``param2``, ... with the
        range 0..1 and the middle as default; empty for a model without knob inputs.
        """
        from .knobs import knobs
        return knobs(self)

    def __call__(self, audio, sample_rate=None, engine: str = "reference", **knobs):
        """Return the processed audio (as many samples as given, the model's latency removed).

        ``audio`` is mono (n,) at the model's rate; knob values are keywords (``gain=0.5``), the others
        at their defaults. ``engine`` is any of tinyrt.backends.ENGINES ("reference", "c", ...).
        """
        if _AUDIO_CALL is None:  # only when tinyrt.backends was never imported (it is, with the tinyrt package)
            raise ModelError("calling a model needs tinyrt.backends; import tinyrt first.")
        return _AUDIO_CALL(self, audio, sample_rate, engine, knobs)

    @property
    def n_params(self) -> int:
        """Return the number of weight values."""
        return sum(w.size for layer in self.walk() for w in layer.weights.values())

    @property
    def weight_bytes(self) -> int:
        """Return the size of all weights stored as float32."""
        return 4 * self.n_params

    @property
    def state_floats(self) -> int:
        """Return the number of floats of streaming state (recurrent and conv history)."""
        return sum(state_floats(layer.type, layer.params) for layer in self.walk())

    def validate(self) -> Model:
        """Return self after checking every shape and weight; raise ModelError naming the problem."""
        from .validate import validate
        validate(self)
        return self

    def save(self, path) -> Path:
        """Write the model to a `.tinyrt` file and return its path."""
        self.validate()
        path = Path(path)
        weights = {}
        doc = {
            "format": "tinyrt",
            "format_version": FORMAT_VERSION if self.is_graph else 1,
            "name": self.name,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "block_size": self.block_size,
            "sample_rate": self.sample_rate,
            "metadata": self.metadata,
            "layers": [_layer_to_json(layer, str(i), weights) for i, layer in enumerate(self.layers)],
        }
        try:  # serialise everything before the file is touched
            text = json.dumps(doc, indent=1, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{self.name}: the metadata cannot be saved as JSON ({exc}).") from None
        buf = io.BytesIO()
        np.savez(buf, **weights)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("model.json", text)
            zf.writestr("weights.npz", buf.getvalue())
        return write_bytes(path, archive.getvalue(), "model file")

    @classmethod
    def load(cls, path) -> Model:
        """Read and validate a `.tinyrt` file."""
        return load(path)

    def reference(self):
        """Return a NumPy reference runner (float64) for this model."""
        from .reference import ReferenceRunner
        return ReferenceRunner(self)

    def summary(self) -> str:
        """Return a human-readable table of the layers."""
        lines = [f"{self.name}: {self.input_size} -> {self.output_size} per frame, "
                 f"block {self.block_size}, sample rate {self.sample_rate or 'any'}, "
                 f"{self.n_params} parameters ({self.weight_bytes} bytes), "
                 f"{self.state_floats} state floats"]
        if self.params:
            lines.append("knobs: " + ", ".join(f"{k.index}: {k.name} {k.minimum:g}..{k.maximum:g} (default "
                                               f"{k.default:g})" for k in self.params))
        for i, layer in enumerate(self.layers):
            lines.extend(_summary_lines(layer, str(i), 1))
        return "\n".join(lines)


def _summary_lines(layer: Layer, path: str, depth: int) -> list:
    p = ", ".join(f"{k}={v}" for k, v in layer.params.items())
    label = f" '{layer.name}'" if layer.name else ""
    arrows = (f" <- {', '.join(layer.inputs)}" if layer.inputs else "") + \
        (f" -> {layer.output}" if layer.output else "")
    out = [f"{'  ' * depth}{path}: {layer.type}{label} ({p}){arrows}"]
    for j, sub in enumerate(layer.layers):
        out.extend(_summary_lines(sub, f"{path}.{j}", depth + 1))
    return out


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _layer_to_json(layer: Layer, path: str, weights: dict) -> dict:
    for key, w in layer.weights.items():
        weights[f"{path}.{key}"] = np.asarray(w, dtype=np.float32)
    out = {"type": layer.type, "name": layer.name, "params": layer.params,
           "weights": sorted(layer.weights)}
    if layer.layers:
        out["layers"] = [_layer_to_json(s, f"{path}.{j}", weights) for j, s in enumerate(layer.layers)]
    if layer.inputs:
        out["inputs"] = list(layer.inputs)
    if layer.output:
        out["output"] = layer.output
    return out


def _layer_from_json(doc, path: str, weights, where: str) -> Layer:
    if not isinstance(doc, dict) or "type" not in doc:
        raise FormatError(f"{where}: layer {path} is not an object with a 'type' field.")
    names = doc.get("weights", [])
    missing = [n for n in names if f"{path}.{n}" not in weights]
    if missing:
        raise FormatError(f"{where}: layer {path} lists weight '{missing[0]}' that weights.npz does not contain.")
    subs = doc.get("layers", [])
    return Layer(
        type=str(doc["type"]),
        name=str(doc.get("name", "")),
        params=dict(doc.get("params", {})),
        weights={n: weights[f"{path}.{n}"] for n in names},
        layers=[_layer_from_json(s, f"{path}.{j}", weights, where) for j, s in enumerate(subs)],
        inputs=_names(doc.get("inputs", []), path, where),
        output=_names([doc.get("output", "")], path, where)[0],
    )


def _names(value, path: str, where: str) -> list:
    """Return a layer's tensor names from model.json, refusing anything but a short list of strings."""
    if not isinstance(value, list) or len(value) > 64 or not all(isinstance(v, str) and len(v) <= 200 for v in value):
        raise FormatError(f"{where}: layer {path} must name its inputs and output with strings (at most 64 of "
                          f"at most 200 characters).")
    return value


def _whole(value, key: str, where: str) -> int:
    """Return value as an int, refusing a fraction, a string or a bool instead of silently truncating it."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value)
            or value != int(value)):
        raise FormatError(f"{where}: model.json field '{key}' must be a whole number, got {value!r}.")
    return int(value)


def load(path) -> Model:
    """Read a `.tinyrt` file, check it, and return the Model."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise FormatError(f"{where}: no such model file.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "model.json" not in names or "weights.npz" not in names:
                raise FormatError(f"{where}: not a .tinyrt model (model.json or weights.npz is missing).")
            doc = loads_json(read_member(zf, "model.json", limit("json_bytes"), where), f"{where}: model.json")
            weights = load_npz(read_member(zf, "weights.npz", limit("archive_bytes"), where), f"{where}: weights.npz")
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise FormatError(f"{where}: not a .tinyrt model ({exc}).") from None
    except (ValueError, OSError) as exc:
        raise FormatError(f"{where}: weights.npz is unreadable ({exc}).") from None
    if not isinstance(doc, dict) or doc.get("format") != "tinyrt":
        raise FormatError(f"{where}: model.json does not describe a tinyrt model.")
    version = doc.get("format_version")
    if not isinstance(version, int):
        raise FormatError(f"{where}: model.json has no integer format_version.")
    if version > FORMAT_VERSION:
        raise FormatError(f"{where}: model format version {version} is newer than this tinyrt "
                          f"reads ({FORMAT_VERSION}); upgrade tinyrt.")
    try:
        model = Model(
            layers=[_layer_from_json(d, str(i), weights, where) for i, d in enumerate(doc["layers"])],
            input_size=_whole(doc["input_size"], "input_size", where),
            block_size=_whole(doc.get("block_size", 1), "block_size", where),
            sample_rate=None if doc.get("sample_rate") is None else float(doc["sample_rate"]),
            name=str(doc.get("name", path.stem)),
            metadata=dict(doc.get("metadata") or {}),
        )
    except KeyError as exc:
        raise FormatError(f"{where}: model.json lacks the field {exc}.") from None
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: model.json has a field of the wrong type ({exc}).") from None
    try:
        model.validate()
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from None
    declared = doc.get("output_size")
    if declared is not None and declared != model.output_size:
        raise ModelError(f"{where}: output_size says {declared} but the layers produce {model.output_size}.")
    return model

