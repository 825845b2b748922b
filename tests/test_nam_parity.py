"""Parity against Neural Amp Modeler itself: files made by NAM's own code, every tinyrt engine vs NAM's output.

The .nam files are created with the ``neural-amp-modeler`` package (random weights, exported by its
exporter, see tests/nam_reference.py), loaded with ``tinyrt.frontends.nam`` and run on 10 s of
guitar at 48 kHz by the reference, C, torch and ONNX Runtime engines; NAM's PyTorch forward pass of
the same file is the truth (the NumPy reference runs the first second, it is slow). The WaveNet
cases join this file with the WaveNet importer.
"""
import json

import numpy as np
import pytest

from nam_reference import (
    WAVENET_PRESETS,
    _nam_models,
    _wavenet_config,
    guitar,
    make_nam_lstm,
    make_nam_wavenet,
    nam_output,
)
from tinyrt.backends import backend
from tinyrt.frontends.nam import from_nam

ENGINES = ("reference", "c", "torch", "onnxruntime")
REFERENCE_SECONDS = 1.0  # the float64 NumPy reference steps sample by sample in Python: it gets the first 1 s
TOL = 1e-5            # max abs error against NAM, relative to max(1, output RMS)
LSTM_CASES = [(12, 2), (24, 1)]   # (hidden, layers): two layers, and the size of NAM's "standard" LSTM preset


@pytest.fixture(scope="module")
def audio():
    return guitar(10.0, 48000)


@pytest.fixture(scope="module", params=LSTM_CASES, ids=lambda c: f"lstm{c[0]}x{c[1]}")
def lstm_case(request, tmp_path_factory, audio):
    hidden, layers = request.param
    path = make_nam_lstm(tmp_path_factory.mktemp("nam"), hidden, layers, seed=hidden + layers)
    return path, nam_output(path, audio)


def run(model, engine, audio) -> np.ndarray:
    runner = backend(model, engine)
    runner.reset()
    y = np.asarray(runner.process(np.array(audio, np.float32).reshape(-1, 1)), np.float64).reshape(-1)
    return y


@pytest.mark.parametrize("engine", ENGINES)
def test_lstm_engines_match_nam(lstm_case, engine, audio):
    path, expected = lstm_case
    model = from_nam(json.loads(path.read_text()), name=path.stem)
    assert model.sample_rate == 48000
    rms = float(np.sqrt(np.mean(expected.astype(np.float64) ** 2)))
    assert rms > 0.01, "the random NAM model is silent; the comparison would prove nothing"
    if engine == "reference":
        n = int(REFERENCE_SECONDS * 48000)
        audio, expected = audio[:n], expected[:n]
    y = run(model, engine, audio)
    err = float(np.max(np.abs(y - expected)))
    print(f"{path.stem} {engine}: max abs {err:.2e} (output RMS {rms:.3f})")
    assert err <= TOL * max(1.0, rms), f"{engine} differs from NAM by {err:.3g}"


def test_nam_initial_state_matters(lstm_case, audio):
    """The file's burned-in initial state is used: starting from zero instead gives a different start."""
    path, expected = lstm_case
    model = from_nam(json.loads(path.read_text()))
    lstm = model.layers[0]
    assert np.any(lstm.weights["h0"] != 0)
    lstm.weights["h0"][:] = 0
    lstm.weights["c0"][:] = 0
    y = model.reference().process(np.asarray(audio[:2000], np.float32).reshape(-1, 1)).reshape(-1)
    assert np.max(np.abs(y - expected[:2000])) > 1e-4


def test_nam_reference_helper_wavenets():
    """The helper's WaveNet presets are NAM's trainer presets, and its identity files give the input back."""
    models = _nam_models()
    for name, (channels, head) in {"standard": (16, 8), "lite": (12, 6), "feather": (8, 4), "nano": (4, 2)}.items():
        preset = WAVENET_PRESETS[name]
        assert [a["channels"] for a in preset["layers_configs"]] == [channels, head]
        assert preset["head_scale"] == 0.02
        net = models.wavenet.WaveNet.init_from_config({**_wavenet_config(name), "sample_rate": 48000.0})
        assert net.receptive_field == 4093        # every classic preset sees 4093 samples
    assert WAVENET_PRESETS["standard"]["layers_configs"][1]["dilations"] == [2 ** i for i in range(10)]


def test_identity_wavenet_gives_the_input_back(tmp_path):
    path = make_nam_wavenet(tmp_path, "nano", seed=0, identity=True)
    x = guitar(0.5)
    np.testing.assert_allclose(nam_output(path, x), x, atol=1e-6)
