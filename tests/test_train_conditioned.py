"""Training one model with knob inputs from captures of one pedal at several knob settings.

A tiny real training run on the built-in overdrive at four drive/tone settings plus one held out
(2 s of guitar per setting, 16 kHz, two epochs) proves the plumbing: frames [audio, drive, tone],
one model whose IR stores metadata["params"], its engines agree with the trained network, its
output follows the knobs, and metrics.json reports the ESR of every setting, held-out included.
A second run from user captures (the TOML list form) shows the same through WAV files; the
refusals name the key at fault. benchmarks/conditioned.py is the full-size run.
"""
import json
import tomllib

import numpy as np
import pytest
import torch

import tinyrt
from tinyrt.audio import write_wav
from tinyrt.backends import backend, export
from tinyrt.data.effects import apply_effect
from tinyrt.data.synth import guitar_track
from tinyrt.errors import InputError
from tinyrt.train import config_from_dict, train
from tinyrt.train.trainer import predict

SR = 16000
TINY = {"sample_rate": SR, "model": {"hidden_size": 8},
        "train": {"epochs": 2, "segment_seconds": 0.5, "tbptt": 1024, "warmup": 300, "batch_size": 4}}


def builtin_config(**data):
    doc = {"name": "od_knobs", **TINY, "data": {
        "builtin": "overdrive", "knobs": {"drive": [0.2, 0.8], "tone": [0.3, 0.7]},
        "holdout": [{"drive": 0.5, "tone": 0.5}], "seconds_per_setting": 2.0, "fragment_seconds": 0.5, **data}}
    return config_from_dict(doc)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.set_num_threads(1)
    return train(builtin_config(), tmp_path_factory.mktemp("cond"), on_progress=lambda e: None, log=lambda s: None)


def test_builtin_knob_training_reports_every_setting(run):
    settings = run.metrics["settings"]
    assert [s["setting"] for s in settings] == ["drive=0.2,tone=0.3", "drive=0.2,tone=0.7", "drive=0.8,tone=0.3",
                                                 "drive=0.8,tone=0.7", "drive=0.5,tone=0.5"]
    assert [s["split"] for s in settings] == ["train"] * 4 + ["holdout"]
    assert settings[-1]["seconds"] == 2.0            # the whole held-out capture is measured
    assert all(np.isfinite(s["esr"]) and s["esr"] >= 0 for s in settings)
    saved = json.loads((run.out / "metrics.json").read_text())
    assert saved["settings"] == json.loads(json.dumps(settings))
    assert saved["params"] == [{"name": "drive", "min": 0.0, "max": 1.0, "default": 0.5},
                               {"name": "tone", "min": 0.0, "max": 1.0, "default": 0.5}]


def test_the_trained_model_has_knob_inputs_and_engines_agree(run):
    model = tinyrt.load(run.model_path)
    assert model.input_size == 3 and model.metadata["params"][0]["name"] == "drive"
    x = guitar_track(0.5, SR, seed=3)
    frames = np.column_stack([x, np.full_like(x, 0.35), np.full_like(x, 0.6)]).astype(np.float32)
    with torch.no_grad():
        expected = run_net(run, frames)
    for engine in ("reference", "c"):
        y = backend(model, engine).process(frames).reshape(-1)
        np.testing.assert_allclose(y, expected, atol=2e-5, err_msg=engine)
    # the knobs reach the model: another setting gives another sound
    other = frames.copy()
    other[:, 1] = 0.9
    assert np.max(np.abs(model.reference().process(other).reshape(-1) - expected)) > 1e-4
    # and it exports with its knob inputs
    doc = json.loads(export(model, "coreaudioml", run.out / "od.json").read_text())
    assert doc["model_data"]["input_size"] == 3


def run_net(run, frames):
    from tinyrt.train.model import EffectModel
    cfg = builtin_config()
    net = EffectModel(cfg.model, n_knobs=2)
    net.load_state_dict(torch.load(run.out / "best.pt", weights_only=True))
    pair = type("P", (), {"clean": frames})()
    return predict(net.eval(), [pair], torch)[0]


def test_captures_toml_form(tmp_path):
    x = guitar_track(2.0, SR, seed=1)
    entries = []
    for i, (drive, tone, held) in enumerate([(0.2, 0.4, False), (0.9, 0.6, False), (0.5, 0.5, True)]):
        write_wav(tmp_path / f"clean{i}.wav", x, SR)
        write_wav(tmp_path / f"drive={drive},tone={tone}.wav", apply_effect("fuzz", x, SR, drive=drive, tone=tone), SR)
        entries.append(f'[[data.captures]]\nclean = "clean{i}.wav"\ntarget = "drive={drive},tone={tone}.wav"\n'
                       f'params = {{drive = {drive}, tone = {tone}}}\n' + ("holdout = true\n" if held else ""))
    toml = (f'name = "fuzz_knobs"\nsample_rate = {SR}\n[model]\nhidden_size = 4\n[train]\nepochs = 1\n'
            f'segment_seconds = 0.5\ntbptt = 1024\nwarmup = 300\n[data]\nfragment_seconds = 0.5\n' + "".join(entries))
    (tmp_path / "fuzz.toml").write_text(toml)
    result = train(tmp_path / "fuzz.toml", tmp_path / "out", on_progress=lambda e: None, log=lambda s: None)
    rows = result.metrics["settings"]
    assert [(r["setting"], r["split"]) for r in rows] == [("drive=0.2,tone=0.4", "train"),
                                                          ("drive=0.9,tone=0.6", "train"),
                                                          ("drive=0.5,tone=0.5", "holdout")]
    assert result.model.input_size == 3 and [p["name"] for p in result.model.metadata["params"]] == ["drive", "tone"]
    cfg = config_from_dict(tomllib.loads(toml))
    again = config_from_dict(tomllib.loads(cfg.to_toml()))   # the written config reads back the same
    assert again.data.captures == cfg.data.captures and again.data.kind == "captures"


@pytest.mark.parametrize("data,message", [
    ({"knobs": {"gain": [0.5]}}, "has no knob 'gain'"),
    ({"knobs": {"drive": [0.5, 1.5]}}, "values from 0 to 1"),
    ({"holdout": [{"drive": 0.5}]}, "every knob"),
    ({"knobs": {"drive": [0.5]}, "holdout": [{"drive": 0.5}]}, "every knob setting is held out"),
    ({"builtin": "chorus"}, "not a built-in pedal"),
])
def test_builtin_refusals(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        train(builtin_config(**data), tmp_path, on_progress=lambda e: None, log=lambda s: None)


def test_config_refusals():
    with pytest.raises(InputError, match="block_size must be 1"):
        config_from_dict({"data": {"builtin": "fuzz", "knobs": {"drive": [0.5]}}, "model": {"block_size": 4}})
    with pytest.raises(InputError, match="'knobs' must be a dict"):
        config_from_dict({"data": {"builtin": "fuzz", "knobs": [0.5]}})
