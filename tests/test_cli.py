"""The `tinyrt` command end to end, including one-sentence errors without tracebacks."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

import tinyrt
from tinyrt.bench import models as R

TINYRT = str(Path(sys.executable).parent / "tinyrt")


def run(*args, ok=True):
    proc = subprocess.run([TINYRT, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def fail(*args, message):
    proc = run(*args, ok=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyrt: error: "), proc.stderr
    assert message in lines[0], lines[0]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return R.effect_model(np.random.default_rng(1), "gru", 6, skip=True).save(
        tmp_path_factory.mktemp("m") / "pedal.tinyrt")


def test_info_and_convert(model_file, tmp_path):
    assert "gru (input_size=1, hidden_size=6" in run("info", model_file).stdout
    run("export", model_file, "--to", "rtneural", "--skip", "strip", "-o", tmp_path / "p.json")
    run("convert", tmp_path / "p.json", "-o", tmp_path / "back.tinyrt")
    back = tinyrt.load(tmp_path / "back.tinyrt")
    assert [layer.type for layer in back.walk()][-2:] == ["gru", "dense"]


def test_export_every_format(model_file, tmp_path):
    run("export", model_file, "--to", "c", "-o", tmp_path / "c", "--name", "pedal", "--activations", "fast")
    assert (tmp_path / "c" / "pedal.c").is_file() and (tmp_path / "c" / "trt_gru.h").is_file()
    run("export", model_file, "--to", "onnx", "-o", tmp_path / "p.onnx")
    run("export", model_file, "--to", "torch", "-o", tmp_path / "p.pt")
    run("export", model_file, "--to", "tinyrt", "-o", tmp_path / "copy.tinyrt")
    assert all((tmp_path / f).stat().st_size > 0 for f in ("p.onnx", "p.pt", "copy.tinyrt"))


def test_check_passes_and_writes_json(model_file, tmp_path):
    proc = run("check", model_file, "--seconds", "0.3", "--json", tmp_path / "r.json")
    assert "heap 0 lock 0 sym 0" in proc.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] and {e["engine"] for e in report["engines"]} == {"c", "onnxruntime", "torch"}


def test_check_on_the_users_audio(model_file, tmp_path):
    audio = np.random.default_rng(3).uniform(-0.5, 0.5, 9600).astype(np.float32)
    wavfile.write(tmp_path / "in.wav", 48000, audio)
    proc = run("check", model_file, "--audio", tmp_path / "in.wav", "--engines", "c,torch")
    assert ": 9600 frames" in proc.stdout and "FAILED" not in proc.stdout
    wavfile.write(tmp_path / "44k.wav", 44100, audio)
    fail("check", model_file, "--audio", tmp_path / "44k.wav", message="is at 44100 Hz but")
    wavfile.write(tmp_path / "st.wav", 48000, np.stack([audio, audio], 1))
    fail("check", model_file, "--audio", tmp_path / "st.wav", message="has 2 channel(s) but")


def test_run_processes_a_wav_file(model_file, tmp_path):
    audio = np.random.default_rng(2).uniform(-0.5, 0.5, 4800).astype(np.float32)
    wavfile.write(tmp_path / "in.wav", 48000, audio)
    run("run", model_file, tmp_path / "in.wav", tmp_path / "out.wav", "--engine", "onnxruntime")
    rate, out = wavfile.read(tmp_path / "out.wav")
    assert rate == 48000 and out.dtype == np.float32 and len(out) == len(audio)
    expected = tinyrt.load(model_file).reference().process(audio[:, None])[:, 0]
    assert np.abs(out - expected).max() < 1e-5


def test_user_errors_are_one_sentence(model_file, tmp_path):
    fail("info", tmp_path / "nope.tinyrt", message="no such file")
    (tmp_path / "junk.json").write_text("{not json")
    fail("info", tmp_path / "junk.json", message="is not valid JSON")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    fail("convert", tmp_path / "other.json", "-o", tmp_path / "x.tinyrt", message="is not a model format tinyrt reads")
    fail("convert", model_file, "-o", tmp_path / "x.onnx", message="must end in .tinyrt")
    fail("check", model_file, "--engines", "c,tensorrt", message="unknown engine 'tensorrt'")
    wavfile.write(tmp_path / "44k.wav", 44100, np.zeros(100, np.float32))
    fail("run", model_file, tmp_path / "44k.wav", tmp_path / "o.wav", "--strict",  # without it: resampled
         message="runs at 48000 Hz; resample it first, or leave out --strict")
    wavfile.write(tmp_path / "nan.wav", 48000, np.array([0.0, np.nan], np.float32))
    fail("run", model_file, tmp_path / "nan.wav", tmp_path / "o.wav", message="NaN or infinite samples")
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000WAVEjunk")
    fail("run", model_file, tmp_path / "bad.wav", tmp_path / "o.wav", message="not a readable WAV file")


def test_demo_quick(tmp_path):
    """The main job end to end on built-in data: train, export, prove, render, report."""
    proc = run("demo", "--out", tmp_path / "demo", "--quick")
    assert "[7/7]" in proc.stdout and "latency found and removed: 72 samples" in proc.stdout
    demo = tmp_path / "demo"
    report = json.loads((demo / "report.json").read_text())
    names = [m["name"] for m in report["models"]]
    assert names == ["overdrive_lstm16", "distortion_lstm16", "fuzz_lstm16", "overdrive_lstm16_b16"]
    for m in report["models"]:
        assert m["verified"], m
        assert m["max_abs_c_vs_trained_torch"] < 1e-5
        assert m["test_esr_c"] == pytest.approx(m["test_esr_torch"], rel=1e-3, abs=1e-6)
        assert m["test_esr_c"] < 0.5  # a few seconds of training already learns most of the pedal
        for f in (m["curves"], m["compare"], m["config"], m["model"], *m["audio"].values()):
            assert (demo / f).is_file(), f
        assert (demo / "c" / m["name"] / f"{m['name']}.c").is_file()
        assert (demo / "exports" / f"{m['name']}.onnx").is_file()
    html = (demo / "report.html").read_text()
    assert html.count("<audio") == 12 and "overdrive_lstm16_b16" in html
    # the benchmark of every trained model on every engine, scored on the test audio
    assert [b["model"] for b in report["bench"]] == names and "Real-time benchmark" in html
    for b in report["bench"]:
        assert set(b["engines"]) == {"c", "onnxruntime", "torch", "torchscript"} and b["input"] == "given audio"
        esr = [s["accuracy"]["vs_target"]["esr"] for s in b["engines"].values()]
        assert max(s["accuracy"]["vs_reference"]["max_abs"] for s in b["engines"].values()) < 1e-5
        assert max(esr) == pytest.approx(min(esr), rel=1e-3)
    assert (demo / "bench.html").read_text().count("data:image/png") == 5
    # the written configs retrain from the command line
    cfg = demo / "configs" / "fuzz_lstm16.toml"
    assert tinyrt.train.load_config(cfg).model.hidden_size == 16
