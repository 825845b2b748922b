"""The shared C processor (trt_proc.h + generated glue): every model, gains, knobs, fades, bypass,
block adaptation, non-finite recovery, and the real-time rules, against the C engine and the reference."""
import numpy as np
import pytest

import tinyrt
from tinyrt.backends.c import harness as H
from tinyrt.backends.c.processor import Processor, generate_processor
from tinyrt.bench import models as R
from tinyrt.ir import Layer, Model

RATE = 48000
FADE = int(0.005 * RATE)


def _models():
    rng = np.random.default_rng(7)
    a = R.effect_model(rng, "lstm", 8, skip=True)
    a.name = "clean_lstm"
    b = R.effect_model(rng, "gru", 6, block_size=16)
    b.name = "gru_block16"
    c = R.effect_model(rng, "lstm", 4, block_size=4)
    c.name = "lstm_block4"
    return [a, b, c]


def _knob_model():
    rng = np.random.default_rng(8)
    m = Model([R.rnn(rng, "lstm", 2, 6), R.dense(rng, 6, 1)], input_size=2, sample_rate=RATE, name="knobbed",
              metadata={"params": [{"name": "drive", "min": 0.0, "max": 1.0, "default": 0.25}]})
    return m.validate()


@pytest.fixture(scope="module")
def audio():
    return np.random.default_rng(1).uniform(-0.6, 0.6, RATE // 2).astype(np.float32)


def _split(x, rng, largest=300):
    out, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, largest))
        out.append(x[i:i + n])
        i += n
    return out


@pytest.fixture(scope="module")
def proc():
    return Processor(_models(), "pedalboard")


def test_every_model_equals_the_c_engine_padded_to_the_latency_for_any_host_block(proc, audio):
    assert proc.latency == 15 and [p.name for p in proc.params] == ["effect", "bypass", "input_gain", "output_gain"]
    rng = np.random.default_rng(2)
    for k, model in enumerate(proc.code.models):
        engine = tinyrt.backend(model, "c")(audio)
        pad = proc.latency - (model.block_size - 1)
        proc.set_param("effect", k)
        proc.reset()
        out = np.concatenate([proc.process(b) for b in _split(audio, rng)])  # blocks from 1 sample up
        np.testing.assert_array_equal(out[pad:], engine[:len(audio) - pad])
        assert not out[:pad].any()
        reference = model.reference()
        frames = audio[:len(audio) // model.block_size * model.block_size].reshape(-1, model.input_size)
        truth = reference.process(frames).reshape(-1)
        lag = proc.latency
        assert np.abs(out[lag:lag + len(truth) - lag] - truth[:len(truth) - lag]).max() < 1e-5


def test_gains_in_decibels_and_bypass_give_the_delayed_clean_input(proc, audio):
    proc.set_param("effect", 0)
    proc.set_param("input_gain", -6.0)
    proc.set_param("output_gain", 3.0)
    proc.reset()
    out = proc.process(audio)
    model = proc.code.models[0]
    engine = tinyrt.backend(model, "c")(audio * np.float32(10 ** (-6 / 20)))
    expect = engine * np.float32(10 ** (3 / 20))
    assert np.abs(out[15:] - expect[:-15]).max() <= 1e-6 * np.abs(expect).max()
    proc.set_param("bypass", 1)
    proc.reset()
    np.testing.assert_array_equal(proc.process(audio)[15:], audio[:-15])
    for name, value in (("bypass", 0), ("input_gain", 0), ("output_gain", 0)):
        proc.set_param(name, value)


def test_switching_fades_without_a_click_and_then_runs_the_new_model_from_reset(proc, audio):
    proc.set_param("effect", 0)
    proc.reset()
    cut = 6000
    first = proc.process(audio[:cut])
    proc.set_param("effect", 1)
    second = np.concatenate([proc.process(b) for b in np.array_split(audio[cut:], 50)])
    out = np.concatenate([first, second])
    assert proc.stats()["switches"] == 1
    new = tinyrt.backend(proc.code.models[1], "c")(audio[cut:])  # block 16: latency 15, no padding
    settled = FADE + 64
    np.testing.assert_array_equal(second[settled:], new[settled:])
    old = tinyrt.backend(proc.code.models[0], "c")(audio)
    steps = np.abs(np.diff(out[cut - 100:cut + FADE + 100]))
    natural = max(np.abs(np.diff(old)).max(), np.abs(np.diff(new)).max())
    assert steps.max() <= 1.05 * natural  # the fade adds no step larger than the signals' own
    proc.set_param("effect", 0)


def test_a_knob_reaches_the_model_as_its_second_input_channel(audio):
    p = Processor([_knob_model()], "knobs")
    assert [x.name for x in p.params][4:] == ["knobbed_drive"] and p.params[4].default == 0.25
    p.set_param("knobbed_drive", 0.8)
    p.reset()
    out = np.concatenate([p.process(b) for b in np.array_split(audio, 13)])
    frames = np.stack([audio, np.full_like(audio, 0.8)], axis=1)
    engine = tinyrt.backend(_knob_model(), "c").process(frames)[:, 0]
    np.testing.assert_array_equal(out, engine)


def test_non_finite_input_and_output_are_replaced_reset_and_counted(audio):
    p = Processor(_models()[:1], "guard")
    x = audio.copy()
    x[100] = np.nan
    x[200] = np.inf
    out = p.process(x)
    assert np.isfinite(out).all() and p.stats()["nonfinite_inputs"] == 2
    rng = np.random.default_rng(0)
    blow = Model([R.dense(rng, 1, 1), Layer("gain", {"features": 1, "gain": 1e30}),
                  Layer("gain", {"features": 1, "gain": 1e30})], input_size=1, sample_rate=RATE, name="blow")
    q = Processor([blow], "blowup")
    y = q.process(audio)
    assert np.isfinite(y).all() and q.stats()["model_resets"] > 0


def test_the_processor_never_allocates_or_locks_and_calls_nothing_forbidden():
    report = H.check_code(generate_processor(_models() + [_knob_model().validate()], "rt_check"), frames=4096,
                          block=64)
    assert report["probe_heap_calls"] == 1 and report["heap_calls"] == 0 and report["lock_calls"] == 0
    assert report["forbidden_symbols"] == [] and report["passed"]


def test_refusals_name_the_problem():
    rng = np.random.default_rng(0)
    classifier = Model([R.dense(rng, 4, 3)], input_size=4, name="clf")
    with pytest.raises(tinyrt.UnsupportedError, match="clf gives 3 values per 1-sample frame"):
        generate_processor([classifier])
    a, b = _models()[:2]
    b.sample_rate = 44100
    with pytest.raises(tinyrt.InputError, match="different sample rates"):
        generate_processor([a, b])
    with pytest.raises(tinyrt.InputError, match="both be named 'clean_lstm'"):
        generate_processor([a, a])
    with pytest.raises(tinyrt.InputError, match="at least one model"):
        generate_processor([])
    with pytest.raises(tinyrt.InputError, match="not 44100 Hz"):
        Processor([a], "rate", sample_rate=44100)
    p = Processor([a], "names")
    with pytest.raises(tinyrt.InputError, match="no parameter 'volume'"):
        p.set_param("volume", 1)


def test_hostile_model_names_cannot_break_the_generated_c(audio):
    model = _models()[0]
    model.name = 'evil */ #include <stdio.h> "\n\\ é'
    p = Processor([model], "hostile")
    np.testing.assert_array_equal(p.process(audio), tinyrt.backend(model, "c")(audio))
