"""The built-in guitar: string pitch and decay, the track, the three pedals and the example dataset."""
import numpy as np
import pytest

from tinyrt.audio import read_wav
from tinyrt.data.effects import EFFECTS, apply_effect, distortion, fuzz, overdrive
from tinyrt.data.example import NOTE_FRETS, write_example_data
from tinyrt.data.synth import guitar_body, guitar_notes, guitar_track, note_frequency, pluck, score
from tinyrt.errors import InputError

SR = 48000


def estimate_f0(audio, sample_rate, fmin=60.0, fmax=1000.0):
    """Return the fundamental from the autocorrelation peak, refined by parabolic interpolation."""
    x = audio - audio.mean()
    n = 1 << int(np.ceil(np.log2(2 * x.size)))
    r = np.fft.irfft(np.abs(np.fft.rfft(x, n)) ** 2)[:x.size]
    lo, hi = int(sample_rate / fmax), int(sample_rate / fmin)
    k = lo + int(np.argmax(r[lo:hi]))
    a, b, c = r[k - 1], r[k], r[k + 1]
    return sample_rate / (k + 0.5 * (a - c) / (a - 2 * b + c))


def harmonics(effect, amplitude, sample_rate=SR, freq=441.0):
    """Return the magnitudes of harmonics 1..10 of the effect's steady-state response to a sine."""
    t = np.arange(sample_rate) / sample_rate
    out = effect(amplitude * np.sin(2 * np.pi * freq * t), sample_rate)[sample_rate // 2:].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    k = freq * out.size / sample_rate
    return np.array([spectrum[int(round(m * k)) - 2:int(round(m * k)) + 3].max() for m in range(1, 11)])


def thd(effect, amplitude, sample_rate=SR):
    h = harmonics(effect, amplitude, sample_rate)
    return float(np.sqrt(np.sum(h[1:] ** 2)) / h[0])


@pytest.mark.parametrize("freq", [110.0, 329.63])
@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
def test_pluck_is_in_tune(freq, sample_rate):
    note = pluck(freq, 0.6, sample_rate)
    f0 = estimate_f0(note[int(0.1 * sample_rate):], sample_rate)
    assert abs(f0 / freq - 1) < 0.005


def test_pluck_decays_and_has_its_level():
    note = pluck(196.0, 2.0, SR, velocity=0.5)
    rms = [np.sqrt(np.mean(note[int(a * SR):int((a + 0.2) * SR)] ** 2)) for a in (0.1, 0.8, 1.6)]
    assert rms[0] > rms[1] > rms[2] > 0
    assert np.isfinite(note).all()
    assert np.abs(note).max() == pytest.approx(0.5 ** 1.2)
    assert np.abs(pluck(196.0, 1.0, SR, velocity=1.0)).max() > 2 * np.abs(pluck(196.0, 1.0, SR, velocity=0.4)).max()


def test_harder_plucks_are_brighter_and_damping_shortens():
    def centroid(x):
        s = np.abs(np.fft.rfft(x[:SR // 4]))
        return np.sum(s * np.arange(s.size)) / np.sum(s)
    assert centroid(pluck(110.0, 0.5, SR, velocity=1.0)) > 1.2 * centroid(pluck(110.0, 0.5, SR, velocity=0.2))
    free, muted = pluck(110.0, 1.0, SR, damping=0.2), pluck(110.0, 1.0, SR, damping=1.0)
    tail = slice(int(0.7 * SR), SR)
    assert np.sqrt(np.mean(muted[tail] ** 2)) < 0.3 * np.sqrt(np.mean(free[tail] ** 2))


def test_pluck_is_deterministic_for_a_seed():
    assert np.array_equal(pluck(220.0, 0.3, SR, seed=3), pluck(220.0, 0.3, SR, seed=3))
    assert not np.allclose(pluck(220.0, 0.3, SR, seed=3), pluck(220.0, 0.3, SR, seed=4))


def test_pluck_refuses_bad_arguments():
    with pytest.raises(InputError, match="frequency 10.0 Hz is out of range"):
        pluck(10.0, 1.0)
    with pytest.raises(InputError, match="velocity must be in"):
        pluck(110.0, 1.0, velocity=0.0)
    with pytest.raises(InputError, match="shorter than one sample"):
        pluck(110.0, 0.0)


def test_note_frequency_standard_tuning():
    assert note_frequency(6, 0) == pytest.approx(82.4069, abs=1e-3)
    assert note_frequency(5, 0) == pytest.approx(110.0)
    assert note_frequency(1, 0) == pytest.approx(329.6276, abs=1e-3)
    assert note_frequency(6, 5) == pytest.approx(note_frequency(5, 0))
    assert note_frequency(3, 12) == pytest.approx(2 * note_frequency(3, 0))
    with pytest.raises(InputError, match="string 7 does not exist"):
        note_frequency(7, 0)
    with pytest.raises(InputError, match="fret 25 is not on the neck"):
        note_frequency(1, 25)


def test_guitar_track_levels_determinism_and_variety():
    a = guitar_track(8.0, SR, seed=1)
    assert a.dtype == np.float32 and a.shape == (8 * SR,)
    assert np.isfinite(a).all() and np.abs(a).max() == pytest.approx(0.85, abs=1e-6)
    assert np.array_equal(a, guitar_track(8.0, SR, seed=1))
    assert not np.allclose(a, guitar_track(8.0, SR, seed=2))
    notes = score(60.0, seed=0)
    assert {n.string for n in notes} == set(range(1, 7))
    assert min(n.velocity for n in notes) < 0.35 and max(n.velocity for n in notes) > 0.85
    assert any(n.damping > 0.9 and n.duration < 0.25 for n in notes)           # palm-muted notes
    assert sum(1 for n in notes if n.duration > 1.5) > 5                        # notes left to ring
    onsets = sorted(n.time for n in notes)
    assert max(np.diff(onsets)) > 0.3                                           # silences


def test_guitar_body_is_causal_and_resonant():
    impulse = np.zeros(SR)
    impulse[100] = 1.0
    out = guitar_body(impulse, SR)
    assert np.all(out[:100] == 0)
    spectrum = np.abs(np.fft.rfft(out))
    assert spectrum[100] > 1.4 * spectrum[700] and spectrum[200] > 1.3 * spectrum[700]    # air and top modes


def test_guitar_notes_cover_the_neck():
    notes = guitar_notes(SR, 0.5, strings=(1, 6), frets=(0, 12))
    assert [(s, f) for s, f, _ in notes] == [(1, 0), (1, 12), (6, 0), (6, 12)]
    for s, f, audio in notes:
        assert audio.shape == (SR // 2,) and audio.dtype == np.float32
        assert abs(estimate_f0(audio[SR // 10:], SR, 60, 1000) / note_frequency(s, f) - 1) < 0.005


@pytest.mark.parametrize("name", list(EFFECTS))
def test_effects_are_nonlinear_causal_and_sized(name):
    x = guitar_track(2.0, SR, seed=3)
    y = apply_effect(name, x, SR)
    assert y.dtype == np.float32 and y.shape == x.shape and np.abs(y).max() < 1.0
    assert np.abs(apply_effect(name, 2 * x, SR) - 2 * y).max() > 0.05 * np.abs(y).max()
    assert thd(EFFECTS[name], 0.2) > 0.05
    impulse = np.zeros(4000)
    impulse[1000] = 0.5
    out = apply_effect(name, impulse, SR)
    assert np.all(out[:1000] == 0) and out[1000] != 0                          # no lookahead
    assert np.array_equal(y, apply_effect(name, x, SR))


@pytest.mark.parametrize("name", list(EFFECTS))
@pytest.mark.parametrize("sample_rate", [44100, 96000])
def test_effects_behave_alike_at_other_rates(name, sample_rate):
    at_48k, other = harmonics(EFFECTS[name], 0.3), harmonics(EFFECTS[name], 0.3, sample_rate)
    assert 20 * abs(np.log10(other[0] / at_48k[0] * SR / sample_rate)) < 0.5     # same gain at the fundamental
    assert thd(EFFECTS[name], 0.3, sample_rate) == pytest.approx(thd(EFFECTS[name], 0.3), rel=0.15)


def test_fuzz_is_asymmetric_and_the_others_symmetric():
    for effect in (overdrive, distortion):
        h = harmonics(effect, 0.3)
        assert h[1] < 1e-3 * h[0] and h[3] < 1e-3 * h[0]
    h = harmonics(fuzz, 0.3)
    assert h[1] > 0.03 * h[0] and h[3] > 0.01 * h[0]


def test_overdrive_is_softer_than_distortion():
    for amplitude in (0.05, 0.2, 0.5):
        assert thd(overdrive, amplitude) < 0.7 * thd(distortion, amplitude)


def test_effect_levels_are_comparable_on_the_track():
    x = guitar_track(20.0, SR, seed=0)
    levels = [20 * np.log10(np.sqrt(np.mean(f(x, SR).astype(np.float64) ** 2))) for f in EFFECTS.values()]
    assert max(levels) - min(levels) < 2.0


def test_effects_refuse_bad_input():
    with pytest.raises(InputError, match="unknown effect 'chorus'; built-in effects: overdrive, distortion, fuzz"):
        apply_effect("chorus", np.zeros(10), SR)
    with pytest.raises(InputError, match="mono audio of shape"):
        overdrive(np.zeros((10, 2)), SR)
    with pytest.raises(InputError, match="NaN"):
        fuzz(np.array([0.0, np.nan]), SR)


def test_example_data_layout_latency_and_determinism(tmp_path):
    written = write_example_data(tmp_path / "a", seconds=3.0, latency=37, effects=("overdrive", "fuzz"))
    assert written["latency"] == 37 and written["sample_rate"] == SR
    clean, rate = read_wav(tmp_path / "a/tracks/clean.wav")
    assert rate == SR and clean.shape == (3 * SR,)
    for name in ("overdrive", "fuzz"):
        wet, _ = read_wav(tmp_path / f"a/tracks/{name}.wav")
        assert wet.shape == clean.shape and np.all(wet[:37] == 0)
        assert np.array_equal(wet[37:], apply_effect(name, clean, SR)[:-37])
    for folder in ("Clean", "Overdrive", "Fuzz"):
        names = sorted(p.name for p in (tmp_path / "a" / folder / "Bridge").iterdir())
        assert names == sorted(f"{s}-{f}.wav" for s in range(1, 7) for f in NOTE_FRETS)
    note, _ = read_wav(tmp_path / "a/Clean/Bridge/6-5.wav")
    wet_note, _ = read_wav(tmp_path / "a/Fuzz/Bridge/6-5.wav")
    assert np.array_equal(wet_note[37:], fuzz(note, SR)[:-37])
    write_example_data(tmp_path / "b", seconds=3.0, latency=37, effects=("overdrive", "fuzz"))
    for path in (tmp_path / "a").rglob("*.wav"):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def test_example_data_blips(tmp_path):
    write_example_data(tmp_path, seconds=2.0, effects=("distortion",), notes=False, latency=72, blips=True)
    clean, _ = read_wav(tmp_path / "tracks/clean.wav")
    wet, _ = read_wav(tmp_path / "tracks/distortion.wav")
    assert clean.shape == (int(3.5 * SR),)
    assert list(np.flatnonzero(clean[:int(1.5 * SR)])) == [SR // 2, SR]
    for blip in (SR // 2, SR):                        # each processed click starts 72 samples late
        window = np.abs(wet[blip:blip + 1000])
        assert np.flatnonzero(window > 0.01 * window.max())[0] == 72
    assert not (tmp_path / "Clean").exists()


def test_example_data_refuses_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="unknown effect 'phaser'"):
        write_example_data(tmp_path, seconds=1.0, effects=("phaser",))
    with pytest.raises(InputError, match="latency -1 must be a whole number"):
        write_example_data(tmp_path, seconds=1.0, latency=-1)
