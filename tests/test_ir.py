"""The IR: file format, validation messages, reference runner conventions, batch-norm folding."""
import io
import json
import zipfile

import numpy as np
import pytest
import torch

import tinyrt
from tinyrt.bench import models as R
from tinyrt.errors import FormatError, InputError, ModelError
from tinyrt.ir import Layer, Model, fold_batchnorm


def rng(seed=0):
    return np.random.default_rng(seed)


def test_save_load_round_trip_keeps_everything(tmp_path):
    m = R.stack_model(rng())
    m.metadata = {"author": "test", "gain_db": -3.0}
    path = m.save(tmp_path / "m.tinyrt")
    back = tinyrt.load(path)
    assert back.summary() == m.summary()
    assert back.metadata == m.metadata and back.sample_rate == 48000.0 and back.block_size == 1
    for a, b in zip(m.walk(), back.walk()):
        assert a.params == b.params
        assert sorted(a.weights) == sorted(b.weights)
        for key in a.weights:
            np.testing.assert_array_equal(a.weights[key], b.weights[key])


def _broken(tmp_path, edit):
    path = R.effect_model(rng(), "lstm", 4).save(tmp_path / "m.tinyrt")
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("model.json"))
        weights = dict(np.load(io.BytesIO(zf.read("weights.npz"))))
    edit(doc, weights)
    buf = io.BytesIO()
    np.savez(buf, **weights)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.json", json.dumps(doc))
        zf.writestr("weights.npz", buf.getvalue())
    return path


@pytest.mark.parametrize("edit, error, message", [
    (lambda d, w: d.update(format_version=99), FormatError, "version 99 is newer than this tinyrt reads"),
    (lambda d, w: d["layers"][0].update(type="attention"), ModelError, r"layer 0 \(attention\): unknown layer type"),
    (lambda d, w: w.pop("0.weight_hh_l0"), FormatError,
     "lists weight 'weight_hh_l0' that weights.npz does not contain"),
    (lambda d, w: (d["layers"][0]["weights"].remove("weight_hh_l0"), w.pop("0.weight_hh_l0")),
     ModelError, r"layer 0 \(lstm\): weight 'weight_hh_l0' is missing"),
    (lambda d, w: w.__setitem__("0.weight_hh_l0", np.full((16, 4), np.nan, np.float32)),
     ModelError, "weight 'weight_hh_l0' contains NaN"),
    (lambda d, w: w.__setitem__("1.weight", np.zeros((1, 5), np.float32)),
     ModelError, r"layer 1 \(dense\): weight 'weight' has shape \(1, 5\), expected \(1, 4\)"),
    (lambda d, w: d["layers"][1]["params"].update(in_features=5), ModelError,
     r"layer 1 \(dense\): weight 'weight' has shape \(1, 4\), expected \(1, 5\)"),
    (lambda d, w: d["layers"][0]["params"].update(hidden_size="big"), ModelError,
     "parameter 'hidden_size' must be an integer"),
    (lambda d, w: d.pop("input_size"), FormatError, "lacks the field 'input_size'"),
])
def test_malformed_files_are_refused_naming_layer_and_field(tmp_path, edit, error, message):
    with pytest.raises(error, match=message):
        tinyrt.load(_broken(tmp_path, edit))


def test_files_that_are_not_models(tmp_path):
    junk = tmp_path / "junk.tinyrt"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(FormatError, match="not a .tinyrt model"):
        tinyrt.load(junk)
    empty = tmp_path / "empty.tinyrt"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(FormatError, match="model.json or weights.npz is missing"):
        tinyrt.load(empty)
    with pytest.raises(FormatError, match="no such"):
        tinyrt.load(tmp_path / "absent.tinyrt")


def test_shape_chain_mismatch_names_the_layer():
    m = Model([R.dense(rng(), 1, 8), R.dense(rng(), 4, 1)], input_size=1)
    with pytest.raises(ModelError,
                       match=r"layer 1 \(dense\): parameter 'in_features' = 4 but the previous layer gives 8"):
        m.validate()
    bad_groups = R.conv1d(rng(), 4, 6, 3, groups=4)
    with pytest.raises(ModelError, match="'out_channels' = 6 is not divisible by groups = 4"):
        Model([bad_groups], input_size=4).validate()
    with pytest.raises(ModelError, match="'function' = 'swish2' is not one of"):
        Model([Layer("activation", {"function": "swish2", "features": 1})], input_size=1).validate()
    with pytest.raises(ModelError, match="not a multiple of block_size"):
        Model([R.dense(rng(), 6, 6)], input_size=6, block_size=4).validate()


def _torch_ref(layer_type, module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("function, module", [
    ("tanh", torch.nn.Tanh()), ("relu", torch.nn.ReLU()), ("sigmoid", torch.nn.Sigmoid()),
    ("softsign", torch.nn.Softsign()), ("elu", torch.nn.ELU(0.7)), ("silu", torch.nn.SiLU()),
    ("gelu", torch.nn.GELU()), ("softmax", torch.nn.Softmax(dim=-1)), ("identity", torch.nn.Identity()),
])
def test_reference_activations_follow_pytorch(function, module):
    x = rng().normal(0, 3, (200, 5)).astype(np.float32)
    params = {"function": function, "features": 5, "alpha": 0.7}
    y = Model([Layer("activation", params)], input_size=5).reference().process(x)
    np.testing.assert_allclose(y, _torch_ref(function, module, x), atol=2e-6)


def test_reference_recurrent_and_conv_follow_pytorch():
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(3, 7, num_layers=2, batch_first=True)
    gru = torch.nn.GRU(7, 5, num_layers=3, batch_first=True)
    conv = torch.nn.Conv1d(5, 6, 4, dilation=3, groups=1)
    def sd(mod):
        return {k: v.numpy() for k, v in mod.state_dict().items()}
    m = Model([Layer("lstm", {"input_size": 3, "hidden_size": 7, "num_layers": 2}, sd(lstm)),
               Layer("gru", {"input_size": 7, "hidden_size": 5, "num_layers": 3}, sd(gru)),
               Layer("conv1d", {"in_channels": 5, "out_channels": 6, "kernel_size": 4, "dilation": 3},
                     sd(conv))], input_size=3)
    x = rng().normal(0, 1, (300, 3)).astype(np.float32)
    with torch.no_grad():
        a, _ = lstm(torch.from_numpy(x)[None])
        b, _ = gru(a)
        y = conv(torch.nn.functional.pad(b.transpose(1, 2), (9, 0))).transpose(1, 2)[0].numpy()
    np.testing.assert_allclose(m.reference().process(x), y, atol=2e-6)


def test_batchnorm_folds_into_dense_and_conv_with_same_numbers():
    r = rng(3)
    m = Model([R.conv1d(r, 1, 4, 3), R.batchnorm(r, 4), R.activation(r, "relu", 4),
               R.dense(r, 4, 6), R.batchnorm(r, 6), R.activation(r, "relu", 6), R.batchnorm(r, 6),
               R.dense(r, 6, 1)], input_size=1)
    folded = Model(fold_batchnorm(m.layers), input_size=1)
    assert [layer.type for layer in folded.layers] == ["conv1d", "activation", "dense", "activation",
                                                      "batchnorm", "dense"]
    x = r.normal(0, 1, (500, 1))
    np.testing.assert_allclose(folded.reference().process(x), m.reference().process(x), atol=1e-6)


def test_reference_split_invariance_and_reset():
    m = R.stack_model(rng(4))
    x = rng(5).normal(0, 0.5, (2000, 1))
    r = m.reference()
    whole = r.process(x)
    r.reset()
    parts = np.concatenate([r.process(x[a:b]) for a, b in [(0, 1), (1, 7), (7, 700), (700, 2000)]])
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-12)


def test_initial_state_is_restored_by_reset():
    layer = R.rnn(rng(6), "lstm", 1, 4, num_layers=2, initial_state=True)
    m = Model([layer, R.dense(rng(7), 4, 1)], input_size=1)
    eng = tinyrt.backend(m, "reference")
    x = np.zeros((5, 1))
    first = eng.process(x)
    eng.reset()
    np.testing.assert_array_equal(eng.process(x), first)
    zero_state = Model([Layer("lstm", layer.params, {k: v for k, v in layer.weights.items()
                                                     if k not in ("h0", "c0")}), m.layers[1]], input_size=1)
    assert np.abs(zero_state.reference().process(x) - first).max() > 1e-3


def test_audio_call_block_adapter_latency_and_splits():
    m = R.effect_model(rng(8), "gru", 6, block_size=16)
    eng = tinyrt.backend(m, "reference")
    assert eng.latency == 15
    audio = rng(9).normal(0, 0.3, 4000)
    whole = eng(audio, 48000)
    eng.reset()
    cuts = [0, 1, 5, 16, 17, 300, 301, 4000]
    parts = np.concatenate([eng(audio[a:b], 48000) for a, b in zip(cuts, cuts[1:])])
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-12)  # float64 BLAS sums vary with batch size
    frames = m.reference().process(audio.reshape(-1, 16)).reshape(-1)
    np.testing.assert_allclose(whole[15:], frames[:4000 - 15], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(whole[:15], 0)


def test_audio_call_refuses_wrong_rate_shape_and_nan():
    eng = tinyrt.backend(R.effect_model(rng(), "lstm", 4), "reference")
    with pytest.raises(InputError, match="runs at 48000 Hz but the audio is at 44100 Hz; resample"):
        eng(np.zeros(10), 44100)
    with pytest.raises(InputError, match=r"takes 1-channel audio shaped \(samples,\) or \(samples, 1\), got \(10, 2\)"):
        eng(np.zeros((10, 2)), 48000)
    with pytest.raises(InputError, match="contains NaN or infinite values"):
        eng(np.array([0.0, np.nan]), 48000)
    with pytest.raises(InputError, match=r"expects frames of shape \(T, 1\), got \(3, 2\)"):
        eng.process(np.zeros((3, 2)))
    with pytest.raises(InputError, match="expects real numbers"):
        eng.process(np.array(["a", "b"]))
