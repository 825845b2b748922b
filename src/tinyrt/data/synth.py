"""A synthetic electric guitar: extended Karplus-Strong strings, a body, and varied musical material.

Strings are numbered as guitarists do: string 1 is the high E (E4, 329.63 Hz), string 6 the low E
(E2, 82.41 Hz), in standard tuning. Everything is deterministic for a seed.

The string model follows Jaffe and Smith's extension of the Karplus-Strong algorithm: a burst of
low-passed noise (brighter when plucked harder) shaped by a pick-position comb excites a delay loop
whose one-pole loss filter makes high partials die faster than the fundamental, and whose
first-order allpass supplies the fractional part of the period so the pitch is exact. The loop
``y[n] = x[n] + G{y}[n - N]`` is run N samples at a time: each block needs only the previous one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..errors import InputError

OPEN_STRINGS = {1: 64, 2: 59, 3: 55, 4: 50, 5: 45, 6: 40}     # MIDI note of each open string
_SILENT = 1e-5                                                # loop stops once a period falls below this


def note_frequency(string: int, fret: int) -> float:
    """Return the frequency in Hz of a fretted note: string 1 (high E4) .. 6 (low E2), fret 0 .. 24."""
    if string not in OPEN_STRINGS:
        raise InputError(f"string {string!r} does not exist; strings are numbered 1 (high E) to 6 (low E).")
    if not isinstance(fret, (int, np.integer)) or not 0 <= fret <= 24:
        raise InputError(f"fret {fret!r} is not on the neck; use a whole number from 0 (open) to 24.")
    return 440.0 * 2.0 ** ((OPEN_STRINGS[string] + int(fret) - 69) / 12.0)


def _one_pole_for_ratio(ratio: float, w0: float, w1: float) -> float:
    """Return the pole p of (1-p)/(1-p z^-1) whose gain at w1 is `ratio` times its gain at w0."""
    def gain(p, w):
        return (1 - p) / np.sqrt(1 - 2 * p * np.cos(w) + p * p)
    p = 0.0
    for _ in range(4):                         # fixed point: the gain at w0 barely moves with p
        r = ratio * gain(p, w0)
        a, b = 1 - r * r, 1 - r * r * np.cos(w1)
        p = (b - np.sqrt(max(b * b - a * a, 0.0))) / a
    return float(p)


def _loop_filter(freq: float, sample_rate: float, damping: float, brightness: float):
    """Return (N, b, a): the integer delay and the loss+allpass filter that tune the loop to freq."""
    period = sample_rate / freq
    t60 = 4.0 * (110.0 / freq) ** 0.6 * 20.0 ** (0.5 - damping)               # seconds, fundamental
    t60_high = t60 * (0.04 + 0.25 * (1.0 - damping) * (0.5 + brightness))   # seconds, upper partials
    w0 = 2 * np.pi * freq / sample_rate
    w1 = 2 * np.pi * min(max(4000.0, 3.0 * freq), 0.4 * sample_rate) / sample_rate

    def per_period(t60_seconds):                     # gain per trip round the loop for that T60
        return 10.0 ** (-3.0 / (freq * t60_seconds))
    p = _one_pole_for_ratio(per_period(t60_high) / per_period(t60), w0, w1)
    loss_gain = (1 - p) / np.sqrt(1 - 2 * p * np.cos(w0) + p * p)
    g = per_period(t60) / loss_gain
    loss_delay = np.arctan2(p * np.sin(w0), 1 - p * np.cos(w0)) / w0
    n = int(np.floor(period - loss_delay - 0.2))
    d = period - loss_delay - n                                              # allpass delay in [0.2, 1.2)
    c = np.sin(w0 * (1 - d) / 2) / np.sin(w0 * (1 + d) / 2)
    b = g * (1 - p) * np.array([c, 1.0])
    a = np.convolve([1.0, -p], [1.0, c])
    return n, b, a


def pluck(freq: float, seconds: float, sample_rate: int = 48000, velocity: float = 0.8, pick_position: float = 0.2,
          damping: float = 0.5, brightness: float = 0.5, seed: int = 0) -> np.ndarray:
    """Return one plucked string note (float64, peak = velocity ** 1.2) of `seconds` at `freq` Hz."""
    if not 20.0 <= freq <= sample_rate / 8:
        raise InputError(f"pluck frequency {freq} Hz is out of range; use 20 Hz to sample_rate / 8.")
    if not 0.0 < velocity <= 1.0 or not 0.0 < pick_position < 1.0:
        raise InputError("pluck velocity must be in (0, 1] and pick_position in (0, 1).")
    if not 0.0 <= damping <= 1.0 or not 0.0 <= brightness <= 1.0:
        raise InputError("pluck damping and brightness must be in [0, 1].")
    total = int(round(seconds * sample_rate))
    if total < 1:
        raise InputError(f"pluck length {seconds} s is shorter than one sample; give a positive duration.")
    period = sample_rate / freq
    rng = np.random.default_rng(seed)
    burst = rng.uniform(-1.0, 1.0, int(round(period)))
    cutoff = min(700.0 * 2.0 ** (5.0 * (0.35 * velocity + 0.65 * brightness)), 0.45 * sample_rate)
    pole = np.exp(-2 * np.pi * cutoff / sample_rate)
    burst = signal.lfilter([1 - pole], [1, -pole], burst)
    burst -= burst.mean()
    gap = max(1, int(round(pick_position * period)))
    excitation = np.concatenate([burst, np.zeros(gap)]) - np.concatenate([np.zeros(gap), burst])
    n, b, a = _loop_filter(freq, sample_rate, damping, brightness)
    x = np.zeros(total)
    x[:min(total, excitation.size)] = excitation[:total]
    y = np.zeros(total)
    fed_back, state = np.zeros(n), np.zeros(2)
    for start in range(0, total, n):
        stop = min(start + n, total)
        y[start:stop] = x[start:stop] + fed_back[:stop - start]
        if start >= excitation.size and np.abs(y[start:stop]).max() < _SILENT:
            break
        fed_back, state = signal.lfilter(b, a, y[start:stop], zi=state)
    peak = np.abs(y).max()
    return y * (velocity ** 1.2 / peak) if peak > 0 else y


def _resonance(freq: float, q: float, sample_rate: float) -> np.ndarray:
    """Return the second-order sections of a constant-peak band-pass at freq (RBJ cookbook)."""
    b, a = signal.iirpeak(freq, q, fs=sample_rate)
    return signal.tf2sos(b, a)


def _resonant_lowpass(freq: float, q: float, sample_rate: float) -> np.ndarray:
    """Return the second-order section of a resonant low-pass (RBJ cookbook), the pickup's peak."""
    w = 2 * np.pi * freq / sample_rate
    alpha, cw = np.sin(w) / (2 * q), np.cos(w)
    b = np.array([(1 - cw) / 2, 1 - cw, (1 - cw) / 2])
    a = np.array([1 + alpha, -2 * cw, 1 - alpha])
    return signal.tf2sos(b / a[0], a / a[0])


BODY_MODES = ((100.0, 8.0, 0.5), (200.0, 6.0, 0.45), (400.0, 5.0, 0.25))    # Hz, Q, level: air, top, back


def guitar_body(audio: np.ndarray, sample_rate: int = 48000) -> np.ndarray:
    """Return audio through the body (air ~100 Hz, top ~200 Hz, ~400 Hz modes) and the pickup resonance."""
    audio = np.asarray(audio, dtype=np.float64)
    out = audio.copy()
    for freq, q, level in BODY_MODES:
        out += level * signal.sosfilt(_resonance(freq, q, sample_rate), audio)
    return signal.sosfilt(_resonant_lowpass(min(4500.0, 0.4 * sample_rate), 1.3, sample_rate), out)


def guitar_notes(sample_rate: int = 48000, seconds: float = 2.0, strings=(1, 2, 3, 4, 5, 6), frets=range(13),
                 seed: int = 0) -> list:
    """Return [(string, fret, audio float32 with peak 0.6)] for every string x fret, like EGFxSet's notes."""
    notes = []
    for s in strings:
        for f in frets:
            raw = pluck(note_frequency(s, f), seconds, sample_rate, velocity=0.8, pick_position=0.15,
                        seed=seed * 1000 + s * 100 + int(f))
            audio = guitar_body(raw, sample_rate)
            notes.append((s, int(f), (audio * (0.6 / np.abs(audio).max())).astype(np.float32)))
    return notes


@dataclass(frozen=True)
class Note:
    """One plucked note of a score: when, where on the neck, how hard, how long, how damped."""
    time: float
    string: int
    fret: int
    velocity: float
    duration: float
    damping: float = 0.5
    brightness: float = 0.5
    pick_position: float = 0.2


# chord shapes: frets for strings 6 (low E) .. 1 (high E); None = string not played
CHORDS = {"E": (0, 2, 2, 1, 0, 0), "A": (None, 0, 2, 2, 2, 0), "D": (None, None, 0, 2, 3, 2),
          "G": (3, 2, 0, 0, 0, 3), "C": (None, 3, 2, 0, 1, 0), "Em": (0, 2, 2, 0, 0, 0),
          "Am": (None, 0, 2, 2, 1, 0), "Dm": (None, None, 0, 2, 3, 1), "F": (1, 3, 3, 2, 1, 1),
          "Bm": (None, 2, 4, 4, 3, 2)}
POWER_CHORDS = ((0, 2, 2), (None, 0, 2, 2), (3, 5, 5), (None, 5, 7, 7), (None, 3, 5, 5), (5, 7, 7))
PROGRESSIONS = (("G", "D", "Em", "C"), ("Am", "F", "C", "G"), ("E", "A", "D", "A"), ("Em", "C", "G", "D"),
                ("Am", "Dm", "E", "Am"), ("D", "A", "Bm", "G"))
SCALES = ((4, 7, 9, 11, 2), (9, 11, 0, 2, 4, 5, 7), (7, 9, 11, 0, 2, 4, 6))   # E minor pent., A minor, G major
STRUMS = ("D.DUDUDU", "D..UDUDU", "D.D.D.D.", "DUDUDUDU", "D...D.DU")       # eighth-note strokes per bar
_DYNAMICS = {"soft": (0.25, 0.4), "medium": (0.45, 0.65), "loud": (0.75, 0.95), "crescendo": (0.2, 0.95),
             "decrescendo": (0.95, 0.2)}


class _Player:
    """Writes the notes of one performance, section after section, with a shared random generator."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.notes, self.mutes = [], []

    def play(self, t, string, fret, velocity, duration, **touch):
        jitter = self.rng.normal(0.0, 0.004)
        velocity = float(np.clip(velocity + self.rng.normal(0.0, 0.04), 0.05, 1.0))
        self.notes.append(Note(max(0.0, t + jitter), string, fret, velocity, duration, **touch))

    def dynamics(self):
        lo, hi = _DYNAMICS[self.rng.choice(list(_DYNAMICS))]
        return lambda frac: lo + (hi - lo) * frac

    def chord(self, t, shape, velocity, duration, up=False, spread=0.01, **touch):
        played = [(6 - i, f) for i, f in enumerate(shape) if f is not None]     # low to high
        if up:
            played = played[::-1][:int(self.rng.integers(3, 5))]
            velocity *= 0.75
        for k, (string, fret) in enumerate(played):
            self.play(t + k * spread, string, fret, velocity, duration, **touch)

    def melody(self, t, beat):
        scale = SCALES[self.rng.integers(len(SCALES))]
        base = int(self.rng.choice([0, 2, 5, 7, 9, 12]))
        spots = sorted((OPEN_STRINGS[s] + f, s, f) for s in OPEN_STRINGS for f in range(base, base + 5)
                        if (OPEN_STRINGS[s] + f) % 12 in scale)
        vel, length = self.dynamics(), beat * 4 * int(self.rng.integers(1, 4))
        k, now = int(self.rng.integers(len(spots))), 0.0
        while now < length:
            step = self.rng.choice([0.25, 0.5, 0.5, 0.5, 0.75, 1.0]) * beat
            _, string, fret = spots[k]
            self.play(t + now, string, fret, vel(now / length), step * self.rng.uniform(0.8, 1.5),
                      brightness=self.rng.uniform(0.35, 0.75), pick_position=self.rng.uniform(0.1, 0.3))
            k = int(np.clip(k + self.rng.choice([-3, -2, -1, -1, 1, 1, 2, 3]), 0, len(spots) - 1))
            now += step
        return t + length

    def strum(self, t, beat):
        chords = PROGRESSIONS[self.rng.integers(len(PROGRESSIONS))]
        pattern, vel = self.rng.choice(STRUMS), self.dynamics()
        bars = int(self.rng.integers(2, 5))
        for bar in range(bars):
            for slot, stroke in enumerate(pattern):
                now = (bar * 8 + slot) * beat / 2
                if stroke != ".":
                    accent = 1.1 if slot == 0 else 1.0
                    self.chord(t + now, CHORDS[chords[bar]], 0.75 * vel(now / (bars * 4 * beat)) * accent,
                               2 * beat, up=stroke == "U", spread=self.rng.uniform(0.006, 0.015),
                               brightness=self.rng.uniform(0.4, 0.7))
        return t + bars * 4 * beat

    def arpeggio(self, t, beat):
        chords, vel = PROGRESSIONS[self.rng.integers(len(PROGRESSIONS))][:int(self.rng.integers(2, 5))], self.dynamics()
        order = (0, 2, 3, 4, 5, 4, 3, 2)
        for bar, name in enumerate(chords):
            played = [(6 - i, f) for i, f in enumerate(CHORDS[name]) if f is not None]
            for slot, k in enumerate(order):
                string, fret = played[min(k, len(played) - 1)]
                now = (bar * 8 + slot) * beat / 2
                self.play(t + now, string, fret, vel(now / (len(chords) * 4 * beat)), (8 - slot) * beat / 2 + beat,
                          brightness=self.rng.uniform(0.3, 0.6), pick_position=self.rng.uniform(0.15, 0.35))
        return t + len(chords) * 4 * beat

    def palm_mute(self, t, beat):
        vel, bars = self.dynamics(), int(self.rng.integers(1, 4))
        sixteenths = self.rng.random() < 0.4
        step = beat / (4 if sixteenths else 2)
        count = int(bars * 4 * beat / step)
        riff = self.rng.choice(len(POWER_CHORDS), size=int(self.rng.integers(2, 5)))
        for k in range(count):
            shape = POWER_CHORDS[riff[int(k * step / (2 * beat)) % riff.size]]
            accent = k % 8 == 0 and self.rng.random() < 0.5
            self.chord(t + k * step, shape if accent else shape[:2], min(1.0, 1.2 * vel(k / count)),
                       step * (2 if accent else 0.8), spread=0.004, damping=0.55 if accent else 0.97,
                       brightness=0.25, pick_position=0.1)
        return t + count * step

    def let_ring(self, t, beat):
        name = self.rng.choice(list(CHORDS))
        self.chord(t, CHORDS[name], self.rng.uniform(0.4, 0.8), 6 * beat, spread=self.rng.uniform(0.02, 0.04),
                   damping=0.3)
        return t + 6 * beat

    def gap(self, t, beat):
        self.mutes.append(t + 0.02)                 # a note struck right at the end is cut, not left ringing
        return t + self.rng.uniform(0.3, 1.2)


def score(seconds: float, seed: int = 0) -> list:
    """Return the notes of a varied performance of `seconds`: melody, strums, arpeggios, palm mutes, gaps."""
    player = _Player(seed)
    sections = (player.melody, player.strum, player.arpeggio, player.palm_mute, player.let_ring, player.gap)
    weights = np.array([3, 3, 2, 2, 1, 1.5])
    t, last = 0.1, None
    while t < seconds:
        pick = int(player.rng.choice(len(sections), p=weights / weights.sum()))
        if pick == last:
            continue
        last, beat = pick, 60.0 / player.rng.uniform(85, 135)
        t = sections[pick](t, beat)
    end = seconds - 0.3
    mutes = np.array(sorted(player.mutes) + [end])
    notes, by_string = [], {}
    for note in sorted(player.notes, key=lambda n: n.time):
        if note.time < end - 0.2:
            by_string.setdefault(note.string, []).append(note)
    for string_notes in by_string.values():
        for k, note in enumerate(string_notes):
            stop = note.time + note.duration
            if k + 1 < len(string_notes):
                stop = min(stop, string_notes[k + 1].time)
            stop = min(stop, mutes[np.searchsorted(mutes, note.time, side="right")])
            notes.append(Note(note.time, note.string, note.fret, note.velocity, stop - note.time,
                              note.damping, note.brightness, note.pick_position))
    return sorted(notes, key=lambda n: (n.time, n.string))


def guitar_track(seconds: float, sample_rate: int = 48000, seed: int = 0) -> np.ndarray:
    """Return a float32 mono guitar performance of `seconds` (peak 0.85) with varied playing and dynamics."""
    if not seconds > 0:
        raise InputError(f"track length {seconds} s must be positive.")
    total = int(round(seconds * sample_rate))
    out = np.zeros(total)
    release = int(round(0.05 * sample_rate))
    fade = 0.5 * (1 + np.cos(np.linspace(0, np.pi, release)))
    for i, note in enumerate(score(seconds, seed)):
        start = int(round(note.time * sample_rate))
        length = max(1, int(round(note.duration * sample_rate)))
        audio = pluck(note_frequency(note.string, note.fret), (length + release) / sample_rate, sample_rate,
                      note.velocity, note.pick_position, note.damping, note.brightness, seed=seed * 100003 + i)
        audio[length:] *= fade[:audio.size - length]
        audio = audio[:total - start]
        out[start:start + audio.size] += audio
    out = guitar_body(out, sample_rate)
    peak = np.abs(out).max()
    return (out * (0.85 / peak) if peak > 0 else out).astype(np.float32)
