"""Training data for one model with knob inputs, from captures of one pedal at several knob settings.

Each capture is the same kind of clean/processed pair as for an ordinary model, recorded with the
pedal's knobs at one setting. The model's input frames are ``[audio, knob1, knob2, ...]``: the
knob values are constant over a capture. Two ways to give the captures, in the ``[data]`` table:

- built in (``builtin = "overdrive"``, also ``distortion`` or ``fuzz``): ``knobs = {drive = [0.2,
  0.5, 0.8], tone = [0.3, 0.7]}`` trains on every combination; ``holdout = [{drive = 0.35, tone =
  0.5}]`` are settings never trained on, only measured; ``seconds_per_setting`` of tinyrt's
  synthetic guitar (the same performance for every setting) go through the pedal at each setting.
- user captures (``[[data.captures]]`` entries): ``clean``, ``target`` (paths, relative to the
  config file) and ``params = {drive = 0.3, tone = 0.7}``; ``holdout = true`` keeps a capture out of
  training. Every capture names the same knobs; a knob's range is 0..1, widened to the values
  captured when they leave it, and its default is the middle of the range.

Each trained setting's capture is cut into ``fragment_seconds`` fragments in contiguous regions and
split into train/valid/test on its own, so every setting is in every split; held-out captures are
whole. ``Conditioned.params`` is what the trained model stores as ``metadata["params"]``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.pairs import Dataset, Pair, fragments
from ..errors import InputError

KINDS = ("builtin", "captures")
REGIONS = 10


@dataclass
class Setting:
    """One knob setting: its values (in ``Conditioned.params`` order), label and whether it is held out."""

    values: tuple
    label: str
    holdout: bool = False
    train: list = field(default_factory=list)
    valid: list = field(default_factory=list)
    test: list = field(default_factory=list)
    whole: list = field(default_factory=list)      # held-out settings: the whole capture as pairs


@dataclass
class Conditioned:
    """Knob-conditioned training data: the knobs, every setting and the pooled splits."""

    params: list
    settings: list
    description: str

    @property
    def names(self) -> list:
        """Return the knob names in input order."""
        return [p["name"] for p in self.params]

    def splits(self) -> tuple:
        """Return (train, valid, test) pooled over the trained settings."""
        trained = [s for s in self.settings if not s.holdout]
        return tuple([p for s in trained for p in getattr(s, part)] for part in ("train", "valid", "test"))

    def holdout(self) -> list:
        """Return the held-out settings."""
        return [s for s in self.settings if s.holdout]

    def summary(self) -> str:
        """Return a short report of the knobs and settings."""
        n_train = sum(not s.holdout for s in self.settings)
        return (f"{self.description}: knobs {', '.join(self.names)}; {n_train} trained setting(s), "
                f"{len(self.settings) - n_train} held out")


def label(names, values) -> str:
    """Return 'drive=0.3,tone=0.7' for a setting."""
    return ",".join(f"{n}={v:g}" for n, v in zip(names, values))


def with_knobs(pair: Pair, values) -> Pair:
    """Return the pair with its clean audio as frames [audio, knob values...] (float32, (n, 1 + knobs))."""
    clean = np.asarray(pair.clean, np.float32).reshape(-1)
    frames = np.empty((len(clean), 1 + len(values)), np.float32)
    frames[:, 0] = clean
    frames[:, 1:] = np.asarray(values, np.float32)
    return Pair(pair.name, pair.group, frames, np.asarray(pair.target, np.float32))


def _cut(clean, target, seconds: float, sample_rate: int, name: str) -> Dataset:
    length = int(round(seconds * sample_rate))
    count = len(clean) // length
    if count == 0:
        raise InputError(f"the capture {name} is shorter than one {seconds:g} s fragment; use shorter fragments.")
    regions = min(REGIONS, count)
    pairs = [Pair(f"{name}-{i:04d}", f"{name}/region-{i * regions // count}", clean[i * length:(i + 1) * length],
                  target[i * length:(i + 1) * length]) for i in range(count)]
    return Dataset(pairs, sample_rate, description=name)


def _fill(setting: Setting, dataset: Dataset, cfg) -> None:
    pairs = [with_knobs(p, setting.values) for p in dataset.pairs]
    if setting.holdout:
        setting.whole = pairs
        return
    d = cfg.data
    ds = Dataset(pairs, dataset.sample_rate, description=dataset.description)
    setting.train, setting.valid, setting.test = ds.split(valid=d.valid, test=d.test, seed=cfg.seed)


def _builtin(cfg) -> Conditioned:
    from ..data.effects import EFFECTS, KNOBS, apply_effect
    from ..data.synth import guitar_track
    d = cfg.data
    if d.builtin not in EFFECTS:
        raise InputError(f"[data] builtin {d.builtin!r} is not a built-in pedal; choose one of {', '.join(EFFECTS)}.")
    known = {k["name"]: k for k in KNOBS}
    names = list(d.knobs)
    if not names:
        raise InputError("[data] knobs must name at least one knob of the pedal with its values, e.g. "
                         "knobs = {drive = [0.2, 0.5, 0.8]}.")
    for n in names:
        values = d.knobs[n]
        if n not in known:
            raise InputError(f"[data] knobs: the {d.builtin} pedal has no knob {n!r}; its knobs are "
                             f"{', '.join(known)}.")
        if not isinstance(values, list) or not values or not all(_number(v) and 0 <= v <= 1 for v in values):
            raise InputError(f"[data] knobs: {n} must be a list of values from 0 to 1, got {values!r}.")
    held = [_holdout_values(h, names) for h in d.holdout]
    clean = guitar_track(d.seconds_per_setting, cfg.sample_rate, seed=cfg.seed)
    grid = [tuple(float(v) for v in combo) for combo in itertools.product(*(d.knobs[n] for n in names))]
    settings = [Setting(v, label(names, v)) for v in dict.fromkeys(grid) if v not in held]
    if not settings:
        raise InputError("[data] every knob setting is held out; leave at least one to train on.")
    settings += [Setting(v, label(names, v), holdout=True) for v in dict.fromkeys(held)]
    for s in settings:
        target = apply_effect(d.builtin, clean, cfg.sample_rate, **dict(zip(names, s.values)))
        _fill(s, _cut(clean, target, d.fragment_seconds, cfg.sample_rate, s.label), cfg)
    params = [{**known[n], "name": n} for n in names]
    return Conditioned(params, settings, f"built-in {d.builtin}, {d.seconds_per_setting:g} s per setting")


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _holdout_values(entry, names) -> tuple:
    if not isinstance(entry, dict) or set(entry) != set(names) or not all(_number(entry[n]) for n in names):
        raise InputError(f"[data] holdout entries must give every knob ({', '.join(names)}) a number, got {entry!r}.")
    return tuple(float(entry[n]) for n in names)


def _captures(cfg) -> Conditioned:
    d = cfg.data
    if not d.captures:
        raise InputError("[data] captures is empty; give [[data.captures]] entries with clean, target and params.")
    names = None
    entries = []
    for i, entry in enumerate(d.captures):
        where = f"[data] captures entry {i + 1}"
        if not isinstance(entry, dict):
            raise InputError(f"{where} must be a table with clean, target and params.")
        unknown = sorted(set(entry) - {"clean", "target", "params", "holdout"})
        if unknown:
            raise InputError(f"{where}: unknown key '{unknown[0]}'; known keys: clean, target, params, holdout.")
        params = entry.get("params")
        if not isinstance(params, dict) or not params or not all(_number(v) for v in params.values()):
            raise InputError(f"{where}: params must be a table of knob values, e.g. params = {{drive = 0.3}}.")
        if names is None:
            names = list(params)
        elif set(params) != set(names):
            raise InputError(f"{where}: params name {', '.join(sorted(params))} but the first capture names "
                             f"{', '.join(names)}; every capture sets the same knobs.")
        for key in ("clean", "target"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise InputError(f"{where}: '{key}' must be the path of a WAV file.")
        if not isinstance(entry.get("holdout", False), bool):
            raise InputError(f"{where}: holdout must be true or false.")
        entries.append((entry, tuple(float(params[n]) for n in names)))
    settings = []
    for entry, values in entries:
        paths = [Path(entry[k]).expanduser() for k in ("clean", "target")]
        paths = [p if p.is_absolute() else Path(cfg.base) / p for p in paths]
        ds = fragments(paths[0], paths[1], seconds=d.fragment_seconds, sample_rate=cfg.sample_rate,
                       silence_db=d.silence_db, regions=REGIONS)
        s = Setting(values, label(names, values), holdout=entry.get("holdout", False))
        for p in ds.pairs:
            p.group = f"{s.label}/{p.group}"
        _fill(s, ds, cfg)
        settings.append(s)
    if all(s.holdout for s in settings):
        raise InputError("[data] every capture is held out; leave at least one to train on.")
    params = []
    for j, n in enumerate(names):
        seen = [s.values[j] for s in settings]
        lo, hi = min(0.0, *seen), max(1.0, *seen)
        params.append({"name": n, "min": lo, "max": hi, "default": (lo + hi) / 2})
    return Conditioned(params, settings, f"{len(settings)} captures")


def load_conditioned(cfg) -> Conditioned:
    """Return the knob-conditioned data of a config whose [data] kind is 'builtin' or 'captures'."""
    return _builtin(cfg) if cfg.data.kind == "builtin" else _captures(cfg)
