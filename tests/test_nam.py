"""Neural Amp Modeler .nam import: LSTM and Linear files written in NAM's layout from torch modules."""
import json

import numpy as np
import pytest
import torch

import tinyrt
from tinyrt import FormatError, UnsupportedError
from tinyrt.frontends.nam import from_nam

torch.manual_seed(1)


def nam_lstm_weights(lstm, head, h0, c0):
    """NAM's flat order: per layer [W_ih | W_hh] row major, summed bias, h0, c0; then head weight, bias."""
    parts = []
    for k in range(lstm.num_layers):
        w = torch.cat([getattr(lstm, f"weight_ih_l{k}"), getattr(lstm, f"weight_hh_l{k}")], dim=1)
        parts += [w.flatten(), getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}"), h0[k], c0[k]]
    parts += [head.weight.flatten(), head.bias]
    return torch.cat(parts).detach().numpy().astype(np.float64).tolist()


def lstm_case(n_out=1, hidden=6, layers=2):
    lstm, head = torch.nn.LSTM(1, hidden, num_layers=layers).double(), torch.nn.Linear(hidden, n_out).double()
    h0, c0 = 0.5 * torch.randn(layers, hidden).double(), 0.5 * torch.randn(layers, hidden).double()
    config = {"input_size": 1, "hidden_size": hidden, "num_layers": layers}
    if n_out != 1:
        config.update(in_channels=1, out_channels=n_out)
    doc = {"version": "0.5.4", "architecture": "LSTM", "config": config,
           "weights": nam_lstm_weights(lstm, head, h0, c0), "sample_rate": 48000,
           "metadata": {"name": "Amp", "loudness": -17.5, "gain": 0.62, "gear_type": "amp"}}
    return doc, lstm, head, h0, c0


def write(tmp_path, doc, name="model.nam"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def signal(T=400):
    rng = np.random.default_rng(2)
    return 0.6 * np.sin(0.03 * np.arange(T))[:, None] + 0.2 * rng.standard_normal((T, 1))


@pytest.mark.parametrize("n_out", [1, 2])
def test_lstm_with_initial_state_matches_torch(tmp_path, n_out):
    doc, lstm, head, h0, c0 = lstm_case(n_out)
    model = tinyrt.load(write(tmp_path, doc))
    x = signal()
    with torch.no_grad():
        y, _ = lstm(torch.from_numpy(x)[:, None], (h0[:, None], c0[:, None]))
        expected = head(y)[:, 0].numpy()
    runner = model.reference()
    np.testing.assert_allclose(runner.process(x), expected, atol=1e-6)
    runner.reset()  # reset returns to the file's initial state, not to zero
    np.testing.assert_allclose(runner.process(x[:50]), expected[:50], atol=1e-6)


def test_metadata_and_sample_rate_are_kept(tmp_path):
    model = tinyrt.load(write(tmp_path, lstm_case()[0], "my_amp.nam"))
    assert model.name == "my_amp" and model.sample_rate == 48000.0
    assert model.metadata["loudness"] == -17.5 and model.metadata["gain"] == 0.62
    assert model.metadata["nam_version"] == "0.5.4" and model.metadata["nam_architecture"] == "LSTM"


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_conv1d(tmp_path, bias):
    conv = torch.nn.Conv1d(1, 1, 24, bias=bias).double()
    kernel = conv.weight.detach().numpy()[0, 0]
    tail = [float(conv.bias.detach())] if bias else []
    x = signal()
    with torch.no_grad():
        expected = conv(torch.nn.functional.pad(torch.from_numpy(x).T[None], (23, 0)))[0].T.numpy()
    base = {"version": "0.7.0", "architecture": "Linear", "config": {"receptive_field": 24, "bias": bias}}
    # NeuralAmpModelerCore reads the taps as an impulse response: weights[0] multiplies the newest sample.
    impulse = tinyrt.load(write(tmp_path, {**base, "weights": kernel[::-1].tolist() + tail}))
    np.testing.assert_allclose(impulse.reference().process(x), expected, atol=1e-9)
    # Files from trainers before the tap-order fix hold the torch kernel itself.
    old = from_nam({**base, "weights": kernel.tolist() + tail}, where="old.nam", linear_order="kernel")
    np.testing.assert_allclose(old.reference().process(x), expected, atol=1e-9)


def test_linear_with_several_channels_filters_each_alike(tmp_path):
    doc = {"version": "0.7.0", "architecture": "Linear", "weights": [1.0, 0.5, 0.25, 0.1],
           "config": {"receptive_field": 3, "bias": True, "in_channels": 2, "out_channels": 2}}
    model = tinyrt.load(write(tmp_path, doc))
    y = model.reference().process(np.array([[1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(y, [[1.1, 2.1], [0.6, 1.1], [0.35, 0.6], [0.1, 0.1]])


def _bad(change):
    doc = lstm_case(layers=1, hidden=3)[0]
    change(doc)
    return doc


BAD_FILES = [
    (lambda d: d["weights"].pop(), FormatError,
     "an LSTM with input_size 1, hidden_size 3, num_layers 1 and 1 output.s. needs 70 weights but the file has 69"),
    (lambda d: d["weights"].append(0.0), FormatError, "needs 70 weights but the file has 71"),
    (lambda d: d.update(architecture="Transformer"), UnsupportedError,
     "NAM architecture 'Transformer' is not supported; tinyrt reads LSTM, Linear, WaveNet and SlimmableContainer"),
    (lambda d: d.update(version="0.8.0"), UnsupportedError, "version 0.8.0 is outside the versions tinyrt reads"),
    (lambda d: d.update(version="0.4.9"), UnsupportedError, "version 0.4.9 is outside"),
    (lambda d: d.update(version=5), FormatError, "'version' must be a version string"),
    (lambda d: d["config"].pop("hidden_size"), FormatError, "'config' lacks the field 'hidden_size'"),
    (lambda d: d["config"].update(num_layers=0), FormatError,
     "config 'num_layers' must be an integer of at least 1"),
    (lambda d: d["config"].update(in_channels=2), UnsupportedError, "in_channels = 2 but input_size = 1"),
    (lambda d: d["weights"].__setitem__(3, float("nan")), FormatError, "'weights' contains NaN"),
    (lambda d: d.update(weights=[[0.0, 1.0]]), FormatError, "'weights' must be a flat list of numbers"),
    (lambda d: d.update(sample_rate=-1), FormatError, "'sample_rate' must be a positive number"),
    (lambda d: d.update(architecture="Linear", config={"receptive_field": 4}), FormatError,
     "config 'bias' must be true or false"),
    (lambda d: d.update(architecture="Linear", config={"receptive_field": 4, "bias": False}), FormatError,
     "a Linear model with receptive_field 4 needs 4 weights but the file has 70"),
]


@pytest.mark.parametrize("change, error, fragment", BAD_FILES)
def test_malformed_files_are_refused_with_the_path(tmp_path, change, error, fragment):
    path = write(tmp_path, _bad(change), "bad.nam")
    with pytest.raises(error, match=fragment) as info:
        tinyrt.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_unknown_linear_order_is_refused():
    with pytest.raises(UnsupportedError, match="linear_order='reversed' is not an option"):
        from_nam(lstm_case()[0], linear_order="reversed")
