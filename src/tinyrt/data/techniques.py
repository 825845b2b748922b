"""Guitar playing techniques, synthesised with onset times: built-in labelled data for classifiers.

Each technique is built from the string model of ``synth.py`` (Karplus-Strong strings, body, pickup):

- ``pluck``: a plain picked note that rings;
- ``palm_mute``: the picking hand's palm on the strings at the bridge: a dark, heavily damped note;
- ``harmonic``: a natural harmonic (a light touch over the 12th, 7th or 5th fret): the string sounds an
  octave, a twelfth or two octaves up, nearly sinusoidal (its even partials cancelled), long and soft;
- ``legato``: a hammer-on or pull-off: a picked note, then 60-140 ms later a new pitch one to three frets
  away with no pick attack;
- ``slide``: a picked note whose pitch glides two to five frets up or down;
- ``kick``: the thumb hitting the top near the bridge: a low body thump (the body modes), barely pitched;
- ``snare``: fingers slapping the strings against the frets: a bright noise crack with rattling muted strings;
- ``dead_strum``: a strum over strings muted by the fretting hand: a short percussive chord of scratches.

Every event varies string, fret, dynamics (velocity), touch and one of ``COLOURS`` (body and pickup
colourings); it starts at the annotated onset (sample index) after a short pre-roll of near silence.
Everything is deterministic for a seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..errors import InputError
from .synth import guitar_body, note_frequency, pluck

TECHNIQUES = ("pluck", "palm_mute", "harmonic", "legato", "slide", "kick", "snare", "dead_strum")
COLOURS = ("bridge", "neck", "acoustic", "direct")
HARMONIC_FRETS = {12: 2, 7: 3, 5: 4}  # fret touched -> the harmonic that sounds


@dataclass(frozen=True)
class Clip:
    """One labelled clip: mono float32 audio, its sample rate, its label and the onset sample of its event."""

    audio: np.ndarray
    sr: int
    label: str
    onset: int
    source: str = ""           # where it came from (a file, or the synthesiser's settings)


def _colour(audio: np.ndarray, colour: str, sr: int) -> np.ndarray:
    """Return audio through one of the body/pickup colourings."""
    body = guitar_body(audio, sr)
    if colour == "bridge":   # bright, thin: less low end
        return signal.sosfilt(signal.butter(1, 180.0, "highpass", fs=sr, output="sos"), body)
    if colour == "neck":     # warm: a darker pickup
        return signal.sosfilt(signal.butter(2, min(2200.0, 0.4 * sr), "lowpass", fs=sr, output="sos"), body)
    if colour == "acoustic":  # the body's modes louder
        return body + 0.6 * guitar_body(body, sr) - 0.6 * body
    return body


def _glide(audio: np.ndarray, start: int, length: int, ratio: float) -> np.ndarray:
    """Return audio read at a rate going from 1 to `ratio` between `start` and `start + length` (a slide)."""
    n = len(audio)
    rate = np.ones(n)
    ramp = np.linspace(0.0, 1.0, max(length, 1))
    rate[start:start + length] = ratio ** ramp[:max(0, min(length, n - start))]
    rate[start + length:] = ratio
    pos = np.concatenate([[0.0], np.cumsum(rate[:-1])])
    return np.interp(pos, np.arange(n), audio, right=0.0)


def technique(name: str, sr: int = 16000, seconds: float = 0.5, *, string: int = 3, fret: int = 5,
              velocity: float = 0.7, colour: str = "direct", seed: int = 0) -> np.ndarray:
    """Return one event of technique `name` starting at sample 0: float64 audio of `seconds` (not normalised)."""
    if name not in TECHNIQUES:
        raise InputError(f"unknown technique {name!r}; the techniques are {', '.join(TECHNIQUES)}.")
    if colour not in COLOURS:
        raise InputError(f"unknown colouring {colour!r}; the colourings are {', '.join(COLOURS)}.")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    freq = note_frequency(string, fret)
    if name == "pluck":
        x = pluck(freq, seconds, sr, velocity, rng.uniform(0.1, 0.3), rng.uniform(0.3, 0.6), rng.uniform(0.4, 0.8),
                  seed=seed)
    elif name == "palm_mute":
        x = pluck(freq, seconds, sr, velocity, rng.uniform(0.06, 0.12), 0.97, rng.uniform(0.1, 0.25), seed=seed)
        x *= np.exp(-np.arange(n) / (rng.uniform(0.04, 0.08) * sr))
    elif name == "harmonic":
        touch = int(rng.choice(list(HARMONIC_FRETS)))
        f = min(note_frequency(string, 0) * HARMONIC_FRETS[touch], sr / 8.5)
        x = pluck(f, seconds, sr, 0.6 * velocity, 0.5, rng.uniform(0.1, 0.3), rng.uniform(0.05, 0.2), seed=seed)
    elif name == "legato":
        step = int(rng.choice([-3, -2, -1, 1, 2, 3]))
        second = int(np.clip(fret + step, 0, 20))
        second = second if second != fret else fret + 2
        at = int(rng.uniform(0.06, 0.14) * sr)
        first = pluck(freq, at / sr + 0.01, sr, velocity, rng.uniform(0.1, 0.3), 0.4, 0.6, seed=seed)[:at]
        tail = pluck(note_frequency(string, second), seconds - at / sr, sr, 0.55 * velocity, 0.45, 0.45,
                     rng.uniform(0.1, 0.3), seed=seed + 1)
        x = np.concatenate([first * np.linspace(1.0, 0.7, at), tail])
    elif name == "slide":
        step = int(rng.choice([-5, -4, -3, -2, 2, 3, 4, 5]))
        x = pluck(freq, seconds * 1.6, sr, velocity, rng.uniform(0.1, 0.3), 0.35, 0.6, seed=seed)
        x = _glide(x, int(rng.uniform(0.04, 0.1) * sr), int(rng.uniform(0.12, 0.25) * sr), 2.0 ** (step / 12.0))
    elif name == "kick":
        t = np.arange(n) / sr
        f0 = rng.uniform(75.0, 120.0)
        phase = 2 * np.pi * np.cumsum(f0 * (1.0 + 0.6 * np.exp(-t / 0.01))) / sr
        x = velocity * np.sin(phase) * np.exp(-t / rng.uniform(0.05, 0.1))
        x[:int(0.002 * sr)] += velocity * rng.uniform(-0.5, 0.5, int(0.002 * sr))
        x += 0.05 * pluck(freq, seconds, sr, 0.3 * velocity, 0.2, 0.8, 0.3, seed=seed)
    elif name == "snare":
        t = np.arange(n) / sr
        noise = rng.uniform(-1, 1, n) * np.exp(-t / rng.uniform(0.015, 0.04))
        crack = signal.sosfilt(signal.butter(2, [min(1500.0, 0.3 * sr), min(6000.0, 0.45 * sr)], "bandpass",
                                             fs=sr, output="sos"), noise)
        x = velocity * 3.0 * crack
        for s in rng.choice(np.arange(1, 7), size=3, replace=False):
            x += 0.3 * pluck(note_frequency(int(s), fret), seconds, sr, velocity, 0.5, 0.98, 0.7, seed=seed + int(s))
    else:  # dead_strum
        x = np.zeros(n)
        spread = rng.uniform(0.005, 0.015)
        strings = range(6, 0, -1) if rng.random() < 0.6 else range(1, 7)
        for k, s in enumerate(strings):
            at = int(k * spread * sr)
            hit = pluck(note_frequency(s, fret), seconds, sr, velocity, 0.1, 0.995, 0.35, seed=seed + s)
            hit *= np.exp(-np.arange(n) / (0.02 * sr))
            x[at:] += hit[:n - at]
        x += 0.2 * velocity * rng.uniform(-1, 1, n) * np.exp(-np.arange(n) / (0.01 * sr))
    x = np.pad(x[:n], (0, max(0, n - len(x))))
    return _colour(x, colour, sr)


def technique_clips(per_class: int = 20, sr: int = 16000, seconds: float = 0.5, seed: int = 0,
                    techniques=TECHNIQUES, noise_db: float = -60.0) -> list:
    """Return `per_class` varied Clips of each technique: random string, fret, velocity, colour and pre-roll,
    with a little background noise (`noise_db` dBFS), each peak-normalised to 0.3..0.9 (the dynamics)."""
    if per_class < 1:
        raise InputError(f"per_class must be at least 1 clip, got {per_class}.")
    rng = np.random.default_rng(seed)
    clips = []
    for k, name in enumerate(techniques):
        for i in range(per_class):
            string, fret = int(rng.integers(1, 7)), int(rng.integers(0, 13))
            velocity, colour = float(rng.uniform(0.3, 1.0)), str(rng.choice(COLOURS))
            pre = int(rng.uniform(0.02, 0.06) * sr)
            event = technique(name, sr, seconds - pre / sr, string=string, fret=fret, velocity=velocity,
                              colour=colour, seed=seed * 100_003 + k * 1009 + i)
            audio = np.concatenate([np.zeros(pre), event])
            audio *= rng.uniform(0.3, 0.9) / max(np.abs(audio).max(), 1e-9)
            audio += 10 ** (noise_db / 20) * rng.standard_normal(len(audio))
            clips.append(Clip(audio.astype(np.float32), sr, name, pre,
                              f"{name} string {string} fret {fret} velocity {velocity:.2f} {colour}"))
    return clips


def technique_track(seconds: float = 10.0, sr: int = 16000, seed: int = 0, gap=(0.35, 0.8),
                    techniques=TECHNIQUES) -> tuple:
    """Return (audio float32, events) of a performance: techniques one after another at random gaps,
    events a list of (onset sample, label) in time order; for replaying through an onset-triggered device."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out, events, t = np.zeros(n), [], 0.2
    while t + gap[0] < seconds - 0.1:
        name = str(rng.choice(techniques))
        length = float(rng.uniform(*gap))
        at = int(t * sr)
        event = technique(name, sr, min(length, seconds - t), string=int(rng.integers(1, 7)),
                          fret=int(rng.integers(0, 13)), velocity=float(rng.uniform(0.4, 1.0)),
                          colour=str(rng.choice(COLOURS)), seed=seed * 7919 + len(events))
        fade = np.ones(len(event))
        fade[-int(0.02 * sr):] = np.linspace(1.0, 0.0, int(0.02 * sr))
        event = event * fade * (rng.uniform(0.3, 0.9) / max(np.abs(event).max(), 1e-9))
        out[at:at + len(event)] += event[:n - at]
        events.append((at, name))
        t += length
    out += 1e-4 * rng.standard_normal(n)
    return out.astype(np.float32), events
