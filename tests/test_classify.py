"""The guitar-technique classifier, from synthesised clips to the proven C chain (issue 14, parts 1-4).

- the technique synthesiser is deterministic, labels eight techniques and puts each event at its annotated onset;
- the CLI trains a tiny config end to end and writes the model, the C chain and the report (HTML, JSON, image);
- the C chain (log-mel + CNN in generated C) equals PyTorch on the same windows within 1e-5 and agrees on every
  predicted class of the test set, its features equal the training features bit for bit, hostile names compile;
- the CNN's IR (conv2d, pool2d, folded batch-norm) matches PyTorch on every engine;
- every bad input is refused in one sentence and nothing is trained.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tinyrt.audio import write_wav
from tinyrt.cli import main
from tinyrt.data.clips import check_clips, load_clips
from tinyrt.data.techniques import TECHNIQUES, technique_clips, technique_track
from tinyrt.errors import InputError
from tinyrt.ir import Model, fold_batchnorm
from tinyrt.train.classify import Chain, classifier_chain, config_from_dict, patch, train_classifier
from tinyrt.train.classify.pipeline import aggregate, unknown_effect

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

TINY = """name = "tiny"
sample_rate = 16000
seed = 1
[data]
per_class = 6
clip_seconds = 0.3
techniques = ["pluck", "palm_mute", "kick", "snare"]
min_per_class = 3
test = 0.34
[features]
window_ms = 160.0
n_fft = 256
hop = 128
n_mels = 16
[augment]
copies = 1
[model]
channels1 = 4
channels2 = 6
[train]
epochs = 40
batch_size = 8
learning_rate = 0.01
[classic]
forest_trees = 5
forest_depth = 4
mlp_hidden = 8
mlp_iterations = 50
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Run `tinyrt classify train` on the tiny config (the command's main, in this process: torch is loaded once);
    return its output folder."""
    folder = tmp_path_factory.mktemp("classify")
    (folder / "tiny.toml").write_text(TINY)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["classify", "train", str(folder / "tiny.toml"), "--out", str(folder / "out")])
    assert code == 0, err.getvalue()
    assert "C chain vs PyTorch" in out.getvalue() and "cortex-m4" in out.getvalue()
    return folder / "out"


def test_techniques_are_deterministic_labelled_and_start_at_their_onset():
    a, b = technique_clips(2, seed=3), technique_clips(2, seed=3)
    assert [c.label for c in a] == [t for t in TECHNIQUES for _ in range(2)]
    assert all(np.array_equal(x.audio, y.audio) for x, y in zip(a, b))
    assert not np.array_equal(a[0].audio, technique_clips(2, seed=4)[0].audio)
    for c in a:
        before, after = c.audio[:c.onset], c.audio[c.onset:c.onset + 800]
        assert np.abs(before).max() < 0.01 < np.abs(after).max(), c.source  # silence, then the event
    audio, events = technique_track(4.0, seed=2)
    assert len(events) >= 4 and all(t in TECHNIQUES for _, t in events)
    for at, _ in events:
        assert np.abs(audio[at:at + 400]).max() > 10 * np.abs(audio[max(0, at - 60):at - 20]).max()


def test_the_cli_trains_end_to_end_and_writes_the_report(trained):
    report = json.loads((trained / "report.json").read_text())
    assert set(report["models"]) == {"cnn", "forest", "mlp"}
    for m in report["models"].values():
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1 and m["seconds_per_inference"] > 0
        assert set(m["f1"]) == set(report["classes"]) and m["weight_bytes"] > 0
    assert report["models"]["cnn"]["accuracy"] > 0.5  # four easy classes, chance is 0.25
    assert [r["threshold"] for r in report["unknown"]["cnn"]][:2] == [0.0, 0.3]
    assert report["unknown"]["cnn"][0]["kept"] == 1.0
    page = (trained / "report.html").read_text()
    assert "Per-class F1" in page and "confusion.png" in page and "Unknown threshold" in page
    assert (trained / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert {"tiny.tinyrt", "forest.tinyrt", "mlp.tinyrt"} <= {p.name for p in trained.iterdir()}
    assert {"tiny_chain.c", "tiny_chain.h", "trt_conv2d.h", "trt_frames.h"} <= {p.name for p in
                                                                                 (trained / "chain").iterdir()}
    assert main(["classify", "chain", str(trained / "tiny.tinyrt"), "-o", str(trained / "c2"), "--name", "x*/y"]) == 0
    assert {"x_y.c", "x_y.h", "x_y_cnn.c", "trt_conv2d.h"} <= {p.name for p in (trained / "c2").iterdir()}


def test_the_c_chain_equals_pytorch_on_every_test_window(trained):
    proof = json.loads((trained / "report.json").read_text())["chain"]["proof"]
    assert proof["windows"] >= 8
    assert proof["max_abs_probability_error"] <= 1e-5
    assert proof["class_agreement"] == 1.0 and proof["classes_differing"] == 0
    assert proof["max_abs_feature_error"] == 0.0
    chain = classifier_chain(trained / "tiny.tinyrt", sr=16000)
    clips = technique_clips(1, seed=9, techniques=("pluck", "kick"))
    windows = np.stack([np.pad(c.audio, (0, chain.spec.window))[:chain.spec.window] for c in clips])
    probs = chain.predict(windows)
    assert probs.shape == (2, 4) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert chain.label(probs[0]) in chain.classes and chain.label([0.3, 0.2, 0.25, 0.25]) == "unknown"
    assert "#define TINY_CHAIN_UNKNOWN_THRESHOLD 0.5f" in chain.files()["tiny_chain.h"]
    # the training features are the chain's features, bit for bit
    assert np.array_equal(chain.features(windows[0]), patch(windows[0], chain.spec))
    # and the IR reference on those features is the chain's output
    ref = chain.model.reference().process(np.stack([patch(w, chain.spec) for w in windows]))
    assert np.abs(ref - probs).max() <= 1e-5
    with pytest.raises(InputError, match="classifies audio at 16000 Hz, not 48000 Hz"):
        classifier_chain(trained / "tiny.tinyrt", sr=48000)
    with pytest.raises(InputError, match="windows of"):
        chain.predict(np.zeros(10))


def test_hostile_names_compile(trained):
    from tinyrt.ir import load
    model = load(trained / "tiny.tinyrt")
    model.name = 'evil */ "name"\n<é>'
    model.metadata["classifier"]["classes"] = ['a"b', "c*/d", "new\nline", "??=é"]
    chain = Chain(model)
    assert chain.predict(np.zeros(chain.spec.window, np.float32)).shape == (4,)
    assert chain.name.isidentifier()


def test_cortex_m_sizes(trained):
    if not any((Path(p) / "arm-none-eabi-gcc").exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("arm-none-eabi-gcc is not installed")
    sizes = classifier_chain(trained / "tiny.tinyrt").sizes("cortex-m4")
    assert 1000 < sizes["flash"] < 200_000 and sizes["ram"] > 0 and sizes["stack_estimate"] > 0


def _cnn(seed=0):
    from tinyrt.train.classify.cnn import TechniqueCNN
    torch.manual_seed(seed)
    net = TechniqueCNN(9, 12, 3, (3, 5), 3, mean=-40.0, std=12.0)
    with torch.no_grad():  # batch-norm statistics far from the identity, so the fold is exercised
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return net.eval()


@pytest.mark.parametrize("engine", ["reference", "c", "torch", "torchscript", "onnxruntime"])
def test_the_cnn_ir_matches_pytorch_on_every_engine(engine):
    from tinyrt.backends import backend
    from tinyrt.train.classify.cnn import to_ir
    if engine == "onnxruntime":
        pytest.importorskip("onnxruntime")
    net = _cnn()
    model = to_ir(net, sample_rate=16000)
    assert {layer.type for layer in model.layers} >= {"conv2d", "pool2d", "dense"}
    assert [layer.type for layer in model.layers].count("batchnorm") == 1  # only the input normalisation is left
    x = (-40 + 15 * np.random.default_rng(1).standard_normal((6, 9 * 12))).astype(np.float32)
    with torch.no_grad():
        want = net.double().probabilities(torch.from_numpy(x.astype(np.float64))).numpy()
    got = backend(model, engine).process(x)
    assert np.abs(got - want).max() <= (1e-7 if engine == "reference" else 1e-5)  # float32 weights after the fold


def test_batchnorm_folds_into_conv2d_only_when_per_channel():
    from tinyrt.train.classify.cnn import to_ir
    model = to_ir(_cnn(2), sample_rate=16000)
    unfolded = [layer for layer in model.layers]
    x = np.random.default_rng(0).standard_normal((3, model.input_size))
    assert np.allclose(Model(fold_batchnorm(unfolded), model.input_size).reference().process(x),
                       model.reference().process(x))
    conv = next(layer for layer in model.layers if layer.type == "conv2d")
    from tinyrt.ir import Layer
    n = conv.out_features
    varying = Layer("batchnorm", {"features": n}, {"weight": np.linspace(0.5, 1.5, n), "bias": np.zeros(n),
                                                  "running_mean": np.zeros(n), "running_var": np.ones(n)})
    assert [layer.type for layer in fold_batchnorm([conv, varying])] == ["conv2d", "batchnorm"]


def test_aggregation_and_the_unknown_threshold():
    probs = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.45, 0.55]])
    clip = aggregate(probs, np.array([0, 0, 1, 1]), 2)
    assert np.allclose(clip, [[0.7, 0.3], [0.325, 0.675]])
    rows = {r["threshold"]: r for r in unknown_effect(clip, np.array([0, 0]))}
    assert rows[0.0]["kept"] == 1.0 and rows[0.0]["accuracy_kept"] == 0.5
    assert rows[0.7]["kept"] == 0.5 and rows[0.7]["accuracy_kept"] == 1.0 and rows[0.7]["unknown"] == 1
    assert rows[0.9]["accuracy_kept"] is None


def test_sliding_windows_and_augmentation_train(tmp_path):
    cfg = config_from_dict({"name": "slide", "data": {"per_class": 3, "techniques": ["pluck", "kick"],
                                                      "clip_seconds": 0.3, "min_per_class": 3},
                            "features": {"windows": "sliding", "window_ms": 100.0, "hop_ms": 60.0, "n_fft": 256,
                                         "hop": 128, "n_mels": 8},
                            "augment": {"copies": 1, "pitch_semitones": 2.0, "stretch": 0.2, "mixup": 0.4},
                            "model": {"channels1": 2, "channels2": 2},
                            "train": {"epochs": 2},
                            "classic": {"forest_trees": 2, "mlp_iterations": 5}})
    result = train_classifier(cfg, tmp_path, quiet=True, cortex=False)
    assert result.report["clips"]["test_windows"] > result.report["clips"]["test"]  # several windows per clip
    assert result.report["chain"]["proof"]["class_agreement"] == 1.0


# ---- bad input: one sentence each, nothing trained ----

def _wav(path: Path, sr: int = 16000, seconds: float = 0.3, level: float = 0.5, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    audio = level * np.sin(2 * np.pi * (200 + 50 * seed) * np.arange(int(sr * seconds)) / sr)
    audio += 0.01 * level * rng.standard_normal(len(audio))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, audio.astype(np.float32), sr)
    return path


def _fails(tmp_path, capsys, data: dict, message: str) -> None:
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in data.items())
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f"name = \"bad\"\n[data]\n{body}[train]\nepochs = 1\n")
    capsys.readouterr()
    assert main(["classify", "train", str(cfg), "--out", str(tmp_path / "out"), "--no-cortex"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinyrt: error: ") and message in err[0], err
    assert err[0].endswith(".") and ". " not in err[0][len("tinyrt: error: "):].rstrip(".")
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written


def test_unlabelled_clips_are_refused(tmp_path, capsys):
    _wav(tmp_path / "clips" / "a.wav")
    _fails(tmp_path, capsys, {"kind": "clips", "path": "clips"}, "no labelled clips")


def test_a_single_class_is_refused(tmp_path, capsys):
    for i in range(4):
        _wav(tmp_path / "clips" / "pluck" / f"{i}.wav", seed=i)
    _fails(tmp_path, capsys, {"kind": "clips", "path": "clips"}, "a classifier needs at least two classes")


def test_too_few_examples_are_refused(tmp_path, capsys):
    for i in range(4):
        _wav(tmp_path / "clips" / "pluck" / f"{i}.wav", seed=i)
    _wav(tmp_path / "clips" / "kick" / "0.wav", seed=7)
    _fails(tmp_path, capsys, {"kind": "clips", "path": "clips"}, "class 'kick' has 1 clip(s), fewer than the 4")


def test_mismatched_sample_rates_are_refused(tmp_path, capsys):
    for i in range(4):
        _wav(tmp_path / "clips" / "pluck" / f"{i}.wav", seed=i)
        _wav(tmp_path / "clips" / "kick" / f"{i}.wav", sr=44100 if i == 2 else 16000, seed=i + 4)
    _fails(tmp_path, capsys, {"kind": "clips", "path": "clips"}, "sampled at 44100 Hz but the data set runs at 16000")


def test_silent_clips_are_refused(tmp_path, capsys):
    for i in range(4):
        _wav(tmp_path / "clips" / "pluck" / f"{i}.wav", seed=i)
        _wav(tmp_path / "clips" / "kick" / f"{i}.wav", seed=i + 4, level=0.0 if i == 1 else 0.5)
    _fails(tmp_path, capsys, {"kind": "clips", "path": "clips"}, "the clip is silent")


@pytest.mark.parametrize("row, message", [
    ("take.wav,abc,0.2,pluck", "start 'abc' is not a time in seconds"),
    ("take.wav,-0.1,0.2,pluck", "must be a finite time of 0 s or more"),
    ("take.wav,0.3,0.2,pluck", "end 0.2 s is not after start 0.3 s"),
    ("take.wav,0.1,9.0,pluck", "is past the end of take.wav"),
    ("take.wav,0.1,nan,pluck", "must be a finite time"),
])
def test_bad_csv_times_are_refused(tmp_path, capsys, row, message):
    _wav(tmp_path / "take.wav", seconds=2.0)
    good = ["take.wav,0.0,0.2,kick", "take.wav,0.2,0.4,kick", "take.wav,0.4,0.6,pluck"]
    (tmp_path / "labels.csv").write_text("file,start,end,label\n" + "\n".join(good + [row]) + "\n")
    _fails(tmp_path, capsys, {"kind": "clips", "path": "labels.csv"}, message)


def test_a_good_csv_and_folders_load(tmp_path):
    _wav(tmp_path / "take.wav", seconds=2.0)
    (tmp_path / "labels.csv").write_text("take.wav,0.0,0.5,kick\ntake.wav,0.5,1.0,kick\ntake.wav,1.0,1.5,pluck\n"
                                         "take.wav,1.5,2.0,pluck\n")
    clips = load_clips(tmp_path / "labels.csv")
    assert [c.label for c in clips] == ["kick", "kick", "pluck", "pluck"] and len(clips[0].audio) == 8000
    check_clips(clips, 2, 16000)
    with pytest.raises(InputError, match="fewer than the 3"):
        check_clips(clips, 3)


def test_config_mistakes_are_refused():
    with pytest.raises(InputError, match=r"\[train\]: unknown key 'epoch'"):
        config_from_dict({"train": {"epoch": 3}})
    with pytest.raises(InputError, match="'n_mels' must be a int"):
        config_from_dict({"features": {"n_mels": "many"}})
    with pytest.raises(InputError, match="is not one of pluck"):
        config_from_dict({"data": {"techniques": ["tapping"]}})
    with pytest.raises(InputError, match="shorter than one FFT frame"):
        config_from_dict({"features": {"window_ms": 20.0}})


def test_the_live_event_worker_runs_the_cnn_chain(trained):
    """rt.events' engine (onset detector in the callback, worker thread) takes the CNN chain in place of a classic
    classifier: each result is the chain's answer on the window from its pre-roll before the detected onset."""
    from tinyrt.rt.events import EventEngine
    from tinyrt.train.classify.features import cut
    audio, events = technique_track(3.0, seed=4, techniques=("pluck", "palm_mute", "kick", "snare"))
    engine = EventEngine(trained / "tiny.tinyrt", 16000)
    try:
        results = engine.run(audio)
    finally:
        engine.close()
    chain = classifier_chain(trained / "tiny.tinyrt")
    assert len(results) >= len(events) - 1
    for r in results:
        probs = chain.predict(cut(audio, r["onset"] - chain.spec.pre, chain.spec.window))
        assert r["class"] == int(probs.argmax()) and abs(r["probability"] - float(probs.max())) < 1e-6
        assert r["label"] == chain.classes[r["class"]]


def test_the_chain_allocates_nothing(trained):
    """The CNN's process makes no heap or lock call (the harness's hooks), and the chain's C needs nothing from
    outside but its CNN and maths: no allocator, lock, thread or I/O symbol."""
    import subprocess as sp

    from tinyrt.backends.c.harness import ALLOWED_SYMBOLS, check_realtime
    from tinyrt.c.build import build
    chain = classifier_chain(trained / "tiny.tinyrt")
    report = check_realtime(chain.model, frames=8, block=2)
    assert report["passed"] and report["heap_calls"] == 0 and report["lock_calls"] == 0
    files = chain.files(runtime=True)
    headers = {n: t for n, t in files.items() if n.endswith(".h")}
    obj = build({**headers, f"{chain.name}.c": files[f"{chain.name}.c"]}, f"{chain.name}.o", kind="object")
    needed = {line.split()[-1] for line in sp.run(["nm", "-u", str(obj)], capture_output=True, text=True,
                                                  check=True).stdout.splitlines() if line.strip()}
    maths = {"log10f", "logf", "sqrtf", "cos", "sin", "cosf", "sinf", "sincosf", "sincos", "floor", "floorf"}
    assert needed - ALLOWED_SYMBOLS - maths == {f"{chain.cnn.name}_process", f"{chain.cnn.name}_reset"}, needed


@pytest.mark.parametrize("change, message", [
    ({"padding_h": 3}, "parameter 'padding_h' = 3 must be less than kernel_h = 3"),
    ({"kernel_w": 9, "padding_w": 0}, "parameter 'kernel_w' = 9 is larger than the width 4"),
])
def test_conv2d_validation_names_the_field(change, message):
    from tinyrt.errors import ModelError
    from tinyrt.ir import Layer
    p = {"in_channels": 1, "out_channels": 2, "height": 5, "width": 4, "kernel_h": 3, "kernel_w": 3, **change}
    layer = Layer("conv2d", p, {"weight": np.zeros((2, 1, 3, p["kernel_w"])), "bias": np.zeros(2)})
    with pytest.raises(ModelError, match=re.escape(message)):
        Model([layer], input_size=20).validate()
    pool = Layer("pool2d", {"channels": 1, "height": 4, "width": 4, "kernel_h": 2, "kernel_w": 2, "mode": "median"})
    with pytest.raises(ModelError, match="'mode' = 'median' is not one of max, avg"):
        Model([pool], input_size=16).validate()
    with pytest.raises(ModelError, match=re.escape("its image of 1 x 4 x 4 = 16 values does not match: the previous "
                                                   "layer gives 15 features")):
        Model([Layer("pool2d", {**pool.params, "mode": "max"})], input_size=15).validate()
