"""Layer coverage: every IR layer type on every engine and the RTNeural exporter gives parity or a clean refusal.

The tables below say, for each layer type in the IR's registry (``tinyrt.ir.SPECS``) and each activation
function, what each target does with a small seeded model containing it:

- ``P`` (parity): the engine runs the model (in two calls, so state carries over) and matches the float64
  reference runner within ``TOLERANCE`` of the output's scale; for ``rtneural`` the export succeeds and the
  file loads back (``tinyrt.load``) to a model whose reference output matches;
- ``R`` (refusal): the engine or exporter raises UnsupportedError with a one-sentence message naming the
  layer type (and, for an activation, the function).

A layer type added to the registry fails ``test_every_layer_type_has_a_row`` until it has a row and a model
here, so a change of coverage shows in review as a changed row.
"""
import functools
import re

import numpy as np
import pytest

import tinyrt
from tinyrt.backends import ENGINES, backend, export
from tinyrt.bench import models as rnd
from tinyrt.errors import UnsupportedError
from tinyrt.ir import ACTIVATIONS, SPECS, Layer, Model

P, R = "parity", "refuse"
TARGETS = ("c", "onnxruntime", "torch", "torchscript", "reference", "rtneural")

LAYERS = {
    # layer type        c  onnxruntime torch torchscript reference rtneural
    "dense":            (P, P, P, P, P, P),
    "lstm":             (P, P, P, P, P, P),  # without an initial state: RTNeural resets to zero
    "gru":              (P, P, P, P, P, P),
    "conv1d":           (P, P, P, P, P, P),
    "activation":       (P, P, P, P, P, P),  # the functions RTNeural has; all functions: ACTIVATION_FUNCTIONS
    "batchnorm":        (P, P, P, P, P, P),
    "residual":         (P, P, P, P, P, R),  # inside the model; around all of it, skip="strip" exports it
    "gain":             (P, P, P, P, P, R),
    "add":              (P, P, P, P, P, R),  # graph layers (named paths, as in a WaveNet)
    "mul":              (P, P, P, P, P, R),
    "slice":            (P, P, P, P, P, R),
    "tree_ensemble":    (P, R, R, R, P, R),
    "scaler":           (P, R, R, R, P, R),
    "linear":           (P, R, R, R, P, R),
    "gaussian_nb":      (P, R, R, R, P, R),
    "mahalanobis":      (P, R, R, R, P, R),
    "gaussian_mixture": (P, R, R, R, P, R),
    "knn":              (P, R, R, R, P, R),
    "conv2d":           (P, P, P, P, P, R),  # image layers: one channel-major image per frame (a log-mel patch)
    "pool2d":           (P, P, P, P, P, R),
}

ACTIVATION_FUNCTIONS = {
    # function  c  onnxruntime torch torchscript reference rtneural
    "tanh":     (P, P, P, P, P, P),
    "relu":     (P, P, P, P, P, P),
    "sigmoid":  (P, P, P, P, P, P),
    "softsign": (P, P, P, P, P, R),
    "elu":      (P, P, P, P, P, R),  # alpha != 1; RTNeural's ELU always uses alpha 1
    "prelu":    (P, P, P, P, P, P),
    "silu":     (P, P, P, P, P, R),
    "gelu":     (P, P, P, P, P, R),
    "softmax":  (P, P, P, P, P, P),
    "identity": (P, P, P, P, P, P),
    "hardtanh": (P, P, P, P, P, R),  # NAM's Hardtanh and LeakyHardtanh (slopes beyond the bounds)
    "hardswish": (P, P, P, P, P, R),
}

TOLERANCE = {"reference": 1e-12}  # others: float32 engines and float32 RTNeural weights
FLOAT32_TOLERANCE = 1e-5
N_FRAMES, N_TRAIN, N_FEATURES = 256, 200, 3
NEEDS = {"onnxruntime": ("onnx", "onnxruntime"), "torch": ("torch",), "torchscript": ("torch",)}


def _rng(name: str):
    return np.random.default_rng(sum(map(ord, name)))


def _act_chain(rng, functions, n: int = 4) -> list:
    layers = [rnd.dense(rng, 2, n)]
    for f in functions:
        layers += [rnd.activation(rng, f, n), rnd.dense(rng, n, n)]
    return layers


def _two_paths(rng, kind: str) -> list:
    """Return a graph whose two dense paths from the input meet in an add or mul layer."""
    first, second = rnd.dense(rng, 2, 3), rnd.dense(rng, 2, 3)
    first.output, second.inputs, second.output = "a", ["input"], "b"
    return [first, second, Layer(kind, {"features": 3}, inputs=["a", "b"]), rnd.dense(rng, 3, 1)]


def _conv2d(rng, c_in: int, c_out: int, height: int, width: int, kernel: tuple, stride: tuple, padding: tuple):
    """Return a seeded conv2d layer over a c_in x height x width image."""
    p = {"in_channels": c_in, "out_channels": c_out, "height": height, "width": width, "kernel_h": kernel[0],
         "kernel_w": kernel[1], "stride_h": stride[0], "stride_w": stride[1], "padding_h": padding[0],
         "padding_w": padding[1]}
    return Layer("conv2d", p, {"weight": 0.5 * rng.standard_normal((c_out, c_in, *kernel)),
                               "bias": 0.1 * rng.standard_normal(c_out)})


def _neural(layer_type: str) -> tuple:
    rng = _rng(layer_type)
    layers = {
        "dense": lambda: [rnd.dense(rng, 2, 5)],
        "lstm": lambda: [rnd.rnn(rng, "lstm", 2, 6, num_layers=2)],
        "gru": lambda: [rnd.rnn(rng, "gru", 2, 6, num_layers=2)],
        "conv1d": lambda: [rnd.conv1d(rng, 2, 4, 3, dilation=2, groups=2)],
        # in RTNeural an activation right after dense folds into it, the others stay activation layers
        "activation": lambda: _act_chain(rng, ("tanh", "relu", "sigmoid", "prelu")) + [
            Layer("activation", {"function": "elu", "features": 4, "alpha": 1.0}),
            rnd.activation(rng, "identity", 4), rnd.activation(rng, "softmax", 4)],
        "batchnorm": lambda: [rnd.batchnorm(rng, 2)],
        "residual": lambda: [rnd.dense(rng, 2, 3), Layer("residual", {"features": 3}, layers=[
            rnd.dense(rng, 3, 3), rnd.activation(rng, "tanh", 3)]), rnd.dense(rng, 3, 1)],
        "gain": lambda: [rnd.dense(rng, 2, 3), Layer("gain", {"features": 3, "gain": 0.5})],
        "add": lambda: _two_paths(rng, "add"),
        "mul": lambda: _two_paths(rng, "mul"),
        "conv2d": lambda: [rnd.dense(rng, 2, 30), _conv2d(rng, 2, 3, 3, 5, (3, 2), (2, 1), (1, 1)),
                           _conv2d(rng, 3, 2, 2, 6, (2, 3), (1, 2), (0, 1)), rnd.dense(rng, 6, 2)],
        "pool2d": lambda: [rnd.dense(rng, 2, 40), Layer("pool2d", {"channels": 2, "height": 5, "width": 4,
                                                                   "kernel_h": 2, "kernel_w": 2}),
                           Layer("pool2d", {"channels": 2, "height": 2, "width": 2, "kernel_h": 2, "kernel_w": 1,
                                            "mode": "avg"}), rnd.dense(rng, 4, 2)],
        "slice": lambda: [rnd.dense(rng, 2, 4), Layer("slice", {"in_features": 4, "start": 1, "stop": 3}, output="s"),
                          rnd.dense(rng, 2, 1)],
    }[layer_type]()
    model = Model(layers, input_size=2, sample_rate=48000.0, name=f"cov_{layer_type}")
    return model, (0.5 * rng.standard_normal((N_FRAMES, 2))).astype(np.float32)


@functools.cache
def _data():
    """Return float32-valued (X_train, y_train, X_test) with three classes."""
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((N_TRAIN + N_FRAMES, N_FEATURES)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0])
    X = X.astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    return X[:N_TRAIN].astype(np.float64), y[:N_TRAIN], X[N_TRAIN:]


def _classic(layer_type: str) -> tuple:
    pytest.importorskip("sklearn")
    from sklearn.covariance import EllipticEnvelope
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.mixture import GaussianMixture
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tinyrt.frontends.sklearn import to_ir

    estimator = {
        "tree_ensemble": lambda: RandomForestClassifier(3, max_depth=3, random_state=0),
        "scaler": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        "linear": lambda: LogisticRegression(),
        "gaussian_nb": lambda: GaussianNB(),
        "mahalanobis": lambda: EllipticEnvelope(random_state=0),
        "gaussian_mixture": lambda: GaussianMixture(2, random_state=0),
        "knn": lambda: KNeighborsClassifier(3),
    }[layer_type]()
    X, y, X_test = _data()
    ir = to_ir(estimator.fit(X, y))
    layer = next(layer for layer in ir.layers if layer.type == layer_type)
    return Model([layer], input_size=N_FEATURES, name=f"cov_{layer_type}"), X_test


@functools.cache
def layer_case(layer_type: str) -> tuple:
    """Return (model, input frames) of the small model that covers one layer type."""
    return _neural(layer_type) if layer_type in ("dense", "lstm", "gru", "conv1d", "activation", "batchnorm",
                                                 "residual", "gain", "add", "mul", "slice", "conv2d", "pool2d") \
        else _classic(layer_type)


@functools.cache
def activation_case(function: str) -> tuple:
    """Return (model, input frames) of a dense model with one activation layer of this function."""
    rng = _rng(function)
    model = Model(_act_chain(rng, (function,)), input_size=2, sample_rate=48000.0, name=f"cov_act_{function}")
    return model, (0.5 * rng.standard_normal((N_FRAMES, 2))).astype(np.float32)


def run(target: str, model: Model, frames: np.ndarray, tmp_path) -> np.ndarray:
    """Return the target's output for the frames: an engine in two calls, or an RTNeural round trip."""
    if target == "rtneural":
        path = export(model, "rtneural", tmp_path / f"{model.name}.json")
        return tinyrt.load(path).reference().process(frames)
    engine = backend(model, target)
    cut = len(frames) // 3
    return np.concatenate([engine.process(frames[:cut]), engine.process(frames[cut:])])


def check(target: str, expected: str, model: Model, frames: np.ndarray, tmp_path, *names: str) -> None:
    for package in NEEDS.get(target, ()):
        pytest.importorskip(package)
    if expected == P:
        truth = model.reference().process(frames)
        out = run(target, model, frames, tmp_path)
        assert out.shape == truth.shape
        err = float(np.max(np.abs(out - truth)))
        tol = TOLERANCE.get(target, FLOAT32_TOLERANCE) * max(1.0, float(np.max(np.abs(truth))))
        assert err <= tol, f"{target}: max error {err:.3g} over {tol:.3g}"
        return
    with pytest.raises(UnsupportedError) as info:
        run(target, model, frames, tmp_path)
    assert_one_sentence_naming(str(info.value), *names)


def assert_one_sentence_naming(message: str, *names: str) -> None:
    """Assert the message is one line, one sentence ending with a period, and names every name given."""
    assert "\n" not in message and message.endswith("."), message
    assert not re.search(r"[.!?]\s", message), f"more than one sentence: {message}"
    for name in names:
        assert re.search(rf"\b{re.escape(name)}\b", message, re.IGNORECASE), f"{name!r} not named: {message}"


def test_every_layer_type_has_a_row():
    assert set(TARGETS) == set(ENGINES) | {"rtneural"}
    assert set(LAYERS) == set(SPECS), "give each new layer type a row in LAYERS and a model in layer_case"
    assert set(ACTIVATION_FUNCTIONS) == set(ACTIVATIONS)
    assert all(len(row) == len(TARGETS) for row in (*LAYERS.values(), *ACTIVATION_FUNCTIONS.values()))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("layer_type", sorted(LAYERS))
def test_layer_type(layer_type, target, tmp_path):
    model, frames = layer_case(layer_type)
    assert layer_type in {layer.type for layer in model.walk()}
    check(target, LAYERS[layer_type][TARGETS.index(target)], model, frames, tmp_path, layer_type)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("function", sorted(ACTIVATION_FUNCTIONS))
def test_activation_function(function, target, tmp_path):
    model, frames = activation_case(function)
    check(target, ACTIVATION_FUNCTIONS[function][TARGETS.index(target)], model, frames, tmp_path,
          "activation", function)


@pytest.mark.parametrize("target", [t for t in TARGETS if t != "reference"])
def test_a_layer_type_no_engine_knows_is_refused(target, tmp_path, monkeypatch):
    """A layer type in the registry that a back end has no code for is refused there, naming it."""
    monkeypatch.setitem(SPECS, "made_up", SPECS["gain"])
    model = Model([rnd.dense(np.random.default_rng(0), 2, 2), Layer("made_up", {"features": 2, "gain": 2.0})],
                  input_size=2, name="cov_made_up")
    check(target, R, model, np.zeros((4, 2), dtype=np.float32), tmp_path, "made_up")
