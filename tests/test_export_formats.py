"""Export back to the formats guitarists' plugins load: .nam (NAM plugin), AIDA-X and CoreAudioML JSON.

- ``--to nam``: NAM-made LSTM files and tinyrt-built LSTMs written by tinyrt load in NAM's own
  Python package (``nam.models.init_from_nam``) and give tinyrt's output; what NAM's LSTM cannot
  hold (GRU, input skip, knob inputs, blocks) is refused in one sentence.
- ``--to aidax`` / ``--to coreaudioml``: the files load back in tinyrt's importers with equal output,
  and a small PyTorch module rebuilt in the test from the JSON alone gives the same output too;
  knob-conditioned models keep their extra inputs.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tinyrt
from nam_reference import guitar, load_nam, make_nam_lstm, nam_output
from tinyrt import UnsupportedError
from tinyrt.backends import export
from tinyrt.bench import models as R
from tinyrt.ir import Layer, Model

TINYRT = str(Path(sys.executable).with_name("tinyrt"))
HOSTILE = 'amp "x" */ <b>\n\u00e9'


def audio(seconds=0.5, knobs=()):
    x = np.array(guitar(seconds), np.float32)
    if not knobs:
        return x.reshape(-1, 1)
    return np.column_stack([x] + [np.full(len(x), k, np.float32) for k in knobs])


def reference(model, frames):
    return model.reference().process(frames).reshape(-1)


def knob_model(rng, cell="lstm", hidden=8, n_knobs=2, skip=True):
    n_in = 1 + n_knobs
    body = [R.rnn(rng, cell, n_in, hidden, 1), R.dense(rng, hidden, 1)]
    layers = [Layer("residual", {"features": n_in}, layers=body)] if skip else body
    params = [{"name": n, "min": 0.0, "max": 1.0, "default": 0.5} for n in ("drive", "tone")[:n_knobs]]
    return Model(layers, input_size=n_in, sample_rate=48000.0, name=f"knobs_{cell}", metadata={"params": params})


# ---- .nam ----

def test_nam_made_lstm_round_trips_through_tinyrt(tmp_path):
    original = make_nam_lstm(tmp_path, 12, 2, seed=3)
    model = tinyrt.load(original)
    out = export(model, "nam", tmp_path / "back.nam")
    x = audio(2.0)
    expected = nam_output(original, x[:, 0])
    again = nam_output(out, x[:, 0])
    assert np.max(np.abs(again - expected)) <= 1e-6
    c = tinyrt.backends.backend(tinyrt.load(out), "c").process(x).reshape(-1)
    assert np.max(np.abs(c - again)) <= 1e-5


@pytest.mark.parametrize("hidden,layers", [(6, 1), (10, 2)])
def test_tinyrt_lstm_exports_to_nam_and_nam_agrees(tmp_path, hidden, layers):
    model = R.effect_model(np.random.default_rng(hidden), "lstm", hidden, num_layers=layers)
    model.layers[0].weights["h0"] = np.full((layers, hidden), 0.1, np.float32)  # a start state survives too
    model.layers[0].weights["c0"] = np.full((layers, hidden), -0.2, np.float32)
    path = export(model, "nam", tmp_path / "m.nam")
    doc = json.loads(path.read_text())
    assert doc["architecture"] == "LSTM" and doc["sample_rate"] == 48000.0
    net = load_nam(path)
    assert net.sample_rate == 48000.0
    x = audio(0.25)
    np.testing.assert_allclose(nam_output(net, x[:, 0]), reference(model, x), atol=1e-5)


def refuse(model, fmt, message, tmp_path):
    """The export is refused in one sentence and an earlier file at the path is left byte-identical."""
    path = tmp_path / f"x.{fmt}"
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(UnsupportedError, match=message) as info:
        export(model, fmt, path)
    assert str(info.value).count(". ") == 0
    assert (path.read_bytes() if path.exists() else None) == before


def test_nam_refuses_what_its_lstm_cannot_hold(tmp_path):
    rng = np.random.default_rng(0)
    export(R.effect_model(rng, "lstm", 4), "nam", tmp_path / "x.nam")   # an earlier good file
    refuse(R.effect_model(rng, "gru", 8), "nam", "no GRU", tmp_path)
    refuse(R.effect_model(rng, "lstm", 8, skip=True), "nam", "no input skip", tmp_path)
    refuse(R.effect_model(rng, "lstm", 8, block_size=4), "nam", "blocks of 4", tmp_path)
    refuse(knob_model(rng, skip=False), "nam", "2 knob input", tmp_path)
    refuse(R.stack_model(rng), "nam", "NAM has no GRU", tmp_path)
    conv = Model([R.conv1d(rng, 1, 1, 3)], input_size=1, name="fir")
    refuse(conv, "nam", "tinyrt writes NAM's LSTM", tmp_path)


def test_cli_export_to_nam_with_a_hostile_name(tmp_path):
    model = R.effect_model(np.random.default_rng(2), "lstm", 8)
    model.name = HOSTILE
    src = model.save(tmp_path / "m.tinyrt")
    proc = subprocess.run([TINYRT, "convert", str(src), "--to", "nam", "-o", str(tmp_path / "out.nam")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out.nam").read_text())
    assert doc["metadata"]["name"] == HOSTILE
    x = audio(0.1)
    np.testing.assert_allclose(nam_output(tmp_path / "out.nam", x[:, 0]), reference(model, x), atol=1e-5)
    gru = R.effect_model(np.random.default_rng(2), "gru", 8).save(tmp_path / "gru.tinyrt")
    proc = subprocess.run([TINYRT, "export", str(gru), "--to", "nam", "-o", str(tmp_path / "gru.nam")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("tinyrt: error: ") and "GRU" in proc.stderr
    assert not (tmp_path / "gru.nam").exists()


# ---- PyTorch rebuilds from the JSON alone ----

def torch_from_coreaudioml(doc):
    md, sd = doc["model_data"], doc["state_dict"]
    cell = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[md["unit_type"]]
    rec = cell(md["input_size"], md["hidden_size"], md["num_layers"], batch_first=True).double()
    lin = torch.nn.Linear(md["hidden_size"], md["output_size"], bias=md["bias_fl"]).double()
    with torch.no_grad():
        for name, p in rec.named_parameters():
            p.copy_(torch.tensor(sd[f"rec.{name}"]))
        lin.weight.copy_(torch.tensor(sd["lin.weight"]))
        if md["bias_fl"]:
            lin.bias.copy_(torch.tensor(sd["lin.bias"]))

    def run(frames):
        x = torch.from_numpy(np.asarray(frames, np.float64))[None]
        with torch.no_grad():
            y = lin(rec(x)[0])
            if md["skip"]:
                y = y + x[..., :md["skip"]]
        return y[0, :, 0].numpy()
    return run


def torch_from_aidax(doc):
    """RTNeural/Keras layout: kernel (in, 4H or 3H), recurrent (H, .), bias; Keras gate order (GRU z, r, h)."""
    rec_doc, dense_doc = doc["layers"]
    n_in, hidden = doc["in_shape"][-1], rec_doc["shape"][-1]
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in rec_doc["weights"])
    if rec_doc["type"] == "lstm":
        rec = torch.nn.LSTM(n_in, hidden, batch_first=True).double()
        b_ih, b_hh = bias, np.zeros_like(bias)
        order = np.arange(4 * hidden)
    else:
        rec = torch.nn.GRU(n_in, hidden, batch_first=True).double()
        order = np.r_[hidden:2 * hidden, 0:hidden, 2 * hidden:3 * hidden]   # Keras z, r, h -> torch r, z, n
        b_ih, b_hh = bias[0], bias[1]
    lin = torch.nn.Linear(hidden, 1).double()
    with torch.no_grad():
        rec.weight_ih_l0.copy_(torch.from_numpy(kernel.T[order]))
        rec.weight_hh_l0.copy_(torch.from_numpy(recurrent.T[order]))
        rec.bias_ih_l0.copy_(torch.from_numpy(b_ih[order]))
        rec.bias_hh_l0.copy_(torch.from_numpy(b_hh[order]))
        lin.weight.copy_(torch.from_numpy(np.asarray(dense_doc["weights"][0], np.float64).T))
        lin.bias.copy_(torch.from_numpy(np.asarray(dense_doc["weights"][1], np.float64)))
    skip = doc.get("in_skip", 0)

    def run(frames):
        x = torch.from_numpy(np.asarray(frames, np.float64))[None]
        with torch.no_grad():
            y = lin(rec(x)[0])
            if skip:
                y = y + x[..., :skip]
        return y[0, :, 0].numpy()
    return run


CASES = [("lstm", 8, 0, True), ("gru", 12, 0, True), ("lstm", 16, 2, True), ("gru", 8, 1, False),
         ("lstm", 20, 0, False)]


@pytest.mark.parametrize("fmt", ["aidax", "coreaudioml"])
@pytest.mark.parametrize("cell,hidden,knobs,skip", CASES)
def test_json_exports_load_back_and_rebuild_in_torch(tmp_path, fmt, cell, hidden, knobs, skip):
    rng = np.random.default_rng(hidden + knobs)
    model = knob_model(rng, cell, hidden, knobs, skip) if knobs else R.effect_model(rng, cell, hidden, skip=skip)
    path = export(model, fmt, tmp_path / f"m.{fmt}.json")
    doc = json.loads(path.read_text())
    x = audio(0.1, knobs=(0.3, 0.7)[:knobs])
    expected = reference(model, x)
    back = tinyrt.load(path)
    assert back.input_size == 1 + knobs
    np.testing.assert_allclose(reference(back, x), expected, atol=1e-6)
    rebuilt = (torch_from_aidax if fmt == "aidax" else torch_from_coreaudioml)(doc)
    np.testing.assert_allclose(rebuilt(x), expected, atol=1e-5)
    if knobs and fmt == "coreaudioml":
        assert back.metadata["params"] == model.metadata["params"]
    if fmt == "aidax":
        assert doc["in_shape"][-1] == 1 + knobs and doc.get("in_skip", 0) == int(skip)
        assert doc["metadata"]["samplerate"] == 48000.0


def test_json_exports_refuse_what_the_plugins_cannot_run(tmp_path):
    rng = np.random.default_rng(5)
    refuse(R.effect_model(rng, "lstm", 10), "aidax", "8, 12, 16, 20, 32, 40 or 64|8, 12, 16, 20, 32, 40, 64",
           tmp_path)
    refuse(R.effect_model(rng, "lstm", 8, num_layers=2), "aidax", "one LSTM or GRU layer", tmp_path)
    refuse(R.stack_model(rng), "coreaudioml", "SimpleRNN is one LSTM or GRU stack", tmp_path)
    refuse(R.effect_model(rng, "gru", 8, block_size=2), "coreaudioml", "blocks of 2", tmp_path)
    started = R.effect_model(rng, "lstm", 8)
    started.layers[0].weights["h0"] = np.ones((1, 8), np.float32)
    refuse(started, "coreaudioml", "non-zero state", tmp_path)
