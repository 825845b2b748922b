"""tinyrt.backends.verify: the proof `tinyrt check` prints, and its verdicts."""
import sys

import numpy as np

from tinyrt.backends.verify import audio_signal, random_splits, signal_frames, verify
from tinyrt.ir import random as R


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
