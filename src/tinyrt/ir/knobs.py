"""Knob parameters of a model: named, ranged control inputs fed beside the audio in every frame.

A model whose frame holds ``block_size * (1 + n_knobs)`` values (each sample: the audio, then one value
per knob) and one output per sample is an effect with ``n_knobs`` knobs, like the conditioned captures
of NeuralPi, TS-M1N3 and AIDA-X (a gain or a tone knob fed to the network as an extra input).

Their home in the IR is ``model.metadata["params"]``: a list, in input order, of
``{"name", "min", "max", "default"}`` (each field optional). ``knobs(model)`` returns the full,
normalised list: a name from the file when it gives one, else ``param1``, ``param2``, ...; the range
0..1 unless given; the default given, else the middle of the range. ``check(model)`` refuses a list
that does not fit the model (wrong count, a name that is not a C identifier or repeats, a range that
is not finite and increasing, a default outside it). scikit-learn models (``metadata["classic"]``)
have features, not knobs.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import InputError, ModelError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")


@dataclass(frozen=True)
class Knob:
    """One knob: its input index (0 = the first value after the audio), name, range and default."""

    index: int
    name: str
    minimum: float
    maximum: float
    default: float

    def to_json(self) -> dict:
        """Return the knob in the metadata format: {"name", "min", "max", "default"}."""
        return {"name": self.name, "min": self.minimum, "max": self.maximum, "default": self.default}

    def describe(self) -> str:
        """Return "gain 0..1" for messages."""
        return f"{self.name} {self.minimum:g}..{self.maximum:g}"


def n_knobs(model) -> int:
    """Return how many knob inputs the model has: the values per sample after the audio, for an effect model."""
    if model.block_size < 1 or model.input_size % model.block_size or "classic" in model.metadata:
        return 0
    try:
        mono_out = model.output_size == model.block_size
    except (AttributeError, KeyError, TypeError, IndexError):
        return 0
    return model.input_size // model.block_size - 1 if mono_out else 0


def _number(spec: dict, key: str, fallback: float, where: str) -> float:
    value = spec.get(key, fallback)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError(f"{where}: '{key}' must be a number, got {value!r}.")
    return float(value)


def knobs(model) -> list:
    """Return the model's knobs (Knob) in input order, normalised from metadata["params"]."""
    n = n_knobs(model)
    given = model.metadata.get("params")
    given = given if isinstance(given, list) else []
    out = []
    for j in range(n):
        spec = given[j] if j < len(given) else {}
        if isinstance(spec, str):
            spec = {"name": spec}
        where = f"{model.name}: knob {j + 1} in metadata 'params'"
        if not isinstance(spec, dict):
            raise ModelError(f"{where} must be an object with name, min, max and default, got {spec!r}.")
        lo, hi = _number(spec, "min", 0.0, where), _number(spec, "max", 1.0, where)
        default = _number(spec, "default", (lo + hi) / 2 if math.isfinite(lo + hi) else 0.0, where)
        name = spec.get("name", f"param{j + 1}")
        out.append(Knob(j, name if isinstance(name, str) else repr(name), lo, hi, default))
    return out


def check(model) -> None:
    """Raise ModelError in one sentence when metadata["params"] does not describe the model's knobs."""
    given = model.metadata.get("params")
    if given is None:
        return
    n = n_knobs(model)
    if not isinstance(given, list):
        raise ModelError(f"{model.name}: metadata 'params' must be a list of knobs, got {type(given).__name__}.")
    if len(given) != n:
        raise ModelError(f"{model.name}: metadata 'params' lists {len(given)} knob(s) but the model reads {n} "
                         f"knob value(s) per sample after the audio; give one entry per knob input.")
    seen = set()
    for k in knobs(model):
        where = f"{model.name}: knob {k.index + 1} ({k.name!r})"
        if not _NAME.match(k.name):
            raise ModelError(f"{where}: a knob name must be a C identifier (letters, digits and _, not starting "
                             f"with a digit, at most 48 characters).")
        if k.name.lower() in seen:
            raise ModelError(f"{where}: two knobs are named {k.name!r}; give each knob its own name.")
        seen.add(k.name.lower())
        if not (math.isfinite(k.minimum) and math.isfinite(k.maximum) and k.minimum < k.maximum):
            raise ModelError(f"{where}: the range {k.minimum:g}..{k.maximum:g} must be finite and increasing.")
        if not (math.isfinite(k.default) and k.minimum <= k.default <= k.maximum):
            raise ModelError(f"{where}: the default {k.default:g} is outside its range "
                             f"{k.minimum:g}..{k.maximum:g}.")


def safe_name(text: str, index: int) -> str:
    """Return a knob name made from free text (a file's input name): a C identifier, else param<index+1>."""
    ident = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", str(text))).strip("_")[:48].lower()
    return ident if ident and not ident[0].isdigit() else f"param{index + 1}"


def listing(model) -> str:
    """Return "gain 0..1, tone 0..1" for messages."""
    return ", ".join(k.describe() for k in knobs(model))


def resolve(model, values: dict, flag: str = "") -> dict:
    """Return {knob index: value} for {name: value}, refusing an unknown name or a value out of range.

    ``flag`` ("--param") makes the sentence speak of the command line option instead of keywords.
    """
    ks = knobs(model)
    by_name = {k.name: k for k in ks}
    how = f"{flag} NAME=VALUE" if flag else "keywords like name=value"
    out = {}
    for name, value in values.items():
        if not ks:
            raise InputError(f"{model.name} has no knobs, so it takes no {flag or 'knob'} values (got {name!r}).")
        k = by_name.get(name)
        if k is None:
            raise InputError(f"{model.name} has no knob {name!r}; its knobs are {listing(model)} "
                             f"(set them with {how}).")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(f"the value of knob {name} must be a number, got {value!r}.") from None
        if not (math.isfinite(v) and k.minimum <= v <= k.maximum):
            raise InputError(f"knob {name} of {model.name} takes {k.minimum:g}..{k.maximum:g}, got {value!r}; "
                             f"its knobs are {listing(model)}.")
        out[k.index] = v
    return out
