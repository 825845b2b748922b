"""CoreAudioML / GuitarML SimpleRNN JSON import, checked against a torch module that computes like SimpleRNN."""
import json

import numpy as np
import pytest
import torch

import tinyrt
from tinyrt import FormatError, UnsupportedError

torch.manual_seed(2)


class SimpleRNNLike(torch.nn.Module):
    """Computes what CoreAudioML's SimpleRNN.forward computes: lin(rec(x)) + x[..., 0:skip]."""

    def __init__(self, unit, n_in, n_out, hidden, layers, skip, bias_fl):
        super().__init__()
        self.rec = getattr(torch.nn, unit)(n_in, hidden, layers)
        self.lin = torch.nn.Linear(hidden, n_out, bias=bias_fl)
        self.skip = skip

    def forward(self, x):
        y = self.lin(self.rec(x)[0])
        return y + x[:, :, 0:self.skip] if self.skip else y

    def document(self, **extra):
        """The JSON SimpleRNN.save_model writes: model_data plus the state dict as lists."""
        rec = self.rec
        model_data = {"model": "SimpleRNN", "input_size": rec.input_size, "skip": self.skip,
                      "output_size": self.lin.out_features, "unit_type": rec._get_name(),
                      "num_layers": rec.num_layers, "hidden_size": rec.hidden_size,
                      "bias_fl": self.lin.bias is not None, **extra}
        state = {k: v.tolist() for k, v in self.state_dict().items()}
        return {"model_data": model_data, "state_dict": state}


def write(tmp_path, doc, name="model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def signal(n_in, T=300):
    rng = np.random.default_rng(5)
    x = 0.5 * np.sin(0.04 * np.arange(T))[:, None] + 0.2 * rng.standard_normal((T, 1))
    knobs = np.tile(rng.uniform(0, 1, n_in - 1), (T, 1))  # conditioned models: constant knob values
    return np.concatenate([x, knobs], axis=1)


@pytest.mark.parametrize("unit, n_in, n_out, layers, skip, bias_fl", [
    ("LSTM", 3, 1, 2, 1, True),   # conditioned amp: audio + two knobs, skip adds the audio
    ("GRU", 1, 2, 1, 0, False),   # no skip, no output bias, two outputs
    ("LSTM", 2, 2, 1, 2, True),   # skip of two channels onto two outputs
])
def test_simple_rnn_matches_torch(tmp_path, unit, n_in, n_out, layers, skip, bias_fl):
    net = SimpleRNNLike(unit, n_in, n_out, 8, layers, skip, bias_fl).double()
    model = tinyrt.load(write(tmp_path, net.document()))
    x = signal(n_in)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(model.reference().process(x), expected, atol=1e-9)
    assert (model.input_size, model.output_size) == (n_in, n_out)


def test_sample_rate_and_extra_fields_are_kept(tmp_path):
    net = SimpleRNNLike("LSTM", 1, 1, 4, 1, 1, True)
    model = tinyrt.load(write(tmp_path, net.document(sample_rate=44100, author="me")))
    assert model.sample_rate == 44100.0 and model.metadata == {"author": "me"}
    with pytest.warns(tinyrt.errors.AssumptionWarning, match="assumes 44100 Hz"):  # GuitarML's rate
        assert tinyrt.load(write(tmp_path, net.document())).sample_rate == 44100.0


def _bad(change):
    doc = SimpleRNNLike("LSTM", 1, 1, 4, 1, 1, True).document()
    change(doc)
    return doc


BAD_FILES = [
    (lambda d: d["model_data"].update(model="GatedConvNet"), UnsupportedError,
     "CoreAudioML model 'GatedConvNet' is not supported"),
    (lambda d: d["model_data"].update(unit_type="RNN"), UnsupportedError, "unit_type 'RNN' is not supported"),
    (lambda d: d["model_data"].pop("hidden_size"), FormatError, "'model_data' lacks the field 'hidden_size'"),
    (lambda d: d["state_dict"].pop("rec.bias_hh_l0"), FormatError,
     r"'state_dict' lacks 'rec.bias_hh_l0' \(expected shape \(16,\)\)"),
    (lambda d: d["state_dict"].update({"rec.weight_hh_l1": [[0.0]]}), FormatError,
     "'state_dict' has the key 'rec.weight_hh_l1'"),
    (lambda d: d["state_dict"]["lin.weight"][0].pop(), FormatError,
     r"'state_dict' entry 'lin.weight' has shape \(1, 3\), expected \(1, 4\)"),
    (lambda d: d["state_dict"]["lin.bias"].__setitem__(0, float("inf")), FormatError, "contains NaN or infinite"),
    (lambda d: d["model_data"].update(skip=2), UnsupportedError, "skip = 2 with 1 inputs and 1 outputs"),
    (lambda d: d["model_data"].update(bias_fl="yes"), FormatError, "'bias_fl' must be true or false"),
    (lambda d: d["model_data"].update(bidirectional=True), UnsupportedError, "bidirectional"),
    (lambda d: d.update(state_dict=[]), FormatError, "must both be objects"),
]


@pytest.mark.parametrize("change, error, fragment", BAD_FILES)
def test_malformed_files_are_refused_with_the_path(tmp_path, change, error, fragment):
    path = write(tmp_path, _bad(change), "bad.json")
    with pytest.raises(error, match=fragment) as info:
        tinyrt.load(path)
    assert str(info.value).startswith(f"{path}: ")
