"""GuitarML SmartGuitarAmp WaveNet JSON and RTNeural's PyTorch state-dict JSON: files generated here from
PyTorch rebuilds with random weights, loaded with tinyrt.load, every engine equal to the rebuild."""
import json

import numpy as np
import pytest
import torch
from torch import nn

import tinyrt
from tinyrt.errors import FormatError, UnsupportedError

ENGINES = ("reference", "c", "torch", "onnxruntime")


class SmartAmpWaveNet(nn.Module):
    """WaveNetVA as SmartGuitarAmp's C++ runs it (WaveNet.cpp, ConvolutionStack.cpp), in PyTorch."""

    def __init__(self, channels, kernel, dilations, activation="gated"):
        super().__init__()
        g = 2 if activation in ("gated", "softgated") else 1
        self.activation, self.dilations, self.kernel, self.channels = activation, dilations, kernel, channels
        self.inp = nn.Conv1d(1, channels, 1)
        self.convs = nn.ModuleList(nn.Conv1d(channels, g * channels, kernel, dilation=d) for d in dilations)
        self.outs = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.head = nn.Conv1d(channels * len(dilations), 1, 1)

    def forward(self, x):  # x: (1, 1, T)
        x = self.inp(x)
        skips = []
        for conv, out, d in zip(self.convs, self.outs, self.dilations):
            z = conv(nn.functional.pad(x, ((self.kernel - 1) * d, 0)))
            if self.activation == "gated":
                a = torch.tanh(z[:, :self.channels]) * torch.sigmoid(z[:, self.channels:])
            elif self.activation == "softgated":
                a = nn.functional.softsign(z[:, :self.channels]) * nn.functional.softsign(z[:, self.channels:])
            else:
                a = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda v: v}[self.activation](z)
            skips.append(a)
            x = x + out(a)
        return self.head(torch.cat(skips, 1))

    def to_json(self, as_text=True) -> dict:
        def var(idx, name, w):
            w = w.detach().numpy().astype(np.float32)
            if w.ndim == 3:
                w = w.transpose(2, 1, 0)  # (out, in, K) -> the file's tap, input, output
            data = w.ravel().tolist()
            return {"layer_idx": idx, "name": name, "data": [repr(v) for v in data] if as_text else data}

        n = len(self.dilations)
        variables = [var(-1, "W", self.inp.weight), var(-1, "b", self.inp.bias)]
        for j, (conv, out) in enumerate(zip(self.convs, self.outs)):
            variables += [var(j, "W_conv", conv.weight), var(j, "b_conv", conv.bias),
                          var(j, "W_out", out.weight), var(j, "b_out", out.bias)]
        variables += [var(n, "W", self.head.weight), var(n, "b", self.head.bias)]
        return {"level_adjust": 2.0, "activation": self.activation, "output_channels": 1, "input_channels": 1,
                "residual_channels": self.channels, "filter_width": self.kernel, "dilations": list(self.dilations),
                "variables": variables}


def _audio(n=3000, seed=0):
    t = np.arange(n) / 48000.0
    rng = np.random.default_rng(seed)
    return (0.5 * np.sin(2 * np.pi * 110 * t) * np.exp(-t * 3) + 0.05 * rng.standard_normal(n)).astype(np.float32)


def _check_engines(model, x, truth, tol=1e-5):
    scale = max(1.0, float(np.sqrt(np.mean(truth ** 2))))
    for name in ENGINES:
        engine = tinyrt.backend(model, name)
        y = np.concatenate([engine.process(x[:1000, None]), engine.process(x[1000:, None])])[:, 0]
        assert np.abs(y - truth).max() <= tol * scale, name


@pytest.mark.parametrize("activation", ["gated", "softgated", "tanh"])
def test_a_smartguitaramp_wavenet_runs_as_its_pytorch_rebuild(activation, tmp_path):
    torch.manual_seed(1)
    net = SmartAmpWaveNet(4, 3, [1, 2, 4, 8, 16], activation).eval()
    path = tmp_path / "amp.json"
    path.write_text(json.dumps(net.to_json(as_text=activation == "gated")))
    model = tinyrt.load(path)
    assert model.metadata["level_adjust"] == 2.0 and model.is_graph
    x = _audio()
    with torch.no_grad():
        truth = net(torch.from_numpy(x)[None, None]).numpy()[0, 0]
    assert np.abs(truth).max() > 1e-2
    _check_engines(model, x, truth)


def test_a_smartguitaramp_file_with_a_missing_or_wrong_variable_is_refused(tmp_path):
    doc = SmartAmpWaveNet(2, 2, [1, 2]).to_json()
    bad = dict(doc, variables=doc["variables"][:-1])
    (tmp_path / "a.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match="the variables lack b of layer 2"):
        tinyrt.load(tmp_path / "a.json")
    bad = dict(doc, activation="swish")
    (tmp_path / "b.json").write_text(json.dumps(bad))
    with pytest.raises(UnsupportedError, match="activation 'swish' is not one SmartGuitarAmp runs"):
        tinyrt.load(tmp_path / "b.json")
    doc["variables"][0]["data"][0] = "loud"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="holds text that is not a number"):
        tinyrt.load(tmp_path / "c.json")


class _Encode(json.JSONEncoder):  # RTNeural's python/lstm_torch.py EncodeTensor
    def default(self, obj):
        return obj.detach().numpy().tolist() if isinstance(obj, torch.Tensor) else super().default(obj)


class RTNeuralLSTM(nn.Module):  # RTNeural python/lstm_torch.py (and gru_torch.py with GRU)
    def __init__(self, cell):
        super().__init__()
        self.lstm, self.lstm2, self.dense = cell(1, 8), cell(8, 8, num_layers=3), nn.Linear(8, 1)

    def forward(self, x):
        return self.dense(self.lstm2(self.lstm(x)[0])[0])


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_an_rtneural_state_dict_of_recurrent_layers_runs_as_pytorch(cell, tmp_path):
    torch.manual_seed(0)
    net = RTNeuralLSTM(cell).eval()
    path = tmp_path / "rnn_torch.json"
    path.write_text(json.dumps(net.state_dict(), cls=_Encode))
    model = tinyrt.load(path)
    assert [layer.type for layer in model.layers] == [cell.__name__.lower()] * 2 + ["dense"]
    x = _audio(2000)
    with torch.no_grad():
        truth = net(torch.from_numpy(x)[:, None]).numpy()[:, 0]
    _check_engines(model, x, truth)


def test_an_rtneural_conv_state_dict_with_activations_and_dilations_runs_as_pytorch(tmp_path):
    torch.manual_seed(2)
    conv, dense = nn.Conv1d(1, 6, 5, dilation=2), nn.Linear(6, 1)
    doc = {f"conv.{k}": v for k, v in conv.state_dict().items()}
    doc |= {f"out.{k}": v for k, v in dense.state_dict().items()}
    path = tmp_path / "conv_torch.json"
    path.write_text(json.dumps(doc, cls=_Encode))
    model = tinyrt.load(path, activations={"conv": "tanh"}, dilations={"conv": 2})
    x = _audio(2000)
    with torch.no_grad():
        h = torch.tanh(conv(nn.functional.pad(torch.from_numpy(x)[None, None], (8, 0))))[0].T
        truth = dense(h).numpy()[:, 0]
    _check_engines(model, x, truth)
    with pytest.raises(UnsupportedError, match="no module is called 'nope'"):
        tinyrt.load(path, activations={"nope": "tanh"})


def test_a_state_dict_with_a_module_tinyrt_cannot_infer_is_refused_in_one_sentence(tmp_path):
    bn = nn.BatchNorm1d(3)
    path = tmp_path / "bn_torch.json"
    path.write_text(json.dumps({f"bn.{k}": v for k, v in bn.state_dict().items() if k != "num_batches_tracked"},
                               cls=_Encode))
    with pytest.raises(UnsupportedError, match=r"'bn\.running_mean' is not a weight or bias"):
        tinyrt.load(path)
