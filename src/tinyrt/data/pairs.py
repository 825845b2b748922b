"""Datasets of clean/processed audio pairs: find them, align, check, resample, cut and split them.

Two layouts of paired recordings:

- notes (``paired_notes``): one file per note, ``<root>/Clean/<Pickup>/<string>-<fret>.wav`` beside
  ``<root>/<Effect>/<Pickup>/...`` as in EGFxSet; each note file is its own source (split group);
- fragments (``fragments``): one long clean track and its processed recording, cut into equal
  fragments; the track is divided into contiguous regions and each region is a split group, so
  validation and test fragments come from parts of the take that training never saw.

Each source pair is read (any rate, resampled to the dataset's), checked (silence, clipping, channel
layout, lengths), aligned (the capture latency removed) and measured (``PairCheck``). Bad data is
refused with one sentence naming the file.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.align import align as align_audio
from ..audio.align import capture_latency
from ..audio.io import read_wav
from ..audio.resample import resample, to_mono
from ..errors import InputError

log = logging.getLogger(__name__)

CLIP_LEVEL = 0.999      # |x| at or above this is full scale
CLIP_RUN = 3            # consecutive full-scale samples that count as clipping (one touching sample does not)
MAX_CLIPPED = 0.01      # refuse a file with more than this fraction of clipped samples
SILENT_DB = -60.0       # refuse a file whose RMS is below this (dBFS)


@dataclass
class Pair:
    """One aligned example: clean input and processed target, float32 mono of the same length."""

    name: str
    group: str
    clean: np.ndarray
    target: np.ndarray


@dataclass
class PairCheck:
    """Measurements of one aligned source pair (a note file, or a whole track before cutting)."""

    name: str
    seconds: float
    latency: int             # samples removed from the start of the target
    gain_db: float           # target RMS over clean RMS
    dc_offset: float         # mean of the target
    clipped_fraction: float  # fraction of target samples in full-scale runs
    clean_peak_db: float
    target_peak_db: float
    latency_method: str = "given"     # how the latency was found: blips, correlation, given (or none: not aligned)
    latency_confidence: float = float("nan")


def _db(value: float) -> float:
    return 20.0 * float(np.log10(max(value, 1e-12)))


def rms_db(x) -> float:
    """Return the RMS level of x in dBFS."""
    x = np.asarray(x, dtype=np.float64)
    return _db(float(np.sqrt(np.mean(x * x)))) if x.size else -240.0


def clipped_fraction(x) -> float:
    """Return the fraction of samples of x lying in runs of CLIP_RUN or more samples at full scale."""
    hot = np.abs(np.asarray(x)) >= CLIP_LEVEL
    if not hot.any():
        return 0.0
    edges = np.diff(np.concatenate(([0], hot.astype(np.int8), [0])))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return float(runs[runs >= CLIP_RUN].sum()) / hot.size


def check_levels(clean: np.ndarray, target: np.ndarray, clean_label: str, target_label: str) -> None:
    """Refuse a silent or clipped clean or target signal with one sentence naming the file."""
    for x, label, what in ((clean, clean_label, "clean"), (target, target_label, "processed")):
        level = rms_db(x)
        if level < SILENT_DB:
            raise InputError(f"{label} is silent ({level:.1f} dBFS RMS); record the {what} signal at a usable level.")
        clipped = clipped_fraction(x)
        if clipped > MAX_CLIPPED:
            raise InputError(f"{label} is clipped: {100 * clipped:.1f} % of its samples are at full scale; "
                             f"record it again with less level.")


def measure(name: str, clean: np.ndarray, target: np.ndarray, latency: int, sample_rate: int) -> PairCheck:
    """Return the PairCheck of an aligned pair."""
    c, t = np.asarray(clean, np.float64), np.asarray(target, np.float64)
    return PairCheck(name=name, seconds=len(c) / sample_rate, latency=int(latency),
                     gain_db=rms_db(t) - rms_db(c), dc_offset=float(t.mean()),
                     clipped_fraction=clipped_fraction(t),
                     clean_peak_db=_db(float(np.abs(c).max())), target_peak_db=_db(float(np.abs(t).max())))


def read_pair(clean_path, target_path, sample_rate: int) -> tuple:
    """Return (clean, target, channels): two files read, checked and mixed to mono float32 at sample_rate."""
    clean_path, target_path = Path(clean_path), Path(target_path)
    (clean, clean_rate), (target, target_rate) = read_wav(clean_path), read_wav(target_path)
    channels = [1 if x.ndim == 1 else x.shape[1] for x in (clean, target)]
    if channels[0] != channels[1]:
        named = [f"{p} is {'mono' if n == 1 else 'stereo' if n == 2 else f'{n}-channel'}"
                 for p, n in ((clean_path, channels[0]), (target_path, channels[1]))]
        raise InputError(f"{named[0]} and {named[1]}; export both in the same channel layout.")
    clean = resample(to_mono(clean), clean_rate, sample_rate)
    target = resample(to_mono(target), target_rate, sample_rate)
    check_levels(clean, target, str(clean_path), str(target_path))
    return clean, target, channels[0]


def align_pair(name: str, clean, target, sample_rate: int, labels: tuple, align: bool = True,
               max_latency: float = 0.1, latency: int | None = None) -> tuple:
    """Return (clean, target, PairCheck): the pair aligned (latency measured unless given; none if not align)."""
    labels = tuple(map(str, labels))
    method, confidence = ("given", float("nan")) if align else ("none", float("nan"))
    if align and latency is None:
        found = capture_latency(clean, target, sample_rate, max_latency, labels=labels)
        latency, method, confidence = found.samples, found.method, found.confidence
    clean, target, latency = align_audio(clean, target, sample_rate, latency=latency if align else 0,
                                         max_latency=max_latency, labels=labels)
    check = measure(name, clean, target, latency, sample_rate)
    check.latency_method, check.latency_confidence = method, float(confidence)
    return clean, target, check


def capture_metadata(checks, sample_rate: int) -> dict | None:
    """Return the capture latency a dataset's checks agree on, as a model's metadata["capture"], or None.

    One latency for every source (a track, or notes given one common latency): {"latency", "method",
    "confidence", "sample_rate"}; None when the sources were not aligned or their latencies differ.
    """
    latencies = {c.latency for c in checks}
    methods = [c.latency_method for c in checks]
    if len(latencies) != 1 or "none" in methods:
        return None
    confidence = [c.latency_confidence for c in checks if np.isfinite(c.latency_confidence)]
    method = max(set(methods), key=methods.count)
    return {"latency": int(latencies.pop()), "method": method,
            "confidence": round(float(min(confidence)), 3) if confidence else None, "sample_rate": float(sample_rate)}


def common_latency(latencies) -> int | None:
    """Return one latency for notes recorded through one chain (lower quartile), or None if they scatter.

    Per-note measurements scatter by a sample around the chain's latency (a tone filter moves the
    correlation peak); removing one sample too many hurts a causal model, one too few does not.
    """
    lat = np.asarray(latencies)
    if len(lat) < 4 or np.percentile(lat, 90) - np.percentile(lat, 10) > 2:
        return None
    return int(np.percentile(lat, 25, method="lower"))


@dataclass
class Dataset:
    """Aligned pairs at one sample rate, with the checks of their sources and notes on what was done."""

    pairs: list
    sample_rate: int
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    description: str = "pairs"

    @property
    def seconds(self) -> float:
        """Return the total duration of the pairs in seconds."""
        return sum(len(p.clean) for p in self.pairs) / self.sample_rate

    @property
    def capture(self) -> dict | None:
        """Return the capture latency every source shares, as stored in a trained model (see capture_metadata)."""
        return capture_metadata(self.checks, self.sample_rate) if self.checks else None

    def groups(self) -> list:
        """Return the split groups in order of first appearance."""
        return list(dict.fromkeys(p.group for p in self.pairs))

    def split(self, valid: float = 0.15, test: float = 0.15, seed: int = 0) -> tuple:
        """Return (train, valid, test) lists of pairs; a group never spans two splits; deterministic per seed."""
        for value, what in ((valid, "valid"), (test, "test")):
            if not 0.0 <= value < 1.0:
                raise InputError(f"the {what} fraction must be in [0, 1), got {value!r}.")
        if valid + test >= 1.0:
            raise InputError(f"valid + test fractions ({valid:g} + {test:g}) leave nothing to train on; "
                             f"make them sum below 1.")
        groups = self.groups()
        needed = 1 + (valid > 0) + (test > 0)
        if len(groups) < needed:
            raise InputError(f"the data has {len(groups)} group(s) ({', '.join(groups)}) but a train/valid/test split "
                             f"needs at least {needed}; give more source files or longer audio.")
        n_valid = max(1, int(np.floor(valid * len(groups) + 0.5))) if valid > 0 else 0
        n_test = max(1, int(np.floor(test * len(groups) + 0.5))) if test > 0 else 0
        while n_valid + n_test > len(groups) - 1:
            if n_valid >= n_test and n_valid > 1:
                n_valid -= 1
            else:
                n_test -= 1
        order = [groups[i] for i in np.random.default_rng(seed).permutation(len(groups))]
        test_groups, valid_groups = set(order[:n_test]), set(order[n_test:n_test + n_valid])
        splits = ([], [], [])
        for p in self.pairs:
            splits[2 if p.group in test_groups else 1 if p.group in valid_groups else 0].append(p)
        return splits

    def summary(self) -> str:
        """Return a short human report: pairs, seconds, latency found, gain, DC, clipping and notes."""
        lines = [f"{self.description}: {len(self.pairs)} pairs, {self.seconds:.1f} s at {self.sample_rate} Hz, "
                 f"{len(self.groups())} split groups"]
        if self.checks:
            lat = np.array([c.latency for c in self.checks])
            ms = 1000.0 / self.sample_rate
            found = (f"{lat[0]} samples ({lat[0] * ms:.2f} ms)" if lat.min() == lat.max() else
                     f"{lat.min()}..{lat.max()} samples (median {int(np.median(lat))}, {np.median(lat) * ms:.2f} ms)")
            gain = np.array([c.gain_db for c in self.checks])
            methods = ", ".join(dict.fromkeys(c.latency_method for c in self.checks))
            lines.append(f"latency found and removed: {found} ({methods})")
            lines.append(f"gain (target/clean RMS): {np.median(gain):+.1f} dB"
                         + (f" ({gain.min():+.1f}..{gain.max():+.1f})" if len(gain) > 1 else ""))
            lines.append(f"target DC offset: up to {max(abs(c.dc_offset) for c in self.checks):.2g}; "
                         f"clipped target samples: up to {100 * max(c.clipped_fraction for c in self.checks):.2f} %")
            lines.append(f"peaks: clean {max(c.clean_peak_db for c in self.checks):.1f} dBFS, "
                         f"target {max(c.target_peak_db for c in self.checks):.1f} dBFS")
        return "\n".join(lines + self.notes)


def _subfolder(root: Path, name: str) -> Path:
    """Return the folder of root whose name matches name case-insensitively."""
    found = sorted(d for d in root.iterdir() if d.is_dir() and d.name.lower() == name.lower())
    if len(found) != 1:
        folders = ", ".join(sorted(d.name for d in root.iterdir() if d.is_dir())) or "none"
        problem = "no" if not found else "several"
        raise InputError(f"{root} has {problem} folder named '{name}' (case-insensitive); folders there: {folders}.")
    return found[0]


def _wav_files(folder: Path) -> dict:
    """Return {relative path in lower case: path} of the WAV files under folder."""
    return {p.relative_to(folder).as_posix().lower(): p for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix.lower() == ".wav"}


def paired_notes(root, effect: str, clean: str = "Clean", sample_rate: int = 48000, align: bool = True,
                 max_latency: float = 0.1, latency: int | None = None) -> Dataset:
    """Return the Dataset of note files under <root>/<effect>/ paired by relative path with <root>/<clean>/."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such dataset folder.")
    clean_dir, effect_dir = _subfolder(root, clean), _subfolder(root, effect)
    if clean_dir == effect_dir:
        raise InputError(f"the effect folder and the clean folder are both {clean_dir}; name the effect to train on.")
    clean_files, effect_files = _wav_files(clean_dir), _wav_files(effect_dir)
    if not effect_files:
        raise InputError(f"{effect_dir} has no .wav files.")
    common = sorted(clean_files.keys() & effect_files.keys())
    if not common:
        example = next(iter(clean_files), "no .wav files")
        raise InputError(f"none of the {len(effect_files)} files in {effect_dir} has a partner at the same relative "
                         f"path in {clean_dir} (e.g. '{next(iter(effect_files))}' vs '{example}'); name the notes "
                         f"the same in both folders.")
    notes = []
    unmatched = [files[k].relative_to(root).as_posix()
                 for files, other in ((effect_files, clean_files), (clean_files, effect_files))
                 for k in sorted(files.keys() - other.keys())]
    if unmatched:
        shown = ", ".join(unmatched[:5]) + (", ..." if len(unmatched) > 5 else "")
        notes.append(f"skipped {len(unmatched)} file(s) without a partner: {shown}")
        log.warning("%s", notes[-1])
    paths = [(clean_files[k], effect_files[k]) for k in common]
    names = [t.relative_to(effect_dir).as_posix() for _, t in paths]
    raw = [read_pair(c, t, sample_rate) for c, t in paths]
    done = [align_pair(n, c, t, sample_rate, p, align, max_latency, latency)
            for n, (c, t, _), p in zip(names, raw, paths)]
    measured = [check.latency for *_, check in done]
    shared = common_latency(measured) if align and latency is None else None
    if shared is not None and set(measured) != {shared}:
        notes.append(f"one latency removed from every note: {shared} samples (per-note measurements "
                     f"{min(measured)}..{max(measured)})")
        first = done
        done = [align_pair(n, c, t, sample_rate, p, True, max_latency, shared)
                for n, (c, t, _), p in zip(names, raw, paths)]
        for (*_, check), (*_, measured_check) in zip(done, first):
            check.latency_method = f"{measured_check.latency_method} (common of {len(done)} notes)"
            check.latency_confidence = measured_check.latency_confidence
    pairs = [Pair(check.name, check.name, c, t) for c, t, check in done]
    checks = [check for *_, check in done]
    mixed = sum(channels > 1 for *_, channels in raw)
    if mixed:
        notes.append(f"{mixed} multi-channel pair(s) mixed to mono")
    return Dataset(pairs, sample_rate, checks, notes, f"notes {effect_dir.name} vs {clean_dir.name} in {root}")


def fragments(clean_path, target_path, seconds: float = 1.0, sample_rate: int = 48000, silence_db: float = -50.0,
              align: bool = True, regions: int = 10, max_latency: float = 0.1, latency: int | None = None) -> Dataset:
    """Return the Dataset of equal fragments of one aligned track pair, grouped into contiguous regions."""
    if seconds <= 0 or regions < 1:
        raise InputError(f"fragments need seconds > 0 and regions >= 1, got seconds={seconds!r}, regions={regions!r}.")
    clean_path, target_path = Path(clean_path), Path(target_path)
    clean, target, channels = read_pair(clean_path, target_path, sample_rate)
    clean, target, check = align_pair(target_path.name, clean, target, sample_rate, (clean_path, target_path),
                                      align, max_latency, latency)
    length = int(round(seconds * sample_rate))
    count = len(clean) // length
    if count == 0:
        raise InputError(f"{clean_path} is {len(clean) / sample_rate:.2f} s long after alignment, shorter than one "
                         f"{seconds:g} s fragment; use shorter fragments.")
    regions = min(regions, count)
    floor = 10.0 ** (silence_db / 20.0)
    pairs = []
    for i in range(count):
        piece = slice(i * length, (i + 1) * length)
        c = clean[piece]
        if np.sqrt(np.mean(np.square(c, dtype=np.float64))) >= floor:
            pairs.append(Pair(f"{target_path.stem}-{i:04d}", f"region-{i * regions // count}", c.copy(),
                              target[piece].copy()))
    if not pairs:
        raise InputError(f"every {seconds:g} s fragment of {clean_path} is quieter than {silence_db:g} dBFS; "
                         f"record at a usable level or lower silence_db.")
    notes = [f"{count - len(pairs)} of {count} fragments dropped as silent (clean below {silence_db:g} dBFS)"]
    if channels > 1:
        notes.append("both files have several channels; mixed to mono")
    return Dataset(pairs, sample_rate, [check], notes,
                   f"{seconds:g} s fragments of {clean_path.name} -> {target_path.name} in {regions} regions")


_KINDS = {"notes": {"root", "effect", "clean"}, "fragments": {"clean", "target", "fragment_seconds", "regions"}}
_COMMON = {"kind", "align", "max_latency", "silence_db", "fragment_seconds", "latency"}


def load_pairs(spec: dict, sample_rate: int, base=None) -> Dataset:
    """Return the Dataset a config dict describes; relative paths are resolved against base."""
    kind = spec.get("kind")
    if kind not in _KINDS:
        raise InputError(f"data kind {kind!r} is unknown; use 'notes' or 'fragments'.")
    unknown = sorted(set(spec) - _KINDS[kind] - _COMMON)
    if unknown:
        raise InputError(f"data key(s) {', '.join(unknown)} are not used by kind '{kind}'; "
                         f"known keys: {', '.join(sorted(_KINDS[kind] | _COMMON))}.")

    def path(key: str) -> Path:
        value = spec.get(key)
        if not value:
            raise InputError(f"the '{kind}' data needs a '{key}' path.")
        p = Path(value).expanduser()
        return p if p.is_absolute() or base is None else Path(base) / p

    options = {"align": bool(spec.get("align", True)), "max_latency": float(spec.get("max_latency", 0.1)),
               "latency": None if spec.get("latency") is None else int(spec["latency"])}
    if kind == "notes":
        if not spec.get("effect"):
            raise InputError("the 'notes' data needs an 'effect' folder name.")
        return paired_notes(path("root"), spec["effect"], clean=spec.get("clean") or "Clean",
                            sample_rate=sample_rate, **options)
    return fragments(path("clean"), path("target"), seconds=float(spec.get("fragment_seconds", 1.0)),
                     sample_rate=sample_rate, silence_db=float(spec.get("silence_db", -50.0)),
                     regions=int(spec.get("regions", 10)), **options)
