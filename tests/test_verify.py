"""tinyrt.backends.verify: the proof `tinyrt check` prints, and its verdicts."""
import sys

import numpy as np
import pytest

from tinyrt.backends.verify import audio_signal, random_splits, signal_frames, verify
from tinyrt.bench import models as R
from tinyrt.errors import InputError


def test_verify_reports_every_engine():
    m = R.effect_model(np.random.default_rng(3), "lstm", 8, num_layers=2)
    report = verify(m, ("c", "onnxruntime", "torch"), seconds=0.2)
    assert report.passed and report.frames == 9600
    for r in report.results:
        assert r.max_abs_error <= 1e-5 and r.split_difference <= 1e-5
    c = report.results[0]
    assert c.realtime["passed"] and c.realtime["heap_calls"] == 0
    assert "heap 0 lock 0 sym 0" in report.table()
    assert report.to_json()["engines"][0]["engine"] == "c"


def test_an_engine_without_its_package_is_reported_not_run(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    m = R.effect_model(np.random.default_rng(4), "gru", 4)
    report = verify(m, ("c", "onnxruntime"), seconds=0.05)
    skipped = report.results[1]
    assert skipped.skipped and "pip install 'tinyrt[onnx]'" in skipped.skipped
    assert report.passed and "not run:" in report.table()
    assert not verify(m, ("onnxruntime",), seconds=0.05).passed  # nothing ran: no proof


def test_signals_and_splits():
    sig = audio_signal(48000, 48000.0, channels=3, seed=1)
    assert sig.shape == (48000, 3) and sig.dtype == np.float32 and np.abs(sig[:, 0]).max() <= 1.0
    m = R.effect_model(np.random.default_rng(5), "lstm", 4, block_size=16)
    assert signal_frames(m, 0.01).shape == (30, 16)
    sizes = random_splits(10000, np.random.default_rng(0), largest=64)
    assert sum(sizes) == 10000 and 1 in sizes and max(sizes) <= 64


def test_verify_on_given_audio():
    m = R.effect_model(np.random.default_rng(6), "lstm", 6, block_size=4)
    frames = np.random.default_rng(7).uniform(-0.4, 0.4, (500, 4)).astype(np.float32)
    report = verify(m, ("c", "torch"), frames=frames)
    assert report.passed and report.frames == 500
    with pytest.raises(InputError, match=r"must have shape \(T, 4\), got \(500, 3\)"):
        verify(m, ("c",), frames=frames[:, :3])


def test_a_chaotic_model_is_explained_not_blamed_on_an_engine():
    """An LSTM with huge recurrent gain flips on rounding; the report says the model is the cause."""
    m = R.effect_model(np.random.default_rng(8), "lstm", 8)
    lstm = next(layer for layer in m.walk() if layer.type == "lstm")
    lstm.weights["weight_hh_l0"] *= 60.0
    lstm.weights["weight_ih_l0"] *= 60.0
    report = verify(m, ("c", "torch"), seconds=0.5)
    assert not report.passed and report.sensitivity > 1e-5
    assert "the model itself amplifies rounding" in report.table()
    steady = verify(R.effect_model(np.random.default_rng(8), "lstm", 8), ("c",), seconds=0.2)
    assert steady.passed and steady.sensitivity is None
