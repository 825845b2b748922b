"""The classifier pipeline's configuration: a TOML file with [data], [features], [augment], [model], [train],
[classic] and [unknown] tables, every key defaulted, unknown keys and wrong types refused in one sentence
(the effect trainer's style, tinyrt.train.config)."""
from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ...errors import FormatError, InputError
from ..config import NAME


@dataclass
class DataSection:
    """Where the labelled clips come from and how they are split."""

    kind: str = "techniques"      # "techniques" (built-in synthesis) or "clips" (a folder per class, or a CSV)
    path: str = ""                # clips: the folder or CSV file
    per_class: int = 40           # techniques: clips synthesised per technique
    clip_seconds: float = 0.6     # techniques: length of each clip
    techniques: list = field(default_factory=list)  # techniques: a subset of the classes (empty: all)
    min_per_class: int = 4        # fewer clips than this in a class is refused
    test: float = 0.25            # fraction of each class's clips held out for the test set


@dataclass
class FeatureSection:
    """The windows and their log-mel frames (the device computes exactly these)."""

    windows: str = "onset"        # "onset" (one window from each onset) or "sliding" (windows every hop_ms)
    window_ms: float = 300.0
    pre_ms: float = 10.0          # onset windows start this long before the onset
    hop_ms: float = 100.0         # sliding windows: the step between windows
    n_fft: int = 512
    hop: int = 256
    n_mels: int = 32


@dataclass
class AugmentSection:
    """Augmented copies of each training window (0 copies: none) and their ranges."""

    copies: int = 2
    gain_db: float = 6.0          # gain drawn in +-gain_db
    noise_db: float = -50.0       # white noise up to this level (dBFS); -120 or less: none
    shift_ms: float = 15.0        # time shift in +-shift_ms
    pitch_semitones: float = 0.5  # pitch shift (resampling) in +-pitch_semitones
    stretch: float = 0.1          # log-mel time stretch by 1 +- stretch
    mixup: float = 0.2            # mixup alpha (Beta(alpha, alpha) weights; 0: no mixup)


@dataclass
class ModelSection:
    """The CNN: two conv blocks of these channel counts, a square kernel."""

    channels1: int = 8
    channels2: int = 16
    kernel: int = 3


@dataclass
class TrainSection:
    """The CNN's training schedule (Adam)."""

    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 3e-3
    max_minutes: float = 0.0      # stop after this much training time (0: no limit)
    threads: int = 1


@dataclass
class ClassicSection:
    """The scikit-learn models trained on the same features (per-band mean and standard deviation)."""

    forest_trees: int = 30
    forest_depth: int = 10
    mlp_hidden: int = 32
    mlp_iterations: int = 300


@dataclass
class UnknownSection:
    """Below this mean probability of its best class a clip is "unknown"."""

    threshold: float = 0.5


@dataclass
class ClassifyConfig:
    """A whole classifier run."""

    name: str = "techniques"
    sample_rate: int = 16000
    seed: int = 0
    data: DataSection = field(default_factory=DataSection)
    features: FeatureSection = field(default_factory=FeatureSection)
    augment: AugmentSection = field(default_factory=AugmentSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    classic: ClassicSection = field(default_factory=ClassicSection)
    unknown: UnknownSection = field(default_factory=UnknownSection)
    base: str = "."               # folder relative paths resolve against

    def to_dict(self) -> dict:
        """Return the configuration as plain nested dicts."""
        return asdict(self)


_TABLES = {"data": DataSection, "features": FeatureSection, "augment": AugmentSection, "model": ModelSection,
           "train": TrainSection, "classic": ClassicSection, "unknown": UnknownSection}


def _build(cls, doc: dict, where: str):
    defaults, values = cls(), {}
    names = [f.name for f in fields(cls) if f.name not in _TABLES and f.name != "base"]
    for key, value in doc.items():
        if key not in names:
            raise InputError(f"{where}: unknown key '{key}'; known keys: {', '.join(names)}.")
        kind = type(getattr(defaults, key))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InputError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}.")
        if kind is float and not math.isfinite(value):
            raise InputError(f"{where}: '{key}' must be a finite number, got {value!r}.")
        values[key] = value
    return cls(**values)


def config_from_dict(doc: dict, base=".", where: str = "config") -> ClassifyConfig:
    """Return a checked ClassifyConfig from nested dicts (the parsed TOML)."""
    doc = dict(doc)
    tables = {}
    for name, cls in _TABLES.items():
        sub = doc.pop(name, {})
        if not isinstance(sub, dict):
            raise InputError(f"{where}: '{name}' must be a table ([{name}]).")
        tables[name] = _build(cls, sub, f"{where} [{name}]")
    cfg = _build(ClassifyConfig, doc, where)
    for name, value in tables.items():
        setattr(cfg, name, value)
    cfg.base = str(base)
    check(cfg, where)
    return cfg


def load_config(path) -> ClassifyConfig:
    """Return the ClassifyConfig read from a TOML file; a relative [data] path resolves against its folder."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such configuration file.")
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not valid TOML ({exc}).") from None
    return config_from_dict(doc, base=path.resolve().parent, where=str(path))


def check(cfg: ClassifyConfig, where: str = "config") -> None:
    """Raise InputError naming the first value that cannot train."""
    from ...data.techniques import TECHNIQUES
    d, f, a, m, t, c, u = cfg.data, cfg.features, cfg.augment, cfg.model, cfg.train, cfg.classic, cfg.unknown
    bad = [x for x in d.techniques if x not in TECHNIQUES]
    rules = [
        (NAME.fullmatch(cfg.name) is not None, f"name must be letters, digits, '_', '-' or '.' (it names files), "
                                               f"got {cfg.name!r}"),
        (8000 <= cfg.sample_rate <= 192000, f"sample_rate must be 8000..192000 Hz, got {cfg.sample_rate}"),
        (d.kind in ("techniques", "clips"), f"[data] kind must be 'techniques' or 'clips', got '{d.kind}'"),
        (d.kind != "clips" or d.path, "[data] kind 'clips' needs 'path' (a folder per class, or a CSV)"),
        (not bad, f"[data] techniques: {bad[0] if bad else ''!r} is not one of {', '.join(TECHNIQUES)}"),
        (1 <= d.per_class <= 10000, "[data] per_class must be 1..10000"),
        (0.1 <= d.clip_seconds <= 30, "[data] clip_seconds must be 0.1..30"),
        (d.min_per_class >= 2, "[data] min_per_class must be at least 2 (one to train, one to test)"),
        (0 < d.test < 1, "[data] test must be a fraction between 0 and 1"),
        (f.windows in ("onset", "sliding"), f"[features] windows must be 'onset' or 'sliding', got '{f.windows}'"),
        (10 <= f.window_ms <= 5000, "[features] window_ms must be 10..5000"),
        (0 <= f.pre_ms < f.window_ms, "[features] pre_ms must be 0 or more and shorter than window_ms"),
        (f.hop_ms > 0, "[features] hop_ms must be positive"),
        (f.n_fft >= 16 and f.n_fft & (f.n_fft - 1) == 0 and f.n_fft <= 8192,
         "[features] n_fft must be a power of two 16..8192"),
        (1 <= f.hop <= f.n_fft, "[features] hop must be 1..n_fft"),
        (1 <= f.n_mels <= 256, "[features] n_mels must be 1..256"),
        (0 <= a.copies <= 50, "[augment] copies must be 0..50"),
        (min(a.gain_db, a.shift_ms, a.pitch_semitones, a.stretch, a.mixup) >= 0,
         "[augment] gain_db, shift_ms, pitch_semitones, stretch and mixup must not be negative"),
        (a.pitch_semitones <= 12 and a.stretch < 1, "[augment] pitch_semitones must be at most 12, stretch below 1"),
        (1 <= m.channels1 <= 256 and 1 <= m.channels2 <= 256, "[model] channels1 and channels2 must be 1..256"),
        (m.kernel in (1, 3, 5, 7), "[model] kernel must be 1, 3, 5 or 7"),
        (1 <= t.epochs <= 100000, "[train] epochs must be 1..100000"),
        (1 <= t.batch_size <= 4096, "[train] batch_size must be 1..4096"),
        (t.learning_rate > 0, "[train] learning_rate must be positive"),
        (t.max_minutes >= 0, "[train] max_minutes must be 0 (no limit) or positive"),
        (1 <= t.threads <= 256, "[train] threads must be 1..256"),
        (1 <= c.forest_trees <= 1000 and 1 <= c.forest_depth <= 64, "[classic] forest_trees must be 1..1000 and "
                                                                    "forest_depth 1..64"),
        (1 <= c.mlp_hidden <= 1024 and c.mlp_iterations >= 1, "[classic] mlp_hidden must be 1..1024 and "
                                                              "mlp_iterations at least 1"),
        (0 <= u.threshold <= 1, "[unknown] threshold must be in [0, 1]"),
    ]
    for ok, msg in rules:
        if not ok:
            raise InputError(f"{where}: {msg}.")
    spec_window = round(f.window_ms * cfg.sample_rate / 1000)
    if spec_window < f.n_fft:
        raise InputError(f"{where}: [features] window_ms = {f.window_ms:g} is {spec_window} samples, shorter than "
                         f"one FFT frame of n_fft = {f.n_fft}; raise window_ms or lower n_fft.")
    if (spec_window - f.n_fft) // f.hop + 1 < 4 or f.n_mels < 4:
        raise InputError(f"{where}: the CNN needs at least 4 log-mel frames and 4 mel bands per window (two 2x2 "
                         f"poolings); raise window_ms or n_mels, or lower hop.")
