"""Hostile inputs: importers and the zoo refuse absurd sizes before allocating, exporters never damage a file.

Every refusal is one sentence naming the field, the value and the limit (and the TINYRT_MAX_<NAME> that
raises it). The documents are small: the refusal must come from the declared sizes, before any array of
that size exists. A subprocess with a 1.5 GiB address-space cap runs every hostile document at once, so
an allocation for a declared size would end in MemoryError there instead of the expected sentence.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyrt.backends import onnx as onnx_backend
from tinyrt.backends import rtneural as rtneural_backend
from tinyrt.backends import torch as torch_backend
from tinyrt.backends.c import engine as c_engine
from tinyrt.bench import models as R
from tinyrt.bench.zoo import parse_blocks
from tinyrt.errors import FormatError, InputError, UnsupportedError
from tinyrt.files import LIMITS
from tinyrt.frontends.coreaudioml import from_coreaudioml
from tinyrt.frontends.nam import from_nam
from tinyrt.frontends.rtneural import from_rtneural

SRC = Path(__file__).resolve().parents[1] / "src"


def _dense(n_in=1, n_out=1, **extra):
    return {"type": "dense", "shape": [None, None, n_out], "activation": "",
            "weights": [[[0.5] * n_out for _ in range(n_in)], [0.0] * n_out], **extra}


def _rtn(in_shape=1, layers=None, **top):
    return {"in_shape": [None, None, in_shape], "layers": layers or [_dense()], **top}


def _nam(config, weights=(0.0,), arch="LSTM"):
    return {"version": "0.5.4", "architecture": arch, "config": config, "weights": list(weights)}


def _cam(**md):
    return {"model_data": {"model": "SimpleRNN", "input_size": 1, "output_size": 1, "unit_type": "LSTM",
                           "num_layers": 1, "hidden_size": 8, "skip": 1, "bias_fl": True, **md},
            "state_dict": {}}


# (importer, document, error, the sentence's distinctive part)
HOSTILE = {
    "rtneural in_shape 10^6": (
        "rtneural", _rtn(10**6), FormatError,
        "the last entry of 'in_shape' is 1000000, more than the limit of 65536 (raise TINYRT_MAX_LAYER_UNITS"),
    "rtneural in_shape 1e12 as a float": (
        "rtneural", _rtn(1e12), FormatError, "the last entry of 'in_shape' is 1000000000000, more than the limit"),
    "rtneural layer shape 10^6": (
        "rtneural", _rtn(1, [{"type": "dense", "shape": [None, None, 10**6], "weights": [[[1.0]]]}]), FormatError,
        "layer 0 (dense): the last entry of 'shape' is 1000000, more than the limit of 65536"),
    "rtneural 2000 layers": (
        "rtneural", _rtn(1, [{"type": "activation", "shape": [None, 1], "activation": "tanh"}] * 2000),
        FormatError, "the number of layers is 2000, more than the limit of 1024 (raise TINYRT_MAX_LAYERS"),
    "rtneural in_gain 1e5 dB": (
        "rtneural", _rtn(in_gain=1e5), FormatError,
        "'in_gain' is 100000.0 dB, beyond the limit of +-240 dB (raise TINYRT_MAX_GAIN_DB"),
    "rtneural out_gain 1e308 dB": (
        "rtneural", _rtn(out_gain=1e308), FormatError, "'out_gain' is 1e+308 dB, beyond the limit of +-240 dB"),
    "rtneural in_gain -1e308 dB": (
        "rtneural", _rtn(in_gain=-1e308), FormatError, "'in_gain' is -1e+308 dB, beyond the limit"),
    "rtneural in_gain as text": (
        "rtneural", _rtn(in_gain="loud"), FormatError, "'in_gain' must be a number of dB, got 'loud'"),
    "rtneural gain matrix of 20000 inputs": (
        "rtneural", _rtn(20000, [{"type": "activation", "shape": [None, 20000], "activation": "tanh"}], in_gain=6),
        FormatError, "the input gain's 20000 x 20000 matrix (weight values) is 400000000, more than the limit of "
                     "67108864 (raise TINYRT_MAX_WEIGHTS"),
    "rtneural input size 1.7": (
        "rtneural", _rtn(1.7), FormatError, "the last entry of 'in_shape' must be an integer of at least 1, got 1.7"),
    "rtneural block_size 10^9": (
        "rtneural", _rtn(block_size=10**9), FormatError,
        "'block_size' is 1000000000, more than the limit of 65536 (raise TINYRT_MAX_BLOCK_SIZE"),
    "rtneural conv1d kernel 10^7": (
        "rtneural", _rtn(1, [{"type": "conv1d", "shape": [None, None, 1], "kernel_size": [10**7], "dilation": [1],
                              "weights": [[[[1.0]]]]}]), FormatError,
        "'kernel_size' is 10000000, more than the limit of 1048576 (raise TINYRT_MAX_TAPS"),
    "rtneural conv1d receptive field 2000001": (
        "rtneural", _rtn(1, [{"type": "conv1d", "shape": [None, None, 1], "kernel_size": [3], "dilation": [10**6],
                              "weights": [[[[1.0]]] * 3]}]), FormatError,
        "the receptive field ((kernel_size - 1) * dilation + 1) is 2000001, more than the limit of 1048576"),
    "rtneural weights as text": (
        "rtneural", _rtn(1, [_dense() | {"weights": [[["0.5"]], [0.0]]}]), FormatError,
        "layer 0 (dense): the dense kernel holds text; weights must be real numbers"),
    "rtneural weights as true/false": (
        "rtneural", _rtn(1, [_dense() | {"weights": [[[True]], [False]]}]), FormatError,
        "the dense kernel holds true/false values; weights must be real numbers"),
    "rtneural weight 10^30 as an integer": (
        "rtneural", _rtn(1, [_dense() | {"weights": [[[10**30]], [0.0]]}]), FormatError,
        "the dense kernel is not a rectangular array of real numbers"),
    "nam num_layers 1e12": (
        "nam", _nam({"input_size": 1, "hidden_size": 8, "num_layers": 10**12}), FormatError,
        "config 'num_layers' is 1000000000000, more than the limit of 1024 (raise TINYRT_MAX_LAYERS"),
    "nam hidden_size 10^6": (
        "nam", _nam({"input_size": 1, "hidden_size": 10**6, "num_layers": 1}), FormatError,
        "config 'hidden_size' is 1000000, more than the limit of 65536 (raise TINYRT_MAX_LAYER_UNITS"),
    "nam largest sizes with too few weights": (
        "nam", _nam({"input_size": 1, "hidden_size": 65536, "num_layers": 1024}), FormatError,
        "needs 35167595200513 weights but the file has 1"),
    "nam receptive_field 10^9": (
        "nam", _nam({"receptive_field": 10**9, "bias": False}, arch="Linear"), FormatError,
        "config 'receptive_field' is 1000000000, more than the limit of 1048576"),
    "nam channels x taps": (
        "nam", _nam({"receptive_field": 2000, "bias": False, "in_channels": 60000, "out_channels": 60000},
                    [0.0] * 2000, arch="Linear"), FormatError,
        "60000 channels x 2000 taps (weight values) is 120000000, more than the limit of 67108864"),
    "nam input_size 2.5": (
        "nam", _nam({"input_size": 2.5, "hidden_size": 8, "num_layers": 1}), FormatError,
        "config 'input_size' must be an integer of at least 1, got 2.5"),
    "coreaudioml num_layers 1e9": (
        "coreaudioml", _cam(num_layers=10**9), FormatError,
        "'num_layers' is 1000000000, more than the limit of 1024 (raise TINYRT_MAX_LAYERS"),
    "coreaudioml hidden_size 10^7": (
        "coreaudioml", _cam(hidden_size=10**7), FormatError, "'hidden_size' is 10000000, more than the limit"),
    "coreaudioml input_size 1.7": (
        "coreaudioml", _cam(input_size=1.7), FormatError, "'input_size' must be an integer of at least 1, got 1.7"),
}

IMPORTERS = {"rtneural": from_rtneural, "nam": from_nam, "coreaudioml": from_coreaudioml}


def _one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0, message


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_document_is_refused_in_one_sentence(case):
    importer, doc, error, part = HOSTILE[case]
    start = time.perf_counter()
    with pytest.raises(error) as info:
        IMPORTERS[importer](json.loads(json.dumps(doc)))  # exactly what a file would give
    assert time.perf_counter() - start < 0.5, "the refusal must come before any work for the declared size"
    assert part in str(info.value), str(info.value)
    _one_sentence(str(info.value))


def test_complex_weights_through_the_python_api_are_refused():
    doc = _rtn(1, [_dense() | {"weights": [[[1 + 2j]], [0.0]]}])
    with pytest.raises(FormatError, match="the dense kernel holds complex numbers; weights must be real numbers"):
        from_rtneural(doc)
    with pytest.raises(FormatError, match="holds complex numbers"):
        from_nam(_nam({"receptive_field": 1, "bias": False}, [1j], arch="Linear"))


def test_limits_are_raised_and_lowered_by_environment(monkeypatch):
    doc = _rtn(3, [{"type": "activation", "shape": [None, 3], "activation": "tanh"}])
    assert from_rtneural(doc).input_size == 3
    monkeypatch.setenv("TINYRT_MAX_LAYER_UNITS", "2")
    with pytest.raises(FormatError, match=r"'in_shape' is 3, more than the limit of 2 \(raise TINYRT_MAX_LAYER_UN"):
        from_rtneural(doc)
    monkeypatch.setenv("TINYRT_MAX_GAIN_DB", "100000")
    monkeypatch.setenv("TINYRT_MAX_LAYER_UNITS", "65536")
    assert from_rtneural(_rtn(in_gain=300.0)).layers[0].params["gain"] == pytest.approx(1e15)
    monkeypatch.setenv("TINYRT_MAX_LAYERS", "many")
    with pytest.raises(InputError, match="TINYRT_MAX_LAYERS must be a whole number of items, got 'many'"):
        from_rtneural(doc)


def test_whole_floats_and_real_models_still_load():
    model = from_rtneural(_rtn(2.0, [_dense(2, 3), _dense(3, 1)], in_gain=-6.0, out_gain=240))
    assert (model.input_size, model.output_size) == (2, 1)
    assert from_coreaudioml({**_cam(hidden_size=2, skip=0), "state_dict": {
        "rec.weight_ih_l0": [[0.1]] * 8, "rec.weight_hh_l0": [[0.1, 0.2]] * 8, "rec.bias_ih_l0": [0.0] * 8,
        "rec.bias_hh_l0": [0.0] * 8, "lin.weight": [[1.0, 1.0]], "lin.bias": [0.0]}}).output_size == 1


ZOO = {
    "matvec:in=100000000,out=100000000": "matvec size 'in' is 100000000, more than the limit of 65536 "
                                         "(raise TINYRT_MAX_LAYER_UNITS",
    "matvec:in=60000,out=60000": "the number of weight and state values of this matvec block is 3600000000, "
                                 "more than the limit of 67108864 (raise TINYRT_MAX_WEIGHTS",
    "transformer:tokens=60000": "values of this transformer block is 14405768192, more than the limit",
    "conv1d:dilation=65536,kernel=65536,channels=16": "values of this conv1d block is",
    "mlp:widths=" + "-".join(["4"] * 2000): "the number of entries of mlp size 'widths' is 2000, more than the "
                                             "limit of 1024",
    "lstm:hidden=70000": "lstm size 'hidden' is 70000, more than the limit of 65536",
}


@pytest.mark.parametrize("spec", list(ZOO))
def test_zoo_sizes_are_refused_before_allocating(spec):
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        parse_blocks(spec)
    assert time.perf_counter() - start < 0.5
    assert ZOO[spec] in str(info.value), str(info.value)
    _one_sentence(str(info.value))


_MEMORY_CAPPED = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from tinyrt.bench.zoo import parse_blocks
from tinyrt.frontends.coreaudioml import from_coreaudioml
from tinyrt.frontends.nam import from_nam
from tinyrt.frontends.rtneural import from_rtneural
importers = {"rtneural": from_rtneural, "nam": from_nam, "coreaudioml": from_coreaudioml}
cases = json.load(sys.stdin)
out = {}
for name, (importer, doc) in cases["docs"].items():
    try:
        importers[importer](doc)
        out[name] = "accepted"
    except BaseException as exc:
        out[name] = type(exc).__name__ + ": " + str(exc)
for spec in cases["zoo"]:
    try:
        parse_blocks(spec)
        out[spec] = "accepted"
    except BaseException as exc:
        out[spec] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""


def test_every_refusal_happens_under_a_memory_cap():
    cases = {"docs": {k: (v[0], v[1]) for k, v in HOSTILE.items()}, "zoo": list(ZOO)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEMORY_CAPPED], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for name, (_, _, error, part) in HOSTILE.items():
        assert out[name].startswith(error.__name__ + ": ") and part in out[name], (name, out[name])
    for spec, part in ZOO.items():
        assert out[spec].startswith("InputError: ") and part in out[spec], (spec, out[spec])
    assert elapsed < 20, elapsed


# ---- exporters: atomic writes ----

def _model():
    return R.effect_model(np.random.default_rng(0), "lstm", 4)


def _unsupported_for_rtneural():
    return R.effect_model(np.random.default_rng(0), "lstm", 4, skip=True)  # an inner residual


def _disk_full(monkeypatch):
    """Every Path.write_bytes/write_text writes half its data and then fails, as on a full disk."""
    def half(self, data, *args, **kwargs):
        raw = data.encode() if isinstance(data, str) else data
        with open(self, "wb") as f:
            f.write(raw[:len(raw) // 2])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(pathlib.Path, "write_bytes", half)
    monkeypatch.setattr(pathlib.Path, "write_text", half)


def _no_leftovers(folder: Path):
    assert not [p.name for p in folder.iterdir() if ".part-" in p.name]


EXPORTERS = {
    "onnx": (lambda m, p: onnx_backend.export(m, p), "m.onnx", FormatError),
    "torchscript": (lambda m, p: torch_backend.export(m, p), "m.pt", InputError),
    "rtneural": (lambda m, p: rtneural_backend.export(m, p), "m.json", InputError),
}


@pytest.mark.parametrize("name", list(EXPORTERS))
def test_failed_export_leaves_the_earlier_file_byte_identical(name, tmp_path, monkeypatch):
    export, fname, disk_error = EXPORTERS[name]
    path = export(_model(), tmp_path / "new" / "folder" / fname)  # a missing folder is created
    good = path.read_bytes()
    assert len(good) > 100
    if name == "rtneural":  # a layer it cannot write, found while converting
        with pytest.raises(UnsupportedError, match="RTNeural has no skip connections"):
            export(_unsupported_for_rtneural(), path)
        assert path.read_bytes() == good
    with pytest.raises(InputError, match="is a folder; give a file name"):
        export(_model(), path.parent)
    with monkeypatch.context() as m:
        if name == "torchscript":  # torch writes the archive itself: fail it half way
            real = torch_backend.torch.jit.save

            def half_save(module, f, _extra_files=None):
                real(module, f, _extra_files=_extra_files)
                Path(f).write_bytes(Path(f).read_bytes()[:100])
                raise RuntimeError("disk full")
            m.setattr(torch_backend.torch.jit, "save", half_save)
        else:
            _disk_full(m)
        with pytest.raises(disk_error, match="cannot"):
            export(R.effect_model(np.random.default_rng(1), "gru", 4), path)
    assert path.read_bytes() == good
    _no_leftovers(path.parent)


def test_c_export_folder_is_written_file_by_file_atomically(tmp_path, monkeypatch):
    folder = c_engine.export(_model(), tmp_path / "a" / "b", name="fx")  # missing folders are created
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert {"fx.h", "fx.c"} <= set(files)
    with monkeypatch.context() as m:
        _disk_full(m)
        with pytest.raises(InputError, match="cannot write the C export file"):
            c_engine.export(R.effect_model(np.random.default_rng(1), "gru", 4), folder, name="fx")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InputError, match="the C export folder .*plain is a file; give a folder name"):
        c_engine.export(_model(), tmp_path / "plain", name="fx")
    assert (tmp_path / "plain").read_text() == "x"


def test_classic_save_is_atomic(tmp_path, monkeypatch):
    from sklearn.datasets import make_classification
    from sklearn.tree import DecisionTreeClassifier

    from tinyrt.backends.c.cmodel import CModel
    from tinyrt.frontends.sklearn import to_ir
    X, y = make_classification(60, 4, random_state=0)
    cm = CModel(to_ir(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)))
    saved = {}
    for suffix in (".h", ".bin", ".csv"):
        path = cm.save(tmp_path / "new" / f"tree{suffix}")
        saved[path] = path.read_bytes()
        (tmp_path / f"folder{suffix}").mkdir()
        with pytest.raises(InputError, match="is a folder; give a file name"):
            cm.save(tmp_path / f"folder{suffix}")
    with monkeypatch.context() as m:
        _disk_full(m)
        for path in saved:
            with pytest.raises(InputError, match="cannot write the"):
                cm.save(path)
    for path, data in saved.items():
        assert path.read_bytes() == data
    _no_leftovers(tmp_path / "new")


def test_limits_are_documented():
    assert {"layer_units": 65536, "layers": 1024, "weights": 1 << 26, "taps": 1 << 20, "block_size": 65536,
            "gain_db": 240}.items() <= LIMITS.items()


def test_cli_zoo_refuses_an_absurd_block_in_one_line():
    tinyrt = str(Path(sys.executable).parent / "tinyrt")
    start = time.perf_counter()
    proc = subprocess.run([tinyrt, "zoo", "--blocks", "matvec:in=100000000,out=100000000"], capture_output=True,
                          text=True, timeout=120)
    assert time.perf_counter() - start < 30
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("tinyrt: error: matvec size 'in' is 100000000, more than the limit of 65536 "
                                   "(raise TINYRT_MAX_LAYER_UNITS if the model really needs it)."), proc.stderr


def test_rtneural_export_refuses_metadata_it_cannot_write_in_one_sentence(tmp_path):
    import numpy as np

    import tinyrt
    from tinyrt.bench import models as R
    model = R.effect_model(np.random.default_rng(0), "lstm", 4)
    good = tinyrt.export(model, "rtneural", tmp_path / "m.json")
    before = good.read_bytes()
    model.metadata["x"] = np.zeros(2)
    with pytest.raises(tinyrt.ModelError, match="cannot be written as RTNeural JSON"):
        tinyrt.export(model, "rtneural", good)
    assert good.read_bytes() == before
