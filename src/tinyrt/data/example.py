"""The built-in example dataset: a synthetic guitar track and notes, clean and through each reference pedal.

Layout under `root`:

- ``tracks/clean.wav`` and ``tracks/<effect>.wav``: the processed file is the effect applied to the
  whole clean file, then delayed by `latency` samples (a capture interface's round trip): `latency`
  zeros in front, the last `latency` samples dropped, so both files have the same length. The track
  ends in silence, so nothing but silence is dropped.
- with ``blips=True`` both files begin with a NAM-style preamble of 1.5 s: silence, an impulse of 0.5
  at 0.5 s and another at 1.0 s, silence until the music starts at 1.5 s. The preamble goes through
  the effect and the delay like the rest, as it would through a real capture.
- with ``notes=True``, EGFxSet-style single notes: ``Clean/Bridge/<string>-<fret>.wav`` and
  ``<Effect>/Bridge/<string>-<fret>.wav`` (Overdrive, Distortion, Fuzz) for strings 1 (high E) to
  6 and frets 0, 3, 5, 7, 10, 12, 2 s each, the processed notes delayed like the tracks.

All files are float32 mono WAV; the same arguments always give byte-identical files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio import write_wav
from ..errors import InputError
from .effects import EFFECTS, apply_effect
from .synth import guitar_notes, guitar_track

NOTE_FRETS = (0, 3, 5, 7, 10, 12)
NOTE_SECONDS = 2.0
BLIP_SECONDS = (0.5, 1.0)          # impulse times in the preamble
BLIP_LEVEL = 0.5
PREAMBLE_SECONDS = 1.5


def blip_preamble(sample_rate: int) -> np.ndarray:
    """Return the 1.5 s NAM-style preamble: silence with impulses of 0.5 at 0.5 s and 1.0 s."""
    pre = np.zeros(int(round(PREAMBLE_SECONDS * sample_rate)), dtype=np.float32)
    for t in BLIP_SECONDS:
        pre[int(round(t * sample_rate))] = BLIP_LEVEL
    return pre


def _delayed(audio: np.ndarray, latency: int) -> np.ndarray:
    """Return audio delayed by `latency` samples at the same length (zeros in front, end dropped)."""
    return np.concatenate([np.zeros(latency, dtype=np.float32), audio[:audio.size - latency]])


def write_example_data(root, sample_rate: int = 48000, seconds: float = 60.0,
                       effects=("overdrive", "distortion", "fuzz"), notes: bool = True, latency: int = 0,
                       blips: bool = False, seed: int = 0) -> dict:
    """Write the example tracks (and notes) under root; return a dict of what was written and how."""
    for name in effects:
        if name not in EFFECTS:
            raise InputError(f"unknown effect {name!r}; built-in effects: {', '.join(EFFECTS)}.")
    if not isinstance(latency, (int, np.integer)) or latency < 0:
        raise InputError(f"latency {latency!r} must be a whole number of samples, 0 or more.")
    root = Path(root)
    (root / "tracks").mkdir(parents=True, exist_ok=True)
    clean = guitar_track(seconds, sample_rate, seed)
    if blips:
        clean = np.concatenate([blip_preamble(sample_rate), clean])
    shortest = min(clean.size, int(round(NOTE_SECONDS * sample_rate))) if notes else clean.size
    if latency >= shortest:
        raise InputError(f"latency {latency} is not shorter than the {shortest}-sample files; lower it.")
    tracks = {"clean": write_wav(root / "tracks" / "clean.wav", clean, sample_rate)}
    for name in effects:
        tracks[name] = write_wav(root / "tracks" / f"{name}.wav",
                                 _delayed(apply_effect(name, clean, sample_rate), latency), sample_rate)
    written = {"root": root, "sample_rate": sample_rate, "latency": int(latency), "seconds": seconds,
               "tracks": tracks,
               "blips": [int(round(t * sample_rate)) for t in BLIP_SECONDS] if blips else [],
               "music_start": int(round(PREAMBLE_SECONDS * sample_rate)) if blips else 0}
    if notes:
        written["notes"] = _write_notes(root, sample_rate, effects, latency, seed)
    return written


def _write_notes(root: Path, sample_rate: int, effects, latency: int, seed: int) -> dict:
    """Write the EGFxSet-style note folders; return {folder name: [paths]}."""
    folders = {"Clean": None, **{name.capitalize(): name for name in effects}}
    out = {folder: [] for folder in folders}
    for folder in folders:
        (root / folder / "Bridge").mkdir(parents=True, exist_ok=True)
    for string, fret, audio in guitar_notes(sample_rate, NOTE_SECONDS, frets=NOTE_FRETS, seed=seed):
        for folder, effect in folders.items():
            wet = audio if effect is None else _delayed(apply_effect(effect, audio, sample_rate), latency)
            out[folder].append(write_wav(root / folder / "Bridge" / f"{string}-{fret}.wav", wet, sample_rate))
    return out
