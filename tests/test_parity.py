"""The parity proof: 10 s of audio in random block splits through C, ONNX Runtime and torch must
match the float64 NumPy reference within 1e-5 max abs, and any split must equal one call."""
import numpy as np
import pytest

import tinyrt
from tinyrt.backends.verify import random_splits, run_split, signal_frames
from tinyrt.bench import models as R
from tinyrt.ir import Layer, Model

SECONDS = 10.0
TOLERANCE = 1e-5
ENGINES = ("c", "onnxruntime", "torch")


def _conv_stack(rng, kernel, dilation, groups):
    return Model([R.conv1d(rng, 1, 8, kernel, dilation), R.activation(rng, "tanh", 8),
                  R.conv1d(rng, 8, 8, kernel, dilation, groups), R.activation(rng, "relu", 8),
                  R.dense(rng, 8, 1)], input_size=1, sample_rate=48000.0,
                 name=f"conv_k{kernel}_d{dilation}_g{groups}")


def _activations(rng):
    layers = [R.dense(rng, 1, 6)]
    for fn in ("tanh", "relu", "sigmoid", "softsign", "elu", "prelu", "silu", "gelu", "identity"):
        layers += [R.activation(rng, fn, 6), R.dense(rng, 6, 6)]
    layers += [R.activation(rng, "softmax", 6), R.dense(rng, 6, 1)]
    return Model(layers, input_size=1, sample_rate=48000.0, name="activations")


def _cases():
    rng = np.random.default_rng(2024)
    cases = {}
    for cell, sizes in (("lstm", (1, 4, 16, 32, 64, 128)), ("gru", (1, 8, 32, 128))):
        for hidden in sizes:
            cases[f"{cell}{hidden}"] = R.effect_model(rng, cell, hidden)
    cases["lstm16x2_skip"] = R.effect_model(rng, "lstm", 16, num_layers=2, skip=True)
    cases["gru8x3"] = R.effect_model(rng, "gru", 8, num_layers=3)
    cases["lstm_block16"] = R.effect_model(rng, "lstm", 32, block_size=16)
    for kernel, dilation, groups in ((1, 1, 1), (3, 2, 1), (7, 16, 2), (15, 5, 4), (15, 16, 8), (2, 9, 8)):
        cases[f"conv_k{kernel}_d{dilation}_g{groups}"] = _conv_stack(rng, kernel, dilation, groups)
    cases["stack"] = R.stack_model(rng)
    cases["activations"] = _activations(rng)
    cases["gain_batchnorm"] = Model([R.dense(rng, 1, 4), R.batchnorm(rng, 4),
                                     Layer("gain", {"features": 4, "gain": 0.25}), R.dense(rng, 4, 1)],
                                    input_size=1, sample_rate=48000.0, name="gain_batchnorm")
    return cases


CASES = _cases()


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_ten_seconds_agree_on_every_engine(case):
    model = CASES[case]
    frames = signal_frames(model, SECONDS, seed=1)
    assert len(frames) * model.block_size == int(SECONDS * 48000)
    truth = model.reference().process(frames)
    rng = np.random.default_rng(7)
    for name in ENGINES:
        engine = tinyrt.backend(model, name)
        split = run_split(engine, frames, random_splits(len(frames), rng, largest=4096))
        err = np.abs(split - truth).max()
        assert err <= TOLERANCE, f"{name}: max abs error {err:.2e} over {SECONDS:g} s"
        whole = run_split(engine, frames[:48000], [min(48000, len(frames))])
        again = run_split(engine, frames[:48000], random_splits(min(48000, len(frames)), rng, largest=300))
        if name == "c":
            np.testing.assert_array_equal(again, whole)
        else:  # ONNX Runtime and torch kernels may round differently for other batch lengths
            assert np.abs(again - whole).max() <= 1e-6
