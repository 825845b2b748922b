"""Users' own labelled clips for classifiers: a folder per class, or a CSV of file, start, end, label.

``load_clips(path)`` reads either layout into ``techniques.Clip``s (mono float32, onset 0: the clip is the
event, or its start). ``check_clips(clips, min_per_class)`` refuses what cannot train a classifier, one
sentence each: no labels or a single class, a class with too few examples, clips at different sample
rates, a silent clip. A CSV with bad times (not numbers, negative, end not after start, past the end of
its file) is refused while loading, naming the row.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from ..audio.io import read_wav
from ..audio.resample import to_mono
from ..errors import FormatError, InputError
from .techniques import Clip

SILENT_PEAK = 1e-4  # a clip whose peak is below this (-80 dBFS) is silence


def _wav(path: Path) -> tuple:
    audio, sr = read_wav(path)
    return to_mono(audio).astype(np.float32), int(sr)


def _from_folders(root: Path) -> list:
    clips = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for wav in sorted(folder.glob("*.wav")):
            audio, sr = _wav(wav)
            clips.append(Clip(audio, sr, folder.name, 0, str(wav)))
    if not clips:
        loose = sorted(root.glob("*.wav"))
        what = (f"{len(loose)} WAV files lie directly in it with no labels" if loose else "it holds no WAV files")
        raise InputError(f"{root}: no labelled clips ({what}); put each class's WAV files in a folder named "
                         f"after the class, or give a CSV of file, start, end, label.")
    return clips


def _time(value: str, row: int, field: str, where: Path) -> float:
    try:
        t = float(value)
    except ValueError:
        raise FormatError(f"{where}: row {row}: {field} {value!r} is not a time in seconds.") from None
    if not np.isfinite(t) or t < 0:
        raise FormatError(f"{where}: row {row}: {field} {value!r} must be a finite time of 0 s or more.")
    return t


def _from_csv(path: Path) -> list:
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not a text CSV file of file, start, end, label.") from None
    if rows and [c.strip().lower() for c in rows[0]] == ["file", "start", "end", "label"]:
        rows = rows[1:]
    clips, cache = [], {}
    for i, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 4:
            raise FormatError(f"{path}: row {i} has {len(row)} fields; each row is file, start, end, label.")
        name, start, end, label = (c.strip() for c in row)
        t0, t1 = _time(start, i, "start", path), _time(end, i, "end", path)
        if t1 <= t0:
            raise FormatError(f"{path}: row {i}: end {end} s is not after start {start} s.")
        wav = (path.parent / name).resolve()
        if wav not in cache:
            cache[wav] = _wav(wav)
        audio, sr = cache[wav]
        if t1 * sr > len(audio) + 1:
            raise FormatError(f"{path}: row {i}: end {end} s is past the end of {name} ({len(audio) / sr:.3f} s).")
        clips.append(Clip(audio[int(round(t0 * sr)):int(round(t1 * sr))].copy(), sr, label, 0, f"{name}@{t0:g}"))
    return clips


def load_clips(path) -> list:
    """Return the labelled Clips of a folder (one subfolder of WAV files per class) or of a CSV file
    (rows of file, start, end, label; times in seconds; files relative to the CSV; an optional header)."""
    path = Path(path)
    if path.is_dir():
        return _from_folders(path)
    if path.is_file():
        return _from_csv(path)
    raise InputError(f"{path}: no such folder or CSV file of labelled clips.")


def check_clips(clips: list, min_per_class: int = 2, sr: int | None = None) -> None:
    """Raise InputError with one sentence if the clips cannot train a classifier (see the module text)."""
    labels = Counter(c.label for c in clips if str(c.label).strip())
    if not clips:
        raise InputError("there are no clips; give labelled clips (a folder per class, or a CSV).")
    if sum(labels.values()) < len(clips):
        raise InputError("some clips have no label; give every clip a class (its folder or the CSV's label).")
    if len(labels) < 2:
        only = next(iter(labels))
        raise InputError(f"all {len(clips)} clips are of one class ({only!r}); a classifier needs at least two "
                         f"classes.")
    few = sorted(k for k, n in labels.items() if n < min_per_class)
    if few:
        raise InputError(f"class {few[0]!r} has {labels[few[0]]} clip(s), fewer than the {min_per_class} each class "
                         f"needs to be split into training and test; add clips or lower min_per_class.")
    rates = Counter(c.sr for c in clips)
    if len(rates) > 1 or (sr is not None and set(rates) != {sr}):
        odd = next(c for c in clips if c.sr != (sr if sr is not None else rates.most_common(1)[0][0]))
        want = sr if sr is not None else rates.most_common(1)[0][0]
        raise InputError(f"{odd.source or odd.label}: sampled at {odd.sr} Hz but the data set runs at {want} Hz; "
                         f"resample every clip to one rate.")
    for c in clips:
        if len(c.audio) == 0 or float(np.max(np.abs(c.audio))) < SILENT_PEAK:
            raise InputError(f"{c.source or c.label}: the clip is silent (peak below -80 dBFS); remove it or "
                             f"check its file.")
