"""The ONNX exporter and the ONNX Runtime engine, held against the NumPy reference runner."""
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tinyrt.backends import backend
from tinyrt.backends.onnx import OnnxBackend, export, to_onnx
from tinyrt.bench import models as R
from tinyrt.errors import DependencyError, FormatError, InputError, ModelError, UnsupportedError
from tinyrt.ir import ACTIVATIONS, Layer, Model

TOL = 1e-5


def _layer_model(layer: Layer, n_in: int) -> Model:
    return Model([layer], input_size=n_in, name=f"one_{layer.type}")


def _random_splits(rng, n: int) -> list:
    """Return block lengths summing to n: mostly small blocks, some single frames, some long."""
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(rng.choice([1, rng.integers(2, 17), rng.integers(17, 400)])))
    sizes[-1] -= sum(sizes) - n
    return [s for s in sizes if s]


def _run_split(engine, x, sizes) -> np.ndarray:
    cuts = np.cumsum(sizes)[:-1]
    return np.concatenate([engine.process(block) for block in np.split(x, cuts)])


def _signal(rng, model, frames: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, (frames, model.input_size)).astype(np.float32)


def _cases():
    rng = np.random.default_rng(1234)
    cases = {}
    for cell in ("lstm", "gru"):
        for n_in, hidden, layers, bias in ((1, 1, 1, True), (3, 17, 2, True), (2, 64, 3, True), (4, 8, 2, False)):
            cases[f"{cell}-in{n_in}-h{hidden}-l{layers}-bias{bias}"] = _layer_model(
                R.rnn(rng, cell, n_in, hidden, layers, bias=bias, initial_state=True), n_in)
    for c_in, c_out, kernel, dilation, groups, bias in ((3, 2, 1, 1, 1, True), (2, 3, 15, 16, 1, True),
                                                       (4, 6, 3, 5, 2, True), (4, 4, 7, 1, 4, False),
                                                       (1, 5, 2, 3, 1, True)):
        cases[f"conv-k{kernel}-d{dilation}-g{groups}"] = _layer_model(
            R.conv1d(rng, c_in, c_out, kernel, dilation, groups, bias), c_in)
    for function in ACTIVATIONS:
        cases[f"act-{function}"] = _layer_model(R.activation(rng, function, 5), 5)
    prelu1 = Layer("activation", {"function": "prelu", "features": 3, "num_parameters": 1},
                   {"weight": np.array([0.2], np.float32)})
    cases["act-prelu-shared"] = _layer_model(prelu1, 3)
    cases["dense"] = _layer_model(R.dense(rng, 6, 3), 6)
    cases["dense-nobias"] = _layer_model(R.dense(rng, 3, 7, bias=False), 3)
    cases["batchnorm"] = _layer_model(R.batchnorm(rng, 4), 4)
    cases["gain"] = _layer_model(Layer("gain", {"features": 2, "gain": -1.75}), 2)
    cases["residual-gru-narrow"] = _layer_model(
        Layer("residual", {"features": 6}, layers=[R.rnn(rng, "gru", 6, 3, 2, initial_state=True)]), 6)
    cases["residual-nested"] = _layer_model(Layer("residual", {"features": 4}, layers=[
        R.conv1d(rng, 4, 4, 3, 2),
        Layer("residual", {"features": 4}, layers=[R.rnn(rng, "lstm", 4, 4, initial_state=True)]),
        R.activation(rng, "tanh", 4)]), 4)
    cases["stack"] = R.stack_model(rng)
    cases["effect-lstm-block16"] = R.effect_model(rng, "lstm", 24, 2, block_size=16, skip=True)
    cases["effect-gru-block16"] = R.effect_model(rng, "gru", 12, 1, block_size=16)
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", CASES)
def test_matches_reference_in_random_blocks(name):
    model = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = _signal(rng, model, 2500)
    engine = OnnxBackend(model)
    got = _run_split(engine, x, _random_splits(rng, len(x)))
    want = model.reference().process(x)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.abs(got - want).max() <= TOL


@pytest.mark.parametrize("name", ["stack", "effect-lstm-block16", "lstm-in2-h64-l3-biasTrue",
                                  "conv-k15-d16-g1"])
def test_any_split_equals_one_call_and_reset_replays(name):
    model = CASES[name]
    rng = np.random.default_rng(7)
    x = _signal(rng, model, 2000)
    engine = backend(model, "onnxruntime")
    whole = engine.process(x)
    for _ in range(3):
        engine.reset()
        sizes = _random_splits(rng, len(x))
        first = _run_split(engine, x, sizes)
        # ONNX Runtime's matrix kernels may round the last bit differently for different block lengths
        assert np.abs(first - whole).max() <= 1e-6
        engine.reset()
        assert np.array_equal(_run_split(engine, x, sizes), first)


def test_initial_state_is_restored_by_reset():
    rng = np.random.default_rng(3)
    model = _layer_model(R.rnn(rng, "lstm", 2, 5, 2, initial_state=True), 2)
    zero_start = _layer_model(Layer("lstm", model.layers[0].params,
                                    {k: v for k, v in model.layers[0].weights.items() if k not in ("h0", "c0")}), 2)
    x = _signal(rng, model, 50)
    engine = OnnxBackend(model)
    first = engine.process(x)
    engine.reset()
    assert np.array_equal(engine.process(x), first)
    assert np.abs(first - OnnxBackend(zero_start).process(x))[0].max() > 1e-3


def test_exported_file_is_valid_and_runs_in_a_fresh_session(tmp_path):
    model = CASES["stack"]
    path = export(model, tmp_path / "stack.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert {p.key: p.value for p in proto.metadata_props} == {
        "name": "stack", "sample_rate": "48000", "block_size": "1", "input_size": "1", "output_size": "1"}
    names = [v.name for v in proto.graph.input]
    assert names == ["x", "state_in_0_hist", "state_in_3_hist", "state_in_5_h0", "state_in_5_h1",
                     "state_in_6_0_h0", "state_in_6_0_c0"]
    assert [v.name for v in proto.graph.output] == ["y"] + [n.replace("_in_", "_out_") for n in names[1:]]

    rng = np.random.default_rng(11)
    x = _signal(rng, model, 600)
    want = model.reference().process(x)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # without state fed, the stored initial state is used: one call from reset
    (one_call,) = session.run(["y"], {"x": x})
    assert np.abs(one_call - want).max() <= TOL
    # streaming by hand: feed every state_out back as state_in
    outputs = [o.name for o in session.get_outputs()]
    feed, got = {}, []
    for block in np.split(x, [100, 101, 350]):
        feed["x"] = block
        result = session.run(outputs, feed)
        got.append(result[0])
        feed.update({n.replace("_out_", "_in_"): v for n, v in zip(outputs[1:], result[1:])})
    assert np.abs(np.concatenate(got) - want).max() <= TOL

    from_file = OnnxBackend(model, path=path)
    assert np.array_equal(from_file.process(x), OnnxBackend(model).process(x))


def test_export_registry_and_newer_opset_with_gelu_operator(tmp_path):
    from tinyrt.backends import export as export_any

    model = _layer_model(R.activation(np.random.default_rng(0), "gelu", 3), 3)
    path = export_any(model, "onnx", tmp_path / "gelu.onnx", opset=20)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 20
    assert [n.op_type for n in proto.graph.node] == ["Gelu"]
    x = _signal(np.random.default_rng(1), model, 200)
    assert np.abs(OnnxBackend(model, path=path).process(x) - model.reference().process(x)).max() <= TOL


def test_wrong_input_shape_is_an_input_error():
    engine = OnnxBackend(CASES["dense"])
    with pytest.raises(InputError, match=r"expects frames of shape \(T, 6\), got \(10, 5\)"):
        engine.process(np.zeros((10, 5), np.float32))
    with pytest.raises(InputError, match=r"expects frames of shape \(T, 6\)"):
        engine.process(np.zeros((2, 3, 6), np.float32))


def test_unsupported_opset_is_refused():
    with pytest.raises(UnsupportedError, match=r"ONNX opset 9 is not supported; choose an opset from 13 to"):
        to_onnx(CASES["dense"], opset=9)


def test_bad_files_are_format_errors(tmp_path):
    model = CASES["dense"]
    with pytest.raises(FormatError, match="no such ONNX file"):
        OnnxBackend(model, path=tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not protobuf \xff\xff\xff")
    with pytest.raises(FormatError, match="is not a readable ONNX model"):
        OnnxBackend(model, path=garbage)
    foreign = tmp_path / "foreign.onnx"
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["input"], ["output"])], "foreign",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 6])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 6])])
    onnx.save(onnx.helper.make_model(graph), str(foreign))
    with pytest.raises(FormatError, match="is not a tinyrt streaming export"):
        OnnxBackend(model, path=foreign)


def test_file_of_another_model_is_a_model_error(tmp_path):
    path = export(CASES["dense"], tmp_path / "dense.onnx")
    with pytest.raises(ModelError, match="has input frames of 6 values but one_dense has input_size 3"):
        OnnxBackend(CASES["dense-nobias"], path=path)


def test_unwritable_path_is_an_input_error_and_a_missing_folder_is_created(tmp_path):
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(InputError, match="cannot create the folder .*plain"):
        export(CASES["dense"], tmp_path / "plain" / "m.onnx")
    assert export(CASES["dense"], tmp_path / "no" / "such" / "dir" / "m.onnx").is_file()


@pytest.mark.parametrize("package", ["onnx", "onnxruntime"])
def test_missing_package_is_a_dependency_error(monkeypatch, package):
    monkeypatch.setitem(sys.modules, package, None)  # makes `import <package>` fail as if absent
    with pytest.raises(DependencyError, match=rf"needs the '{package}' package.*pip install 'tinyrt\[onnx\]'"):
        OnnxBackend(CASES["dense"])


def test_export_without_onnx_is_a_dependency_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(DependencyError, match=r"exporting to ONNX needs the 'onnx' package, which is not installed"):
        export(CASES["dense"], tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_metadata_keeps_exact_sample_rate_and_free_metadata():
    model = R.effect_model(np.random.default_rng(5), "gru", 4, sample_rate=44100.25)
    model.metadata = {"author": "test", "gain_db": 3}
    props = {p.key: p.value for p in to_onnx(model).metadata_props}
    assert props["sample_rate"] == "44100.25" and props["name"] == "gru4"
    assert props["metadata"] == '{"author": "test", "gain_db": 3}'
    unrated = R.effect_model(np.random.default_rng(5), "gru", 4, sample_rate=None)
    assert "sample_rate" not in {p.key for p in to_onnx(unrated).metadata_props}
