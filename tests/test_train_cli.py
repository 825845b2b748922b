"""`tinyrt train` and `tinyrt eval` end to end on the built-in data, and their one-sentence refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinyrt
from test_cli import fail, run
from tinyrt.audio import write_wav
from tinyrt.data import write_example_data

SR = 16000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_example_data(root, sample_rate=SR, seconds=16.0, effects=("overdrive",), notes=True, latency=20, seed=1)
    return root


def _config(path, data, **extra):
    table = {"kind": "fragments", "clean": str(data / "tracks/clean.wav"), "target": str(data / "tracks/overdrive.wav"),
             "fragment_seconds": 0.5, **extra}
    path.write_text(f"""name = "od"
sample_rate = {SR}
[data]
{chr(10).join(f'{k} = {json.dumps(v)}' for k, v in table.items())}
[model]
hidden_size = 6
[train]
epochs = 3
batch_size = 8
segment_seconds = 0.5
tbptt = 1024
warmup = 256
""")
    return path


def test_train_then_eval_on_the_c_engine(tmp_path, data):
    cfg = _config(tmp_path / "od.toml", data)
    proc = run("train", cfg, "--out", tmp_path / "run")
    assert "test ESR" in proc.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["pairs"]["test"] >= 1
    model = tmp_path / "run" / "od.tinyrt"
    out = run("eval", model, "--data", cfg, "--json", tmp_path / "m.json").stdout
    assert "engine c" in out
    m = json.loads((tmp_path / "m.json").read_text())
    # the compiled C engine reproduces the trainer's PyTorch test figure
    assert m["esr"] == pytest.approx(metrics["test"]["esr"], rel=1e-3, abs=1e-6)
    # the whole track as a pair of files: fragments, aligned, every fragment measured
    whole = run("eval", model, "--clean", data / "tracks/clean.wav", "--target", data / "tracks/overdrive.wav",
                "--engine", "onnxruntime").stdout
    assert "engine onnxruntime" in whole and "ESR" in whole


def test_train_from_paired_notes_and_resume(tmp_path, data):
    cfg = tmp_path / "notes.toml"
    cfg.write_text(f"""name = "notes"
sample_rate = {SR}
[data]
kind = "notes"
root = "{data}"
effect = "overdrive"
[model]
hidden_size = 4
cell = "gru"
[train]
epochs = 1
segment_seconds = 0.5
tbptt = 1024
warmup = 256
""")
    run("train", cfg, "--out", tmp_path / "n")
    cfg.write_text(cfg.read_text().replace("epochs = 1", "epochs = 2"))
    proc = run("train", cfg, "--out", tmp_path / "n", "--resume")
    assert json.loads((tmp_path / "n" / "metrics.json").read_text())["epochs"] == 2
    assert tinyrt.load(tmp_path / "n" / "notes.tinyrt").layers[0].layers[0].type == "gru"
    assert "test ESR" in proc.stdout


def test_python_api_is_callable(tmp_path, data):
    cfg = tinyrt.train.load_config(_config(tmp_path / "c.toml", data))
    cfg.train.epochs = 1
    result = tinyrt.train(cfg, tmp_path / "api", on_progress=lambda e: None)
    assert result.model_path.is_file() and result.metrics["epochs"] == 1


def test_train_refusals(tmp_path, data):
    fail("train", tmp_path / "none.toml", message="no such configuration file")
    bad = _config(tmp_path / "bad.toml", data, clean=str(tmp_path / "missing.wav"))
    fail("train", bad, message="missing.wav: no such audio file")
    typo = tmp_path / "typo.toml"
    typo.write_text('[model]\nhiden = 3\n')
    fail("train", typo, message="unknown key 'hiden'")
    fail("train", _config(tmp_path / "ok.toml", data), "--minutes", "0",
         message="argument --minutes: must be greater than 0")
    # a target that is not a processed version of the clean track
    other = tmp_path / "other.wav"
    write_wav(other, np.random.default_rng(5).uniform(-0.3, 0.3, 16 * SR).astype(np.float32), SR)
    fail("train", _config(tmp_path / "unrelated.toml", data, target=str(other)),
         message="does not look like a processed version of")


def test_eval_refusals(tmp_path, data):
    cfg = _config(tmp_path / "od.toml", data)
    run("train", cfg, "--out", tmp_path / "r", "--minutes", "0.05")
    model = tmp_path / "r" / "od.tinyrt"
    fail("eval", model, message="give --data CONFIG.toml, or both --clean and --target")
    other_rate = tmp_path / "48k.toml"
    other_rate.write_text(cfg.read_text().replace(f"sample_rate = {SR}", "sample_rate = 48000"))
    fail("eval", model, "--data", other_rate, message="trains at 48000 Hz but the model runs at 16000 Hz")
    fail("eval", model, "--data", cfg, "--engine", "tpu", message="unknown engine 'tpu'")


def test_demo_and_eval_argument_refusals(tmp_path, data):
    fail("demo", "--out", tmp_path / "d", "--minutes", "0", message="argument --minutes: must be greater than 0, got 0")
    from tinyrt.bench import models as R
    model = R.effect_model(np.random.default_rng(0), "lstm", 4, sample_rate=None)
    path = model.save(tmp_path / "norate.tinyrt")
    fail("eval", path, "--clean", data / "tracks/clean.wav", "--target", data / "tracks/overdrive.wav",
         message="does not say its sample rate")
