"""Every nonsense argument is refused at the boundary in one sentence (exit 2), before any work starts."""
import numpy as np
import pytest

import tinyrt
from test_cli import fail
from tinyrt.bench import models as R


@pytest.mark.parametrize("args, message", [
    (["check", "m.tinyrt", "--seconds", "-1"], "argument --seconds: must be greater than 0, got -1"),
    (["check", "m.tinyrt", "--seconds", "nan"], "argument --seconds: must be a finite number"),
    (["train", "c.toml", "--minutes", "nan"], "argument --minutes: must be a finite number"),
    (["demo", "--minutes", "0"], "argument --minutes: must be greater than 0"),
    (["eval", "m.tinyrt", "--warmup", "-100"], "argument --warmup: must be at least 0, got -100"),
    (["eval", "m.tinyrt", "--fragment-seconds", "inf"], "must be a finite number"),
    (["features", "a.wav", "-o", "f.npy", "--n-fft", "abc"], "argument --n-fft: must be a whole number, got 'abc'"),
    (["features", "a.wav", "-o", "f.npy", "--block", "0"], "argument --block: must be at least 1, got 0"),
    (["export", "m.tinyrt", "--to", "nope", "-o", "x"], "argument --to: invalid choice: 'nope'"),
    (["deploy", "nope", "m.tinyrt", "-o", "x"], "argument target: invalid choice: 'nope'"),
    (["no-such-verb"], "invalid choice: 'no-such-verb'"),
])
def test_bad_arguments_give_one_sentence(args, message):
    fail(*args, message=message)


def test_the_python_api_refuses_text_audio_and_bad_metadata(tmp_path):
    model = R.effect_model(np.random.default_rng(0), "gru", 4)
    with pytest.raises(tinyrt.InputError, match="takes audio as real numbers, got <U5 values"):
        tinyrt.backend(model, "reference")("hello")
    model.metadata["when"] = object()
    with pytest.raises(tinyrt.ModelError, match="metadata cannot be saved as JSON"):
        model.save(tmp_path / "m.tinyrt")
    assert not (tmp_path / "m.tinyrt").exists()


@pytest.mark.parametrize("table, key, value, message", [
    ("train", "grad_clip", -1.0, "[train] grad_clip must be 0 (no clipping) or positive"),
    ("train", "early_stop", -5, "[train] early_stop must be at least 1 epoch"),
    ("train", "threads", 10 ** 9, "[train] threads must be at most 256"),
    ("train", "learning_rate", float("nan"), "[train] learning_rate must be a finite number, got nan"),
    ("train", "max_minutes", float("inf"), "[train] max_minutes must be a finite number"),
    ("loss", "stft", float("inf"), "[loss] stft must be a finite number"),
    (None, "name", "../../..", "name must be letters, digits"),
    (None, "name", "a/b", "name must be letters, digits"),
])
def test_training_configs_refuse_values_that_cannot_train(table, key, value, message):
    from tinyrt.train import config_from_dict
    doc = {"name": "ok", "data": {"kind": "fragments", "clean": "c.wav", "target": "t.wav"}}
    if table:
        doc.setdefault(table, {})[key] = value
    else:
        doc[key] = value
    with pytest.raises(tinyrt.InputError) as info:
        config_from_dict(doc)
    assert message in str(info.value)


@pytest.mark.parametrize("args, message", [
    (["bench", "m.tinyrt", "--sr", "0"], "argument --sr: must be greater than 0, got 0"),
    (["bench", "m.tinyrt", "--seconds", "nan"], "argument --seconds: must be a finite number"),
    (["bench", "m.tinyrt", "--warmup", "-3"], "argument --warmup: must be at least 0, got -3"),
    (["fit", "m.tinyrt", "--limit", "-1"], "argument --limit: must be greater than 0, got -1"),
    (["sweep", "--max-hidden", "x"], "argument --max-hidden: must be a whole number, got 'x'"),
    (["zoo", "--block", "0"], "argument --block: must be at least 1, got 0"),
    (["profile", "m.tinyrt", "--seconds", "-2"], "argument --seconds: must be greater than 0, got -2"),
])
def test_measuring_verbs_refuse_nonsense_numbers(args, message):
    fail(*args, message=message)


def test_a_model_with_a_name_that_is_not_text_is_refused_before_any_engine_runs(tmp_path):
    model = R.effect_model(np.random.default_rng(0), "gru", 4)
    model.name = 123
    for attempt in (lambda: model.save(tmp_path / "m.tinyrt"), lambda: tinyrt.backend(model, "c")):
        with pytest.raises(tinyrt.ModelError, match="the model's name must be a string, got int 123"):
            attempt()
    model.name, model.metadata = "ok", ["not", "a", "dict"]
    with pytest.raises(tinyrt.ModelError, match="ok: metadata must be a dict"):
        tinyrt.backend(model, "reference")
