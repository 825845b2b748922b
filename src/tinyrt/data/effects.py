"""Three reference guitar pedals modelled on classic circuits, for training and testing effect models.

Each effect is ``fn(audio, sample_rate) -> float32 audio`` of the same length: causal (no lookahead,
zero in gives zero out), deterministic, with its filters designed from the sample rate so it behaves
alike at 44.1, 48 and 96 kHz. Gains are moderate ("crunch") and filters first or second order so a
small recurrent network can learn them. Output levels are set so the three give about the same RMS
on ``guitar_track`` (peak 0.85) and stay below full scale.

- overdrive (Tube-Screamer-like): the clipping stage amplifies only what a 720 Hz high-pass lets
  through and clips it softly with a diode pair in the feedback path, then adds it to the dry
  signal (the mid hump); a first-order tone low-pass at 3 kHz follows.
- distortion (RAT-like): a high-passed gain stage whose bandwidth the op-amp limits, a nearly hard
  diode clipper to ground, and the filter control as a first-order low-pass at 2.5 kHz.
- fuzz (Fuzz-Face-like): a biased transistor pair clips the two half-waves differently (a soft knee
  on one side, an early hard one on the other), which also shifts the DC level; the output
  capacitor removes it (a 25 Hz high-pass) and a gentle 5 kHz low-pass follows.

Each pedal has two knobs, ``drive`` and ``tone``, keyword arguments from 0 to 1 with 0.5 the
default (which reproduces the fixed pedals above bit for bit). ``drive`` scales the clipping
stage's gain by 4 ** (2 drive - 1), a quarter to four times (-12 to +12 dB); ``tone`` moves the
final low-pass corner by 2 ** (3 (tone - 0.5)), from 0.35 to 2.8 times its frequency. ``KNOBS``
lists them for the trainer (name, min, max, default).

``TEST_EFFECTS`` adds ``bright``, a hard clipper with no tone filter, for alignment tests and benchmarks.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from ..errors import InputError


def _first_order(kind: str, freq: float, sample_rate: float) -> np.ndarray:
    """Return the second-order section of a first-order Butterworth high- or low-pass at freq."""
    return signal.butter(1, min(freq, 0.45 * sample_rate), kind, fs=sample_rate, output="sos")


def _checked(audio, sample_rate) -> np.ndarray:
    """Return the audio as float64 after checking it is finite mono at a positive sample rate."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(f"effects take mono audio of shape (n,), got shape {x.shape}; mix or pick one channel.")
    if not np.isfinite(x).all():
        raise InputError("the audio given to the effect contains NaN or infinite samples.")
    if not sample_rate > 0:
        raise InputError(f"sample rate {sample_rate} must be a positive number of Hz.")
    return x


KNOBS = ({"name": "drive", "min": 0.0, "max": 1.0, "default": 0.5},
         {"name": "tone", "min": 0.0, "max": 1.0, "default": 0.5})


def _knob(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"the {name} knob must be a number from 0 to 1, got {value!r}.") from None
    if not 0.0 <= v <= 1.0:
        raise InputError(f"the {name} knob must be from 0 to 1, got {value!r}.")
    return v


def _drive(drive) -> float:
    """Return the gain factor of the drive knob: 1.0 exactly at the default 0.5."""
    return 4.0 ** (2.0 * _knob(drive, "drive") - 1.0)


def _tone(tone) -> float:
    """Return the low-pass corner factor of the tone knob: 1.0 exactly at the default 0.5."""
    return 2.0 ** (3.0 * (_knob(tone, "tone") - 0.5))


def overdrive(audio, sample_rate, *, drive=0.5, tone=0.5) -> np.ndarray:
    """Return audio through a Tube-Screamer-like overdrive (soft clipping, mid hump) as float32."""
    x = _checked(audio, sample_rate)
    driven = 12.0 * _drive(drive) * signal.sosfilt(_first_order("highpass", 720.0, sample_rate), x)
    clipped = 0.25 * np.arcsinh(driven / 0.25)                 # diode pair in the op-amp feedback
    y = signal.sosfilt(_first_order("lowpass", 3000.0 * _tone(tone), sample_rate), x + clipped)
    return (0.54 * y).astype(np.float32)


def distortion(audio, sample_rate, *, drive=0.5, tone=0.5) -> np.ndarray:
    """Return audio through a RAT-like distortion (high-passed gain, near-hard clipping, filter) as float32."""
    x = _checked(audio, sample_rate)
    gain = signal.sosfilt(_first_order("highpass", 150.0, sample_rate), x)
    gain = x + 18.0 * _drive(drive) * signal.sosfilt(_first_order("lowpass", 8000.0, sample_rate), gain)
    v = gain / 0.5
    clipped = 0.5 * v / (1.0 + np.abs(v) ** 4) ** 0.25        # diodes to ground, slightly rounded corner
    y = signal.sosfilt(_first_order("lowpass", 2500.0 * _tone(tone), sample_rate), clipped)
    return (0.51 * y).astype(np.float32)


def _fuzz_curve(v: np.ndarray) -> np.ndarray:
    """Return the asymmetric transfer curve: a soft knee at +1.0 and an earlier, harder one at -0.35."""
    return np.where(v >= 0, np.tanh(v), 0.35 * np.tanh(v / 0.35))


def fuzz(audio, sample_rate, *, drive=0.5, tone=0.5) -> np.ndarray:
    """Return audio through a Fuzz-Face-like fuzz (biased asymmetric clipping, DC blocked) as float32."""
    x = _checked(audio, sample_rate)
    driven = 12.0 * _drive(drive) * signal.sosfilt(_first_order("highpass", 60.0, sample_rate), x)
    bias = 0.2
    clipped = _fuzz_curve(driven + bias) - _fuzz_curve(np.float64(bias))
    y = signal.sosfilt(_first_order("highpass", 25.0, sample_rate), clipped)
    y = signal.sosfilt(_first_order("lowpass", 5000.0 * _tone(tone), sample_rate), y)
    return (0.47 * y).astype(np.float32)


def bright_distortion(audio, sample_rate) -> np.ndarray:
    """Return audio through a bright hard clipper (100 Hz high-pass, gain 30, clip at +-1, no tone filter) as float32.

    A test and benchmark pedal, not one of the demo's: with no low-pass after the clipper its output
    has the sharpest edges, so a one-sample misalignment costs it the most.
    """
    x = _checked(audio, sample_rate)
    driven = 30.0 * signal.sosfilt(_first_order("highpass", 100.0, sample_rate), x)
    return (0.5 * np.clip(driven, -1.0, 1.0)).astype(np.float32)


EFFECTS = {"overdrive": overdrive, "distortion": distortion, "fuzz": fuzz}
TEST_EFFECTS = {**EFFECTS, "bright": bright_distortion}     # the built-in pedals and the bright hard clipper


def apply_effect(name: str, audio, sample_rate, **knobs) -> np.ndarray:
    """Return audio through the built-in effect called `name` (see EFFECTS) as float32, knobs drive/tone 0..1."""
    if name not in EFFECTS:
        raise InputError(f"unknown effect {name!r}; built-in effects: {', '.join(EFFECTS)}.")
    unknown = sorted(set(knobs) - {k["name"] for k in KNOBS})
    if unknown:
        raise InputError(f"the {name} pedal has no knob {unknown[0]!r}; its knobs are drive and tone.")
    return EFFECTS[name](audio, sample_rate, **knobs)
