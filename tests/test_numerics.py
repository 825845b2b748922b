"""Numerical safety of the engines' audio calls: a model that blows up is reset and counted, not left
poisoning every later output; the C engine runs with flush-to-zero / denormals-are-zero like an audio host."""
import numpy as np
import pytest

import tinyrt
from tinyrt.bench import models as R
from tinyrt.ir import Layer, Model


def _blowup():
    rng = np.random.default_rng(0)
    return Model([R.rnn(rng, "lstm", 1, 4), R.dense(rng, 4, 1), Layer("gain", {"features": 1, "gain": 1e30}),
                  Layer("gain", {"features": 1, "gain": 1e30})], input_size=1, sample_rate=48000, name="blowup")


@pytest.mark.parametrize("engine", ["c", "onnxruntime", "torch"])  # the float64 reference does not overflow
def test_non_finite_output_resets_the_model_and_is_counted(engine):
    fx = tinyrt.backend(_blowup(), engine)
    x = np.random.default_rng(1).uniform(-0.5, 0.5, 2000).astype(np.float32)
    y = fx(x)
    assert np.isfinite(y).all() and fx.nonfinite_resets >= 1
    quiet = tinyrt.backend(R.effect_model(np.random.default_rng(2), "gru", 4), engine)
    assert np.isfinite(quiet(x)).all() and quiet.nonfinite_resets == 0


def test_the_c_engine_flushes_denormals_like_an_audio_host():
    model = Model([Layer("gain", {"features": 1, "gain": 0.5})], input_size=1, name="half")
    tiny = np.array([[1e-40], [0.25]], dtype=np.float32)  # 1e-40 and its half are subnormal float32
    assert tinyrt.backend(model, "torch").process(tiny)[0, 0] != 0.0  # an engine without FTZ keeps it
    out = tinyrt.backend(model, "c").process(tiny)
    assert out[0, 0] == 0.0 and out[1, 0] == 0.125  # flushed to zero; normal numbers untouched
