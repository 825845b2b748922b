"""The built-in pedals' drive and tone knobs: the defaults are today's pedals bit for bit, the knobs act."""
import numpy as np
import pytest
from scipy import signal

from tinyrt import InputError
from tinyrt.data.effects import EFFECTS, KNOBS, apply_effect
from tinyrt.data.synth import guitar_track

SR = 48000


def _lp(kind, f):
    return signal.butter(1, min(f, 0.45 * SR), kind, fs=SR, output="sos")


# the pedals as they were before the knobs existed (frozen copies of their equations)
def old_overdrive(x):
    driven = 12.0 * signal.sosfilt(_lp("highpass", 720.0), x)
    clipped = 0.25 * np.arcsinh(driven / 0.25)
    return (0.54 * signal.sosfilt(_lp("lowpass", 3000.0), x + clipped)).astype(np.float32)


def old_distortion(x):
    gain = signal.sosfilt(_lp("highpass", 150.0), x)
    gain = x + 18.0 * signal.sosfilt(_lp("lowpass", 8000.0), gain)
    v = gain / 0.5
    clipped = 0.5 * v / (1.0 + np.abs(v) ** 4) ** 0.25
    return (0.51 * signal.sosfilt(_lp("lowpass", 2500.0), clipped)).astype(np.float32)


def old_fuzz(x):
    def curve(v):
        return np.where(v >= 0, np.tanh(v), 0.35 * np.tanh(v / 0.35))
    driven = 12.0 * signal.sosfilt(_lp("highpass", 60.0), x)
    clipped = curve(driven + 0.2) - curve(np.float64(0.2))
    y = signal.sosfilt(_lp("highpass", 25.0), clipped)
    return (0.47 * signal.sosfilt(_lp("lowpass", 5000.0), y)).astype(np.float32)


OLD = {"overdrive": old_overdrive, "distortion": old_distortion, "fuzz": old_fuzz}


@pytest.fixture(scope="module")
def x():
    return guitar_track(1.0, SR).astype(np.float64)


@pytest.mark.parametrize("name", list(EFFECTS))
def test_default_knobs_reproduce_the_original_pedal_bit_exactly(name, x):
    expected = OLD[name](x)
    assert np.array_equal(EFFECTS[name](x, SR), expected)
    assert np.array_equal(apply_effect(name, x, SR, drive=0.5, tone=0.5), expected)


@pytest.mark.parametrize("name", list(EFFECTS))
def test_knobs_change_the_sound(name, x):
    base = EFFECTS[name](x, SR)
    rms = float(np.sqrt(np.mean(base.astype(np.float64) ** 2)))
    for knob in ("drive", "tone"):
        for value in (0.0, 1.0):
            other = apply_effect(name, x, SR, **{knob: value})
            assert np.sqrt(np.mean((other - base) ** 2)) > 0.05 * rms, (knob, value)
    bright, dark = apply_effect(name, x, SR, tone=1.0), apply_effect(name, x, SR, tone=0.0)
    assert np.mean(np.diff(bright) ** 2) > np.mean(np.diff(dark) ** 2)   # tone up = more treble


def test_knob_values_are_checked():
    assert [k["name"] for k in KNOBS] == ["drive", "tone"]
    with pytest.raises(InputError, match="from 0 to 1"):
        apply_effect("overdrive", np.zeros(10), SR, drive=1.5)
    with pytest.raises(InputError, match="no knob 'gain'"):
        apply_effect("fuzz", np.zeros(10), SR, gain=0.5)
