"""Training configuration: a TOML file with [data], [model], [loss] and [train] tables.

Every key has a default except the data paths; unknown keys and wrong types are refused with
one sentence naming the table and key, so a typo never trains the wrong model for an hour.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import FormatError, InputError


@dataclass
class DataConfig:
    """Where the paired audio comes from and how it is split (see ``tinyrt.data.load_pairs``)."""

    kind: str = "fragments"          # "fragments" (one long clean/processed pair) or "notes" (paired note files);
    #                                  "builtin" / "captures": one pedal at several knob settings (train.conditioned)
    clean: str = ""                  # fragments: the clean track
    target: str = ""                 # fragments: the processed track
    root: str = ""                   # notes: the dataset root (Clean/ beside <Effect>/ trees)
    effect: str = ""                 # notes: the effect folder name
    fragment_seconds: float = 1.0
    silence_db: float = -50.0
    valid: float = 0.15
    test: float = 0.15
    builtin: str = ""                # builtin: the built-in pedal (overdrive, distortion, fuzz)
    knobs: dict = field(default_factory=dict)       # builtin: {knob: [values]}, every combination is trained
    holdout: list = field(default_factory=list)     # builtin: [{knob: value}] settings measured, never trained
    seconds_per_setting: float = 20.0                # builtin: seconds of synthetic guitar per setting
    captures: list = field(default_factory=list)    # captures: [{clean, target, params = {knob: value}, holdout}]


@dataclass
class ModelConfig:
    """The effect model: recurrent cell, dense head, optional input skip, model block size."""

    cell: str = "lstm"               # "lstm" or "gru"
    hidden_size: int = 16
    num_layers: int = 1
    block_size: int = 1              # audio samples in and out per step (1 or 16 in the Bela study)
    skip: bool = True                # add the input to the output: the network learns the difference


@dataclass
class LossConfig:
    """The training loss: weighted ESR (pre-emphasised), DC and optional multi-resolution STFT terms."""

    esr: float = 0.75
    dc: float = 0.25
    stft: float = 0.0
    pre_emphasis: float = 0.85       # first-order high-pass y[n] = x[n] - a x[n-1] before the ESR


@dataclass
class TrainConfig:
    """The training schedule: truncated backprop through time, Adam, LR schedule, early stop.

    ``lr_schedule`` "budget" decays the LR along a half cosine from learning_rate to lr_min over the
    time budget (max_minutes), step by step, so every model uses its whole budget whatever its epoch
    time (a block-16 epoch is ~10x shorter than a block-1 one); "plateau" multiplies it by lr_factor
    after lr_patience epochs without validation improvement, never below lr_min; "auto" is "budget"
    when max_minutes is set, else "plateau". Early stop applies to "plateau" only.
    """

    epochs: int = 200
    max_minutes: float = 0.0         # stop after this much training time (0: no limit)
    budget_clock: str = "wall"       # max_minutes of "wall" clock time, or this process's "cpu" time (shared machines)
    batch_size: int = 16
    segment_seconds: float = 1.0     # training sequences are cut to this length
    tbptt: int = 2048                # samples per truncated-BPTT step (one optimiser step each)
    warmup: int = 1000               # samples run at the start of each sequence without training on them
    learning_rate: float = 5e-3
    lr_schedule: str = "auto"        # "budget" (cosine over max_minutes), "plateau", or "auto" (see above)
    lr_min: float = 1e-5             # the LR never goes below this
    lr_patience: int = 5             # plateau: epochs without improvement before the LR is multiplied by lr_factor
    lr_factor: float = 0.5
    early_stop: int = 25             # plateau: epochs without validation improvement before training stops
    threads: int = 1
    grad_clip: float = 1.0


@dataclass
class Config:
    """A whole training run: name, sample rate, seed and the four tables."""

    name: str = "effect"
    sample_rate: int = 48000
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    base: str = "."                  # folder relative data paths are resolved against

    def to_dict(self) -> dict:
        """Return the configuration as plain nested dicts (JSON/TOML-ready)."""
        return asdict(self)

    def to_toml(self) -> str:
        """Return the configuration as TOML text that load_config reads back."""
        d = self.to_dict()
        d.pop("base")
        top = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
        tables = [f"\n[{k}]\n" + "\n".join(f"{kk} = {_toml_value(vv)}" for kk, vv in v.items())
                  for k, v in d.items() if isinstance(v, dict)]
        return "\n".join(top) + "\n" + "\n".join(tables) + "\n"


_TABLES = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig, "train": TrainConfig}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def _coerce(where: str, key: str, value, default):
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}.")
    return value


def _build(cls, doc: dict, where: str):
    names = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in doc.items():
        if key not in names or key in _TABLES or key == "base":
            known = ", ".join(n for n in names if n not in _TABLES and n != "base")
            raise InputError(f"{where}: unknown key '{key}'; known keys: {known}.")
        values[key] = _coerce(where, key, value, getattr(cls(), key))
    return cls(**values)


def config_from_dict(doc: dict, base=".", where: str = "config") -> Config:
    """Return a checked Config from nested dicts (the parsed TOML)."""
    doc = dict(doc)
    tables = {}
    for name, cls in _TABLES.items():
        sub = doc.pop(name, {})
        if not isinstance(sub, dict):
            raise InputError(f"{where}: '{name}' must be a table ([{name}]).")
        if name == "data" and "kind" not in sub:   # builtin = "..." or [[data.captures]] name their kind
            sub = {**sub, "kind": "builtin" if "builtin" in sub else "captures" if "captures" in sub else "fragments"}
        tables[name] = _build(cls, sub, f"{where} [{name}]")
    cfg = _build(Config, doc, where)
    for name, value in tables.items():
        setattr(cfg, name, value)
    cfg.base = str(base)
    check(cfg, where)
    return cfg


def load_config(path) -> Config:
    """Return the Config read from a TOML file; relative data paths resolve against its folder."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such configuration file.")
    from ..files import _depth, limit
    if path.stat().st_size > limit("json_bytes"):
        raise FormatError(f"{path}: the configuration is larger than the limit of {limit('json_bytes')} bytes.")
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not valid TOML ({exc}).") from None
    except RecursionError:
        raise FormatError(f"{path}: the TOML nests deeper than {limit('json_depth')} levels.") from None
    if _depth(doc) > limit("json_depth"):
        raise FormatError(f"{path}: the TOML nests deeper than {limit('json_depth')} levels.")
    return config_from_dict(doc, base=path.resolve().parent, where=str(path))


NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


def check(cfg: Config, where: str = "config") -> None:
    """Raise InputError naming the first value that cannot train."""
    m, t, d, lo = cfg.model, cfg.train, cfg.data, cfg.loss
    rules = [
        (m.cell in ("lstm", "gru"), f"[model] cell must be 'lstm' or 'gru', got '{m.cell}'"),
        (1 <= m.hidden_size <= 1024, f"[model] hidden_size must be 1..1024, got {m.hidden_size}"),
        (1 <= m.num_layers <= 8, f"[model] num_layers must be 1..8, got {m.num_layers}"),
        (1 <= m.block_size <= 4096, f"[model] block_size must be 1..4096, got {m.block_size}"),
        (8000 <= cfg.sample_rate <= 384000, f"sample_rate must be 8000..384000 Hz, got {cfg.sample_rate}"),
        (d.kind in ("fragments", "notes", "builtin", "captures"),
         f"[data] kind must be 'fragments', 'notes', 'builtin' or 'captures', got '{d.kind}'"),
        (d.kind != "builtin" or d.builtin, "[data] kind 'builtin' needs 'builtin' (the pedal) and 'knobs'"),
        (d.kind != "captures" or d.captures, "[data] kind 'captures' needs [[data.captures]] entries"),
        (d.kind not in ("builtin", "captures") or m.block_size == 1,
         "[model] block_size must be 1 for a model with knob inputs"),
        (0 < d.seconds_per_setting <= 600, "[data] seconds_per_setting must be more than 0 and at most 600"),
        (d.kind != "fragments" or (d.clean and d.target), "[data] kind 'fragments' needs 'clean' and 'target' files"),
        (d.kind != "notes" or (d.root and d.effect), "[data] kind 'notes' needs 'root' and 'effect'"),
        (0 <= d.valid < 1 and 0 <= d.test < 1 and d.valid + d.test < 1,
         "[data] valid and test are fractions that must add up to less than 1"),
        (d.fragment_seconds > 0, "[data] fragment_seconds must be positive"),
        (t.epochs >= 1, "[train] epochs must be at least 1"),
        (t.batch_size >= 1, "[train] batch_size must be at least 1"),
        (t.tbptt >= m.block_size, "[train] tbptt must be at least one model block"),
        (t.warmup >= 0, "[train] warmup must be 0 or more samples"),
        (t.segment_seconds * cfg.sample_rate > t.warmup + t.tbptt,
         "[train] segment_seconds must be longer than warmup + tbptt"),
        (t.learning_rate > 0, "[train] learning_rate must be positive"),
        (t.budget_clock in ("wall", "cpu"), f"[train] budget_clock must be 'wall' or 'cpu', got '{t.budget_clock}'"),
        (t.lr_schedule in ("auto", "budget", "plateau"),
         f"[train] lr_schedule must be 'auto', 'budget' or 'plateau', got '{t.lr_schedule}'"),
        (0 <= t.lr_min <= t.learning_rate, "[train] lr_min must be between 0 and learning_rate"),
        (0 < t.lr_factor < 1, "[train] lr_factor must be between 0 and 1"),
        (t.threads >= 1, "[train] threads must be at least 1"),
        (t.max_minutes >= 0, "[train] max_minutes must be 0 (no limit) or positive"),
        (min(lo.esr, lo.dc, lo.stft) >= 0 and lo.esr + lo.dc + lo.stft > 0,
         "[loss] weights must be non-negative and not all zero"),
        (0 <= lo.pre_emphasis < 1, "[loss] pre_emphasis must be in [0, 1)"),
        (t.grad_clip >= 0, "[train] grad_clip must be 0 (no clipping) or positive"),
        (t.early_stop >= 1, "[train] early_stop must be at least 1 epoch"),
        (t.lr_patience >= 0, "[train] lr_patience must be 0 or more epochs"),
        (t.threads <= 256, f"[train] threads must be at most 256, got {t.threads}"),
        (t.epochs <= 1_000_000, f"[train] epochs must be at most 1000000, got {t.epochs}"),
        (t.batch_size <= 4096, f"[train] batch_size must be at most 4096, got {t.batch_size}"),
        (t.tbptt <= 1 << 20, f"[train] tbptt must be at most {1 << 20} samples, got {t.tbptt}"),
        (t.segment_seconds <= 600, "[train] segment_seconds must be at most 600"),
        (d.fragment_seconds <= 600, "[data] fragment_seconds must be at most 600"),
        (NAME.fullmatch(cfg.name) is not None,
         f"name must be letters, digits, '_', '-' or '.', not starting with '.', at most 64 characters (it names "
         f"files), got {cfg.name!r}"),
    ]
    for table, obj in (("", cfg), ("[data] ", d), ("[model] ", m), ("[loss] ", lo), ("[train] ", t)):
        for f in fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"{where}: {table}{f.name} must be a finite number, got {value!r}.")
    for ok, msg in rules:
        if not ok:
            raise InputError(f"{where}: {msg}.")
