"""The PyTorch importer (from_torch), the IR -> PyTorch modules, the TorchScript exporter and TorchBackend."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tinyrt
from tinyrt.backends.torch import TorchBackend, TorchModel, export, to_torch
from tinyrt.bench import models as rnd
from tinyrt.errors import InputError, ModelError, UnsupportedError
from tinyrt.frontends.torch import from_torch
from tinyrt.ir import Model

torch.manual_seed(0)


def frames(rng, B, T, F_):
    """Return random frames [B, T, F] as float32."""
    return rng.standard_normal((B, T, F_)).astype(np.float32)


def reference(model: Model, x: np.ndarray) -> np.ndarray:
    """Return the reference runner's output for each batch item, from a reset state."""
    runner = model.reference()
    out = []
    for xb in x:
        runner.reset()
        out.append(runner.process(xb))
    return np.stack(out)


def run_sequential(seq, x):
    """Run an nn.Sequential the way tinyrt reads it: an (output, state) tuple passes on as output[0]."""
    for child in seq:
        x = child(x)
        x = x[0] if isinstance(x, tuple) else x
    return x


def torch_out(fn, x: np.ndarray, layout: str = "btf") -> np.ndarray:
    """Return fn's output for frames x [B, T, F], calling it in its own layout and returning [B, T, F_out]."""
    with torch.no_grad():
        t = torch.from_numpy(x)
        if layout == "btf":
            return fn(t).double().numpy()
        if layout == "tbf":
            return fn(t.transpose(0, 1)).transpose(0, 1).double().numpy()
        if layout == "bft":
            return fn(t.transpose(1, 2)).transpose(1, 2).double().numpy()
        return np.stack([fn(xb).double().numpy() for xb in t])  # "tf": unbatched [T, F]


def check_parity(module, x, layout="btf", call=None):
    """Import module with x as example and return the model after checking it against torch.

    A causally padded Conv1d gives (kernel_size-1)*dilation extra frames at the end; only the first
    T frames are the stream's.
    """
    module.eval()
    model = from_torch(module, x)
    want = torch_out(call or module, x, layout)[:, :x.shape[1]]
    got = reference(model, x)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1e-5
    return model


class Head(nn.Module):
    """rec -> linear, the shape of a guitar-effect model, as a custom module (torch.fx path)."""

    def __init__(self, rec, n_out):
        super().__init__()
        self.rec, self.lin = rec, nn.Linear(rec.hidden_size, n_out)

    def forward(self, x):
        y, _ = self.rec(x)
        return self.lin(y)


class SimpleRNN(nn.Module):
    """The CoreAudioML SimpleRNN pattern: time-major LSTM, stored hidden state, input skip by slice."""

    def __init__(self, n_in=1, hidden=8, skip=1):
        super().__init__()
        self.rec, self.lin = nn.LSTM(n_in, hidden), nn.Linear(hidden, skip)
        self.skip, self.hidden = skip, None

    def forward(self, x):
        res = x[:, :, 0:self.skip]
        x, self.hidden = self.rec(x, self.hidden)
        return self.lin(x) + res


LAYER_CASES = {
    "linear": (lambda: nn.Sequential(nn.Linear(3, 5)), "btf"),
    "linear-nobias": (lambda: nn.Sequential(nn.Linear(3, 5, bias=False)), "btf"),
    "tanh": (lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh()), "btf"),
    "relu": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU()), "btf"),
    "sigmoid": (lambda: nn.Sequential(nn.Linear(3, 4), nn.Sigmoid()), "btf"),
    "softsign": (lambda: nn.Sequential(nn.Linear(3, 4), nn.Softsign()), "btf"),
    "elu": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ELU(alpha=0.7)), "btf"),
    "prelu1": (lambda: nn.Sequential(nn.Linear(3, 4), nn.PReLU(init=0.1)), "btf"),
    "prelu-per-feature": (lambda: nn.Sequential(nn.Linear(3, 4), nn.PReLU(4, init=0.2)), "tf"),
    "silu": (lambda: nn.Sequential(nn.Linear(3, 4), nn.SiLU()), "btf"),
    "gelu": (lambda: nn.Sequential(nn.Linear(3, 4), nn.GELU()), "btf"),
    "softmax": (lambda: nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=-1)), "btf"),
    "identity-dropout": (lambda: nn.Sequential(nn.Identity(), nn.Linear(3, 4), nn.Dropout(0.5)), "btf"),
    "nested": (lambda: nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), nn.Sequential(nn.Linear(4, 2))),
               "btf"),
    "conv-causal": (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, dilation=2, padding=4)), "bft"),
    "conv-groups": (lambda: nn.Sequential(nn.Conv1d(3, 6, 2, groups=3, padding=1, bias=False), nn.Tanh()), "bft"),
    "conv-kernel1": (lambda: nn.Sequential(nn.Conv1d(3, 2, 1)), "bft"),
    "conv-prelu-softmax": (lambda: nn.Sequential(nn.Conv1d(3, 4, 2, padding=1), nn.PReLU(4), nn.Softmax(dim=1)),
                           "bft"),
    "mlp-batchnorm": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2)), "tf"),
    "lstm-head": (lambda: Head(nn.LSTM(3, 6, batch_first=True), 2), "btf"),
    "gru-head-time-major": (lambda: Head(nn.GRU(3, 6), 2), "tbf"),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_each_module_kind_matches_torch(case):
    rng = np.random.default_rng(1)
    make, layout = LAYER_CASES[case]
    module = make()
    for m in module.modules():  # non-trivial running statistics and PReLU slopes
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model = check_parity(module, frames(rng, 2, 24, 3), layout)
    assert model.input_size == 3
    assert model.metadata["source"] == "torch"


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("batch_first", [True, False])
def test_multi_layer_recurrent_in_sequential(cell, num_layers, batch_first):
    rng = np.random.default_rng(num_layers)
    seq = nn.Sequential(cell(2, 5, num_layers=num_layers, batch_first=batch_first), nn.Linear(5, 1), nn.Tanh())
    model = check_parity(seq, frames(rng, 3, 20, 2), "btf" if batch_first else "tbf",
                         call=lambda t: run_sequential(seq, t))
    rec = model.layers[0]
    assert (rec.type, rec.params["num_layers"]) == (cell.__name__.lower(), num_layers)
    assert model.metadata["torch_layout"] == ("(batch, time, features)" if batch_first else "(time, batch, features)")


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_recurrent_without_bias(cell):
    rng = np.random.default_rng(2)
    module = Head(cell(2, 4, num_layers=2, bias=False, batch_first=True), 1)
    model = check_parity(module, frames(rng, 1, 16, 2))
    assert model.layers[0].params["bias"] is False and "bias_ih_l0" not in model.layers[0].weights


def test_batchnorm_folds_into_linear_and_conv():
    rng = np.random.default_rng(3)
    conv = nn.Sequential(nn.Conv1d(2, 4, 3, padding=2), nn.BatchNorm1d(4), nn.Tanh(),
                         nn.Conv1d(4, 3, 2, padding=1, bias=False), nn.BatchNorm1d(3))
    mlp = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    for module, layout in ((conv, "bft"), (mlp, "tf")):
        for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm1d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.3, 0.3)
        model = check_parity(module, frames(rng, 2, 16, 2), layout)
        assert "batchnorm" not in [layer.type for layer in model.walk()]
    kept = check_parity(nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.BatchNorm1d(4)), frames(rng, 1, 8, 2), "tf")
    assert [layer.type for layer in kept.layers] == ["dense", "activation", "batchnorm"]


def test_conv1d_offsets_are_aligned():
    rng = np.random.default_rng(4)
    valid = nn.Sequential(nn.Conv1d(1, 3, 3, dilation=2), nn.ReLU(), nn.Conv1d(3, 1, 2))
    x = frames(rng, 1, 30, 1)
    model = from_torch(valid.eval(), x)
    assert model.metadata["torch_frame_offset"] == 5
    want = torch_out(valid, x, "bft")
    assert want.shape[1] == 25
    assert np.max(np.abs(reference(model, x)[:, 5:] - want)) <= 1e-5
    same = from_torch(nn.Sequential(nn.Conv1d(1, 2, 3, padding="same")), x)
    assert same.metadata["torch_frame_offset"] == 1


def test_fx_coreaudioml_simple_rnn_skip():
    rng = np.random.default_rng(5)
    module = SimpleRNN().eval()
    x = frames(rng, 2, 32, 1)
    from_torch(module, x)
    assert module.hidden is None  # from_torch leaves the module as it was
    model = check_parity(module, x, "tbf")
    assert [layer.type for layer in model.layers] == ["residual"]
    assert [layer.type for layer in model.layers[0].layers] == ["lstm", "dense"]
    with pytest.raises(UnsupportedError, match=r"nn.LSTM 'rec' is given a stored state tensor \(such as "
                       r"self.hidden from an earlier call\); .*reset that state to None before importing"):
        from_torch(module)  # check_parity ran the module, which stored its state in self.hidden
    module.hidden = None
    unchecked = from_torch(module)  # the input size comes from the LSTM, met after the skip's slice
    assert unchecked.layers[0].params["features"] == unchecked.input_size == 1
    assert np.array_equal(reference(unchecked, x), reference(model, x))


class SkipGain(nn.Module):
    """A batch-first custom module with functions, a constant gain, a transpose and a sliced skip."""

    def __init__(self):
        super().__init__()
        self.conv, self.rec, self.lin = nn.Conv1d(3, 4, 2, padding=1), nn.GRU(4, 6, batch_first=True), nn.Linear(6, 2)

    def forward(self, x):
        h = self.conv(x.transpose(1, 2))[..., :-1].transpose(1, 2)
        y = self.rec(F.elu(h, 0.5))[0]
        return torch.tanh(self.lin(y) / 4) + x[..., :2]


def test_fx_functions_gain_transpose_and_sliced_skip():
    rng = np.random.default_rng(6)
    module = SkipGain().eval()
    model = check_parity(module, frames(rng, 2, 20, 3))
    body = [layer.type for layer in model.layers[0].layers]
    assert body == ["conv1d", "activation", "gru", "dense", "gain", "activation"]
    assert model.layers[0].layers[4].params["gain"] == 0.25
    assert model.output_size == 2


def test_round_trip_ir_torch_ir_is_identical():
    rng = np.random.default_rng(7)
    model = rnd.stack_model(rng)
    model.layers.insert(5, rnd.rnn(rng, "lstm", 8, 8, num_layers=2, bias=False, initial_state=True))
    model.layers[6] = rnd.rnn(rng, "gru", 8, 8, num_layers=2, initial_state=True)
    model.layers += [rnd.conv1d(rng, 1, 2, 3, bias=False), rnd.dense(rng, 2, 1, bias=False)]
    model.validate()
    back = from_torch(to_torch(model))
    assert (back.input_size, back.block_size, back.sample_rate, back.name) == (1, 1, 48000.0, "stack")
    pairs = list(zip(model.walk(), back.walk()))
    assert len(pairs) == len(list(model.walk())) == len(list(back.walk()))
    for a, b in pairs:
        assert (a.type, a.params) == (b.type, b.params)
        assert sorted(a.weights) == sorted(b.weights)
        assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    x = frames(rng, 1, 40, 1)
    assert np.array_equal(reference(model, x), reference(back, x))
    from_torch(to_torch(model), x)  # the example check passes on tinyrt's own module
    backend = TorchBackend(model)
    assert np.max(np.abs(split_process(backend, x[0], rng) - reference(model, x)[0])) <= 1e-5


def test_tinyrt_modules_inside_a_custom_module():
    rng = np.random.default_rng(8)
    inner = to_torch(rnd.effect_model(rng, "gru", 4))

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = inner

        def forward(self, x):
            y, _ = self.net(x)
            return 2.0 * y

    model = check_parity(Wrapper(), frames(rng, 1, 12, 1), call=lambda t: inner.run(t) * 2.0)
    assert [layer.type for layer in model.layers] == ["gru", "dense", "gain"]


class MyLinear(nn.Linear):
    """A subclass that keeps nn.Linear's forward(): imported as an nn.Linear."""


class Doubled(nn.Sequential):
    """A Sequential subclass with its own forward(): traced, not walked."""

    def forward(self, x):
        return super().forward(x) * 2


def test_subclasses_of_torch_modules():
    rng = np.random.default_rng(13)
    model = check_parity(Doubled(MyLinear(3, 2), nn.Tanh()), frames(rng, 1, 9, 3))
    assert [layer.type for layer in model.layers] == ["dense", "activation", "gain"]


def split_process(backend, x, rng):
    """Return backend outputs for x processed in random blocks, 1-frame blocks included."""
    out, i = [], 0
    while i < len(x):
        n = int(rng.choice([1, 1, 2, 3, 7, 16]))
        out.append(backend.process(x[i:i + n]))
        i += n
    return np.concatenate(out)


@pytest.mark.parametrize("engine", ["torch", "torchscript"])
@pytest.mark.parametrize("which", ["stack", "lstm-block16", "gru-skip-block16"])
def test_torch_backend_matches_reference_in_any_split(which, engine):
    rng = np.random.default_rng(9)
    model = {"stack": lambda: rnd.stack_model(rng),
             "lstm-block16": lambda: rnd.effect_model(rng, "lstm", 12, num_layers=2, block_size=16),
             "gru-skip-block16": lambda: rnd.effect_model(rng, "gru", 8, block_size=16, skip=True)}[which]()
    x = rng.standard_normal((60, model.input_size)).astype(np.float32)
    want = model.reference().process(x)
    backend = tinyrt.backend(model, engine)
    assert isinstance(backend, TorchBackend) and backend.name == engine
    assert isinstance(backend.net, torch.jit.ScriptModule) == (engine == "torchscript")
    got = split_process(backend, x, rng)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1e-5
    backend.reset()
    assert np.max(np.abs(backend.process(x) - want)) <= 1e-5
    assert torch.get_num_threads() == 1


def test_torch_model_batches_and_streams():
    rng = np.random.default_rng(10)
    model = rnd.stack_model(rng)
    net = to_torch(model)
    x = frames(rng, 3, 25, 1)
    want = reference(model, x)
    with torch.no_grad():
        assert np.max(np.abs(net.run(torch.from_numpy(x)).numpy() - want)) <= 1e-5
        y1, state = net(torch.from_numpy(x[:, :1]))
        y2, state = net(torch.from_numpy(x[:, 1:10]), state)
        y3, _ = net(torch.from_numpy(x[:, 10:]), state)
    assert np.max(np.abs(torch.cat([y1, y2, y3], 1).numpy() - want)) <= 1e-5


@pytest.mark.filterwarnings("ignore:`torch.jit")
def test_torchscript_export_reloads_with_the_same_numbers(tmp_path):
    rng = np.random.default_rng(11)
    model = rnd.stack_model(rng)
    path = tinyrt.export(model, "torch", tmp_path / "stack.pt")
    extra = {"tinyrt.json": ""}
    loaded = torch.jit.load(str(path), _extra_files=extra)
    assert b'"input_size": 1' in extra["tinyrt.json"]
    x = frames(rng, 2, 30, 1)
    want = reference(model, x)
    with torch.no_grad():
        assert np.max(np.abs(loaded.run(torch.from_numpy(x)).numpy() - want)) <= 1e-5
        y1, state = loaded(torch.from_numpy(x[:, :1]))
        y2, _ = loaded(torch.from_numpy(x[:, 1:]), state)
    assert np.max(np.abs(torch.cat([y1, y2], 1).numpy() - want)) <= 1e-5
    assert export(model, tmp_path / "again.pt") == tmp_path / "again.pt"
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(InputError, match=r"cannot create the folder .*plain"):
        export(model, tmp_path / "plain" / "m.pt")
    assert export(model, tmp_path / "missing" / "m.pt").is_file()  # a missing folder is created


def test_example_check_runs_in_eval_mode_and_restores_training():
    rng = np.random.default_rng(12)
    seq = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.9), nn.Tanh())  # left in training mode
    model = from_torch(seq, frames(rng, 1, 10, 2))
    assert seq.training and all(m.training for m in seq.modules())
    assert [layer.type for layer in model.layers] == ["dense", "activation"]


def test_options_name_sample_rate_block_size():
    model = from_torch(nn.Sequential(nn.Linear(16, 16)), sample_rate=44100, block_size=16, name="blk")
    assert (model.name, model.sample_rate, model.block_size, model.input_size) == ("blk", 44100, 16, 16)
    assert from_torch(nn.Sequential(nn.Linear(3, 1))).name == "Sequential"
    rt = to_torch(rnd.effect_model(np.random.default_rng(0), "lstm", 4, block_size=4))
    assert from_torch(rt).block_size == 4


def test_a_hidden_change_is_caught_by_the_example_check():
    torch.manual_seed(0)  # unseeded weights once gave outputs small enough to hide a 0.1 % change
    lin = nn.Linear(2, 2)
    lin.register_forward_hook(lambda module, inputs, out: out + 0.01)
    with pytest.raises(ModelError, match=r"differs from Sequential on example_input by up to [0-9.e-]+ \(more than"):
        from_torch(nn.Sequential(lin, nn.Tanh()), torch.ones(5, 2) * 3)


class AddsBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x):
        return self.a(x) + self.b(x)


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.a(x)
        return x


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)

    def forward(self, x):
        return torch.cat([self.a(x), x], -1)


class UsesState(nn.Module):
    def __init__(self):
        super().__init__()
        self.r = nn.LSTM(3, 3, batch_first=True)

    def forward(self, x):
        y, (h, c) = self.r(x)
        return y + h


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.r = nn.GRU(3, 3, batch_first=True)

    def forward(self, x, h):
        return self.r(x, h)[0]


class RawParameter(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))

    def forward(self, x):
        return x * self.w


class WideSkip(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 1)

    def forward(self, x):
        return self.a(x) + x


class Lambda(nn.Module):
    """A custom module around one Linear whose forward() is the given function of (self.a, x)."""

    def __init__(self, fn):
        super().__init__()
        self.a, self.fn = nn.Linear(3, 3), fn

    def forward(self, x):
        return self.fn(self.a, x)


BAD = [
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.MultiheadAttention(4, 2)), UnsupportedError,
     r"nn.MultiheadAttention '1' is not a layer tinyrt can import; supported: nn.Linear, nn.LSTM"),
    (lambda: nn.Sequential(nn.Conv2d(3, 3, 3)), UnsupportedError, r"nn.Conv2d '0' is not a layer tinyrt can import"),
    (lambda: nn.LSTM(3, 4, bidirectional=True), UnsupportedError, r"nn.LSTM is bidirectional.*bidirectional=False"),
    (lambda: nn.LSTM(3, 4, proj_size=2), UnsupportedError, r"nn.LSTM has proj_size=2.*proj_size=0"),
    (lambda: nn.GRU(3, 4, num_layers=2, dropout=0.1), UnsupportedError,
     r"nn.GRU applies dropout between its layers in training mode; call module.eval\(\)"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.GELU(approximate="tanh")), UnsupportedError,
     r"nn.GELU '1' uses the 'tanh' approximation"),
    (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, stride=2)), UnsupportedError, r"nn.Conv1d '0' has stride 2"),
    (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, padding=2, padding_mode="reflect")), UnsupportedError,
     r"pads with 'reflect'.*padding_mode='zeros'"),
    (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, padding=3)), UnsupportedError,
     r"pads 3 frames on the left, more than \(kernel_size-1\)\*dilation = 2"),
    (lambda: nn.Sequential(nn.Conv1d(3, 4, 3), nn.Conv1d(4, 4, 3, padding=2)), UnsupportedError,
     r"nn.Conv1d '1' starts from zero state 2 frames after the imported stream does"),
    (lambda: nn.Sequential(nn.Conv1d(3, 4, 2, padding=1), nn.LSTM(4, 4)), UnsupportedError,
     r"nn.LSTM '1' needs its input laid out as \(time, batch, features\) or \(time, features\) but gets "
     r"\(batch, features, time\)"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)), ModelError,
     r"nn.Linear '1' takes 5 features per frame but gets 4 from the layer before"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Softmax()), UnsupportedError, r"nn.Softmax '1' has no dim set"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False)), UnsupportedError,
     r"keeps no running statistics"),
    (lambda: nn.Identity(), UnsupportedError, r"Identity has no layers tinyrt can import"),
    (AddsBranches, UnsupportedError, r"operator.add\(\) in AddsBranches.forward\(\) adds two tensors neither"),
    (Branches, UnsupportedError, r"torch.fx cannot trace Branches.forward\(\) \(TraceError"),
    (Concat, UnsupportedError, r"Concat.forward\(\) calls torch.cat\(\), which tinyrt cannot import; supported:"),
    (UsesState, UnsupportedError, r"uses item 1 of the \(output, state\) tuple of nn.LSTM 'r'"),
    (TwoInputs, UnsupportedError, r"TwoInputs.forward\(\) also needs h; tinyrt models take one tensor"),
    (RawParameter, UnsupportedError, r"RawParameter.forward\(\) uses the tensor 'w' directly"),
    (WideSkip, UnsupportedError, r"adds 1 features to 3; .*slice the skip to match"),
    (lambda: Lambda(lambda a, x: a(x) + 1.0), UnsupportedError, r"adds something other than two tensors"),
    (lambda: Lambda(lambda a, x: 4 / a(x)), UnsupportedError, r"calls operator.truediv\(\), which tinyrt cannot"),
    (lambda: Lambda(lambda a, x: a(x)[0]), UnsupportedError, r"indexes with 0; tinyrt imports only slices"),
    (lambda: Lambda(lambda a, x: x.permute(0, 2, 1) + a(x)), UnsupportedError,
     r"adds a tensor laid out as \(batch, time, features\) to one laid out as \(batch, features, time\)"),
]


@pytest.mark.parametrize("make, error, message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_unsupported_modules_say_what_and_why(make, error, message):
    with pytest.raises(error, match=message):
        from_torch(make(), torch.zeros(1, 6, 3))


@pytest.mark.filterwarnings("ignore:`torch.jit")
def test_bad_arguments():
    seq = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(InputError, match=r"example_input has 4 features per frame but Sequential reads 3"):
        from_torch(seq, torch.zeros(5, 4))
    with pytest.raises(InputError, match=r"example_input must be shaped \[batch, time, features\].*got shape \(3,\)"):
        from_torch(seq, torch.zeros(3))
    with pytest.raises(InputError, match=r"example_input contains NaN"):
        from_torch(seq, torch.full((2, 3), float("nan")))
    with pytest.raises(InputError, match=r"Sequential does not say how many features per frame it reads; pass "
                                         r"example_input"):
        from_torch(nn.Sequential(nn.Tanh()))
    with pytest.raises(InputError, match=r"example_input has 1 frames but Sequential's first output frame is "
                                         r"frame 1"):
        from_torch(nn.Sequential(nn.Conv1d(3, 2, 2)), torch.zeros(1, 3))
    with pytest.raises(InputError, match=r"from_torch expects a torch.nn.Module, got str"):
        from_torch("model")
    with pytest.raises(UnsupportedError, match=r"not TorchScript"):
        from_torch(torch.jit.script(nn.Linear(3, 3)))
    with pytest.raises(ModelError, match=r"input_size 3 is not a multiple of block_size 2"):
        from_torch(seq, block_size=2)


def test_backend_rejects_bad_frames():
    backend = TorchBackend(rnd.effect_model(np.random.default_rng(0), "lstm", 4, block_size=2))
    with pytest.raises(InputError, match=r"expects frames of shape \(T, 2\)"):
        backend.process(np.zeros((3, 3), np.float32))
    assert isinstance(backend.net, TorchModel)
