"""IR graphs: layers that name their inputs and output (a WaveNet), validated, saved and run as the stack is."""
import json
import zipfile

import numpy as np
import pytest

import tinyrt
from tinyrt.errors import ModelError, UnsupportedError
from tinyrt.frontends.wavenet import LayerArray, preset_arrays, wavenet_model
from tinyrt.ir import Layer, Model


def _dense(n_in, n_out, seed=0, **kw):
    rng = np.random.default_rng(seed)
    return Layer("dense", {"in_features": n_in, "out_features": n_out},
                 {"weight": rng.standard_normal((n_out, n_in)), "bias": rng.standard_normal(n_out)}, **kw)


def _model(layers, input_size=2):
    return Model(layers, input_size=input_size, name="g")


@pytest.mark.parametrize("layers, message", [
    ([_dense(2, 3, output="a"), Layer("add", {"features": 3}, inputs=["a", "nowhere"])],
     "input 'nowhere' is not the model's input nor the output of an earlier layer"),
    ([_dense(2, 3, output="a"), _dense(2, 3, output="a", inputs=["input"])],
     "output name 'a' is already an earlier layer's output"),
    ([_dense(2, 3, output="input")], "output name 'input' is already the model's input"),
    ([_dense(2, 3), Layer("add", {"features": 3})], "a add layer reads 2 or more inputs; name them in 'inputs'"),
    ([_dense(2, 3, output="a"), Layer("mul", {"features": 3}, inputs=["a", "a", "a"])],
     "a mul layer reads 2 inputs, got 3"),
    ([_dense(2, 3, output="a"), Layer("add", {"features": 3}, inputs=["a", "input"])],
     "parameter 'features' = 3 but input 'input' has 2 features"),
    ([_dense(2, 3), Layer("slice", {"in_features": 3, "start": 2, "stop": 2})], "start < stop <= in_features"),
    ([Layer("residual", {"features": 2}, layers=[_dense(2, 2, inputs=["input"])])],
     "a layer inside a residual body cannot name inputs or an output"),
    ([_dense(2, 3, output=7)], "'inputs' and 'output' must be tensor names"),
])
def test_a_malformed_graph_is_refused_naming_the_layer_and_path(layers, message):
    with pytest.raises(ModelError, match="layer 1|layer 0") as info:
        _model(layers).validate()
    assert message in str(info.value)


def test_a_graph_runs_the_same_on_the_reference_and_c_in_any_split():
    arr = LayerArray(2, 2, 4, 1, 2, [1, 2, 4], gated=True).random(np.random.default_rng(1), head_bias=True)
    model = wavenet_model([arr], 0.5, name="gated")
    x = np.random.default_rng(2).standard_normal((500, 2)).astype(np.float32)
    truth = model.reference().process(x)
    engine = tinyrt.backend(model, "c")
    out = np.concatenate([engine.process(x[:123]), engine.process(x[123:])])
    assert np.abs(out - truth).max() < 1e-5 * max(1.0, np.abs(truth).max())
    assert np.abs(truth).max() > 1e-3  # not a trivially silent model


def test_a_graph_is_saved_as_format_version_2_and_a_stack_still_as_1(tmp_path):
    arrays, scale = preset_arrays("nano", np.random.default_rng(0))
    graph = wavenet_model(arrays, scale, name="nano")
    path = graph.save(tmp_path / "g.tinyrt")
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("model.json"))
    assert doc["format_version"] == 2 and doc["layers"][1]["inputs"] == ["a0.x0"]
    x = np.random.default_rng(3).standard_normal((300, 1)).astype(np.float32)
    assert np.array_equal(tinyrt.load(path).reference().process(x), graph.reference().process(x))
    stack = Model([_dense(2, 1)], input_size=2, name="s")
    with zipfile.ZipFile(stack.save(tmp_path / "s.tinyrt")) as zf:
        assert json.loads(zf.read("model.json"))["format_version"] == 1


def test_engines_that_take_only_stacks_refuse_a_graph_in_one_sentence(tmp_path):
    arrays, scale = preset_arrays("nano", np.random.default_rng(0))
    graph = wavenet_model(arrays, scale, name="nano")
    with pytest.raises(UnsupportedError, match="RTNeural's JSON format takes a plain stack of layers"):
        tinyrt.export(graph, "rtneural", tmp_path / "g.json")
    assert not (tmp_path / "g.json").exists()
