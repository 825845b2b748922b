"""RTNeural JSON: import of Keras-layout files built from torch modules, export, round trips, errors."""
import json

import numpy as np
import pytest
import torch

import tinyrt
from tinyrt import FormatError, Layer, Model, UnsupportedError
from tinyrt.backends.rtneural import to_rtneural
from tinyrt.bench import models as rnd
from tinyrt.frontends.rtneural import from_rtneural

torch.manual_seed(0)


def _np(t):
    return t.detach().numpy().astype(np.float64)


def _list(a):
    return np.asarray(a, dtype=np.float64).tolist()


def keras_lstm(lstm, k):
    """Keras LSTM weights for sub-layer k: kernel (in, 4H), recurrent (H, 4H), one summed bias."""
    b = getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}")
    return [_list(_np(getattr(lstm, f"weight_ih_l{k}")).T), _list(_np(getattr(lstm, f"weight_hh_l{k}")).T),
            _list(_np(b))]


def keras_gru(gru, k):
    """Keras GRU weights (reset_after): gate blocks z, r, h where torch stores r, z, n."""
    def zrh(a):
        r, z, n = np.split(_np(a), 3, axis=0)
        return np.concatenate([z, r, n], axis=0)
    return [_list(zrh(getattr(gru, f"weight_ih_l{k}")).T), _list(zrh(getattr(gru, f"weight_hh_l{k}")).T),
            _list([zrh(getattr(gru, f"bias_ih_l{k}")), zrh(getattr(gru, f"bias_hh_l{k}"))])]


def keras_dense(lin):
    return [_list(_np(lin.weight).T), _list(_np(lin.bias))]


def entry(kind, n, weights, activation="", **extra):
    return {"type": kind, "activation": activation, "shape": [None, None, n], "weights": weights, **extra}


def write(tmp_path, doc, name="model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def signal(T=300, n=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None]
    return 0.6 * np.sin(0.05 * t * np.arange(1, n + 1)) + 0.3 * rng.standard_normal((T, n))


def seq(x):
    return torch.from_numpy(x)[:, None, :]  # (T, batch 1, features)


def test_two_layer_lstm_file_matches_torch(tmp_path):
    lstm, lin = torch.nn.LSTM(1, 8, num_layers=2).double(), torch.nn.Linear(8, 1).double()
    doc = {"in_shape": [None, None, 1], "layers": [
        entry("lstm", 8, keras_lstm(lstm, 0), "tanh"), entry("lstm", 8, keras_lstm(lstm, 1), "tanh"),
        entry("dense", 1, keras_dense(lin))]}
    model = tinyrt.load(write(tmp_path, doc))
    x = signal()
    with torch.no_grad():
        expected = lin(lstm(seq(x))[0])[:, 0].numpy()
    assert [layer.type for layer in model.layers] == ["lstm", "lstm", "dense"]
    np.testing.assert_allclose(model.reference().process(x), expected, atol=1e-6)


def test_gru_with_activations_matches_torch(tmp_path):
    gru, lin = torch.nn.GRU(2, 6).double(), torch.nn.Linear(6, 3).double()
    doc = {"in_shape": [None, None, 2], "layers": [
        entry("gru", 6, keras_gru(gru, 0), "tanh"), entry("time-distributed-dense", 3, keras_dense(lin), "tanh"),
        entry("activation", 3, [], "softmax")]}
    model = tinyrt.load(write(tmp_path, doc))
    x = signal(n=2)
    with torch.no_grad():
        expected = torch.softmax(torch.tanh(lin(gru(seq(x))[0])), dim=-1)[:, 0].numpy()
    np.testing.assert_allclose(model.reference().process(x), expected, atol=1e-9)


def test_conv_prelu_batchnorm_stack_matches_torch(tmp_path):
    conv = torch.nn.Conv1d(2, 4, 3, dilation=2, groups=2).double()
    bn = torch.nn.BatchNorm1d(4, eps=1e-3).double().eval()
    bn.running_mean.uniform_(-0.3, 0.3), bn.running_var.uniform_(0.5, 2.0)
    bn.weight.data.uniform_(0.5, 1.5), bn.bias.data.uniform_(-0.2, 0.2)
    prelu = torch.nn.PReLU(4).double()
    prelu.weight.data.uniform_(0.05, 0.5)
    lin = torch.nn.Linear(4, 1).double()
    doc = {"in_shape": [None, None, 2], "layers": [
        entry("conv1d", 4, [_list(_np(conv.weight).transpose(2, 1, 0)), _list(_np(conv.bias))], "elu",
              kernel_size=[3], dilation=[2], groups=2),
        entry("batchnorm", 4, [_list(_np(w)) for w in (bn.weight, bn.bias, bn.running_mean, bn.running_var)],
              epsilon=1e-3),
        entry("prelu", 4, [[_list(_np(prelu.weight))]]),
        entry("dense", 1, keras_dense(lin), "sigmoid")]}
    model = tinyrt.load(write(tmp_path, doc))
    x = signal(n=2)
    with torch.no_grad():
        h = torch.nn.functional.pad(torch.from_numpy(x).T[None], (4, 0))  # causal: (K-1)*dilation on the left
        h = prelu(bn(torch.nn.functional.elu(conv(h))))[0].T
        expected = torch.sigmoid(lin(h)).numpy()
    np.testing.assert_allclose(model.reference().process(x), expected, atol=1e-9)


@pytest.mark.parametrize("n_in", [1, 2])
def test_aida_x_file_with_skip_and_gains(tmp_path, n_in):
    lstm, lin = torch.nn.LSTM(n_in, 6).double(), torch.nn.Linear(6, 1).double()
    doc = {"in_shape": [None, None, n_in], "in_skip": 1, "in_gain": 6.0, "out_gain": -3.0,
           "layers": [entry("lstm", 6, keras_lstm(lstm, 0)), entry("dense", 1, keras_dense(lin))],
           "input_batch": [0.0, 0.1], "output_batch": [0.0, 0.2],
           "metadata": {"name": "amp", "samplerate": "48000", "author": "someone"}}
    model = tinyrt.load(write(tmp_path, doc, "amp.json"))
    x = signal(n=n_in)
    gx = x.copy()
    gx[:, 0] *= 10 ** (6.0 / 20)  # AIDA-X scales the audio input, not the knob
    with torch.no_grad():
        expected = (lin(lstm(seq(gx))[0])[:, 0].numpy() + gx[:, :1]) * 10 ** (-3.0 / 20)
    assert model.sample_rate == 48000.0
    assert model.metadata["author"] == "someone"
    np.testing.assert_allclose(model.reference().process(x), expected, atol=1e-6)


def _from_torch_ir():
    """An IR model built straight from torch modules, with the Keras document those modules give."""
    lstm, gru, lin = torch.nn.LSTM(1, 5, num_layers=2), torch.nn.GRU(5, 4), torch.nn.Linear(4, 1)
    def state(module):
        return {k: _np(v) for k, v in module.state_dict().items()}
    layers = [Layer("lstm", {"input_size": 1, "hidden_size": 5, "num_layers": 2}, state(lstm)),
              Layer("gru", {"input_size": 5, "hidden_size": 4}, state(gru)),
              Layer("dense", {"in_features": 4, "out_features": 1}, state(lin)),
              Layer("activation", {"function": "tanh", "features": 1})]
    keras = [keras_lstm(lstm, 0), keras_lstm(lstm, 1), keras_gru(gru, 0), keras_dense(lin)]
    return Model(layers, input_size=1, sample_rate=44100.0, name="t"), keras


def test_export_writes_rtneural_keras_layout():
    model, keras = _from_torch_ir()
    doc = to_rtneural(model)
    assert doc["in_shape"] == [None, None, 1]
    assert [(e["type"], e["activation"], e["shape"][-1]) for e in doc["layers"]] == [
        ("lstm", "", 5), ("lstm", "", 5), ("gru", "", 4), ("dense", "tanh", 1)]
    for got, want in zip(doc["layers"], keras):
        assert len(got["weights"]) == len(want)
        for a, b in zip(got["weights"], want):
            np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-7)
    assert doc["metadata"]["samplerate"] == 44100.0


def _round_trip_models():
    rng = np.random.default_rng(3)
    conv_stack = Model([
        rnd.conv1d(rng, 1, 6, 5, dilation=2), rnd.batchnorm(rng, 6), rnd.activation(rng, "prelu", 6),
        rnd.conv1d(rng, 6, 6, 3, dilation=3, groups=3, bias=False),
        Layer("activation", {"function": "relu", "features": 6}),
        rnd.dense(rng, 6, 8, bias=False), Layer("activation", {"function": "elu", "features": 8}),
        Layer("activation", {"function": "identity", "features": 8}),
        rnd.rnn(rng, "gru", 8, 6, num_layers=2), rnd.dense(rng, 6, 4),
        Layer("activation", {"function": "softmax", "features": 4}), rnd.dense(rng, 4, 1),
        Layer("activation", {"function": "sigmoid", "features": 1})], input_size=1, name="conv_stack")
    return {
        "lstm2": rnd.effect_model(rng, "lstm", 12, num_layers=2),
        "gru": rnd.effect_model(rng, "gru", 8),
        "block4": rnd.effect_model(rng, "lstm", 8, block_size=4),
        "conv_stack": conv_stack,
        "lstm_no_bias": Model([rnd.rnn(rng, "lstm", 2, 4, bias=False), rnd.dense(rng, 4, 1)], input_size=2),
    }


@pytest.mark.parametrize("key", list(_round_trip_models()))
def test_export_then_load_gives_the_same_numbers(tmp_path, key):
    model = _round_trip_models()[key]
    path = tinyrt.export(model, "rtneural", tmp_path / f"{key}.json")
    back = tinyrt.load(path)
    x = signal(n=model.input_size)
    assert np.abs(back.reference().process(x) - model.reference().process(x)).max() <= 1e-6
    assert (back.block_size, back.sample_rate) == (model.block_size, model.sample_rate)


def test_whole_model_skip_needs_strip_and_round_trips(tmp_path):
    model = rnd.effect_model(np.random.default_rng(4), "lstm", 8, skip=True)
    with pytest.raises(UnsupportedError, match=r"layer 0 \(residual\).*skip='strip'"):
        tinyrt.export(model, "rtneural", tmp_path / "a.json")
    path = tinyrt.export(model, "rtneural", tmp_path / "a.json", skip="strip")
    doc = json.loads(path.read_text())
    assert doc["in_skip"] == 1 and [e["type"] for e in doc["layers"]] == ["lstm", "dense"]
    x = signal()
    assert np.abs(tinyrt.load(path).reference().process(x) - model.reference().process(x)).max() <= 1e-6


@pytest.mark.parametrize("layer, fragment", [
    (Layer("gain", {"features": 2, "gain": 0.5}), r"layer 1 \(gain\).*no gain layer"),
    (Layer("activation", {"function": "softsign", "features": 2}), r"layer 1 \(activation\).*no softsign"),
    (Layer("activation", {"function": "gelu", "features": 2}), r"no gelu activation"),
    (Layer("activation", {"function": "elu", "features": 2, "alpha": 0.5}), r"alpha 1, this one uses 0.5"),
    (Layer("residual", {"features": 2}, layers=[Layer("activation", {"function": "tanh", "features": 2})]),
     r"layer 1 \(residual\).*no skip connections"),
])
def test_export_refuses_what_rtneural_cannot_run(tmp_path, layer, fragment):
    model = Model([rnd.dense(np.random.default_rng(0), 1, 2), layer], input_size=1)
    with pytest.raises(UnsupportedError, match=fragment + r".*RTNeural supports dense, conv1d"):
        tinyrt.export(model, "rtneural", tmp_path / "x.json")


def test_export_refuses_initial_state_and_unknown_options(tmp_path):
    rng = np.random.default_rng(0)
    model = Model([rnd.rnn(rng, "lstm", 1, 4, initial_state=True), rnd.dense(rng, 4, 1)], input_size=1)
    with pytest.raises(UnsupportedError, match=r"layer 0 \(lstm\).*initial state h0.*resets to zero"):
        tinyrt.export(model, "rtneural", tmp_path / "x.json")
    with pytest.raises(UnsupportedError, match="skip='keep' is not an option"):
        tinyrt.export(rnd.effect_model(rng), "rtneural", tmp_path / "x.json", skip="keep")
    with pytest.raises(UnsupportedError, match="no option 'indent'"):
        tinyrt.export(rnd.effect_model(rng), "rtneural", tmp_path / "x.json", indent=2)


def _good_doc():
    lstm, lin = torch.nn.LSTM(1, 4), torch.nn.Linear(4, 1)
    return {"in_shape": [None, None, 1], "layers": [entry("lstm", 4, keras_lstm(lstm, 0)),
                                                    entry("dense", 1, keras_dense(lin))]}


def _edit(change):
    doc = _good_doc()
    change(doc)
    return doc


BAD_FILES = [
    (lambda d: d["layers"][0].update(type="lambda"), UnsupportedError, "layer 0 has type 'lambda'"),
    (lambda d: d.update(in_shape=[None, 10, 10, 1]), UnsupportedError, "conv2d model"),
    (lambda d: d.update(in_shape="one"), FormatError, "'in_shape' must be a list"),
    (lambda d: d.update(layers=[]), FormatError, "'layers' must be a non-empty list"),
    (lambda d: d["layers"][0].pop("shape"), FormatError, r"layer 0 \(lstm\): 'shape' must be a list"),
    (lambda d: d["layers"][0].update(weights=d["layers"][0]["weights"][:1]), FormatError,
     r"layer 0 \(lstm\): 'weights' must be a list of 2 or 3"),
    (lambda d: d["layers"][1]["weights"][0].pop(), FormatError,
     r"layer 1 \(dense\): the dense kernel has shape \(3, 1\), expected \(4, 1\)"),
    (lambda d: d["layers"][1]["weights"][1].__setitem__(0, float("nan")), FormatError,
     "the dense bias contains NaN"),
    (lambda d: d["layers"][1].update(activation="swish"), UnsupportedError,
     "activation 'swish' is not one RTNeural runs"),
    (lambda d: d.update(in_skip=2), UnsupportedError, "'in_skip' = 2 must equal the 1 model outputs"),
    (lambda d: d.update(in_skip="yes"), FormatError, "'in_skip' must be an integer"),
    (lambda d: d.update(metadata={"samplerate": "fast"}), FormatError,
     "the sample rate must be a positive number"),
    (lambda d: d["layers"].insert(1, entry("batchnorm", 4, [[0.0] * 4, [1.0] * 4])), FormatError,
     r"layer 1 \(batchnorm\): a batchnorm layer needs the field 'epsilon'"),
    (lambda d: d["layers"].insert(1, entry("prelu", 3, [[[0.1] * 4]])), FormatError,
     r"'shape' says 3 features but a prelu layer keeps its 4"),
    (lambda d: d["layers"].insert(1, entry("conv1d", 4, [[[[0.1] * 4] * 4], [0.0] * 4])), FormatError,
     "a conv1d layer needs the field 'kernel_size'"),
    (lambda d: d["layers"].insert(1, entry("gru", 4, [[[0.0] * 12] * 4, [[0.0] * 12] * 4, [0.0] * 12])),
     UnsupportedError, "reset_after=False"),
]


@pytest.mark.parametrize("change, error, fragment", BAD_FILES)
def test_malformed_files_are_refused_with_the_path(tmp_path, change, error, fragment):
    path = write(tmp_path, _edit(change), "bad.json")
    with pytest.raises(error, match=fragment) as info:
        tinyrt.load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert str(info.value).count(". ") == 0  # one sentence


def test_from_rtneural_reads_a_dict_directly():
    model = from_rtneural(_good_doc(), name="direct", where="inline")
    assert model.name == "direct" and model.output_size == 1
