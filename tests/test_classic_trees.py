"""tinyrt.convert for scikit-learn tree models: the compiled C agrees exactly with scikit-learn on held-out data.

Every tree estimator type, classification and regression, both C forms (node arrays, inline
if/else), both feature types (float32, int16 with its measured agreement), the .tinyrt IR and
the C engine, a Cortex-M4 build, the loadable binary and CSV formats with their C loader (also
under AddressSanitizer), and the refusals with their messages.
"""
import functools
import struct
import subprocess
import zlib

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeRegressor

import tinyrt
from tinyrt import CModel, convert
from tinyrt.backends.c.loadable import ERRORS, c_load, c_run, read_csv, to_binary
from tinyrt.backends.c.trees import quantized_thresholds, tree_tables
from tinyrt.c.build import build
from tinyrt.errors import FormatError, InputError, ModelError, UnsupportedError
from tinyrt.frontends.sklearn import to_ir

N_TRAIN = 600


@functools.cache
def data(kind: str):
    """Return (X_train, y_train, X_test) as float32 features: the C models read float32."""
    if kind == "regression":
        X, y = make_regression(n_samples=1000, n_features=6, n_informative=4, noise=2.0, random_state=1)
    elif kind == "regression2":
        X, y = make_regression(n_samples=1000, n_features=6, n_targets=2, random_state=2)
    elif kind == "positive":
        X, y = make_regression(n_samples=1000, n_features=6, random_state=3)
        y = np.abs(y) / 10
    else:
        X, y = make_classification(n_samples=1000, n_features=6, n_informative=4, n_redundant=1,
                                   n_classes=2 if kind == "binary" else 3, random_state=0)
    X = X.astype(np.float32)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:]


CASES = {
    "DecisionTreeClassifier": (lambda: DecisionTreeClassifier(max_depth=6, random_state=0), "classes"),
    "DecisionTreeRegressor": (lambda: DecisionTreeRegressor(max_depth=6, random_state=0), "regression"),
    "ExtraTreeRegressor": (lambda: ExtraTreeRegressor(max_depth=6, random_state=0), "regression"),
    "RandomForestClassifier": (lambda: RandomForestClassifier(8, max_depth=5, random_state=0), "classes"),
    "RandomForestRegressor-2-outputs": (lambda: RandomForestRegressor(6, max_depth=5, random_state=0), "regression2"),
    "ExtraTreesClassifier-binary": (lambda: ExtraTreesClassifier(8, max_depth=5, random_state=0), "binary"),
    "ExtraTreesRegressor": (lambda: ExtraTreesRegressor(6, max_depth=5, random_state=0), "regression"),
    "GradientBoostingClassifier": (lambda: GradientBoostingClassifier(n_estimators=8, max_depth=3, random_state=0),
                                   "classes"),
    "GradientBoostingClassifier-exponential": (lambda: GradientBoostingClassifier(
        n_estimators=8, max_depth=3, loss="exponential", random_state=0), "binary"),
    "GradientBoostingRegressor-huber": (lambda: GradientBoostingRegressor(
        n_estimators=8, max_depth=3, loss="huber", random_state=0), "regression"),
    "HistGradientBoostingClassifier": (lambda: HistGradientBoostingClassifier(max_iter=6, max_leaf_nodes=8,
                                                                              random_state=0), "classes"),
    "HistGradientBoostingClassifier-binary": (lambda: HistGradientBoostingClassifier(
        max_iter=8, max_leaf_nodes=8, random_state=0), "binary"),
    "HistGradientBoostingRegressor-poisson": (lambda: HistGradientBoostingRegressor(
        max_iter=8, max_leaf_nodes=8, loss="poisson", random_state=0), "positive"),
    "IsolationForest": (lambda: IsolationForest(n_estimators=12, max_features=0.7, contamination=0.1,
                                                random_state=0), "classes"),
}


@functools.cache
def fitted(case: str):
    """Return (fitted estimator, held-out X) of a case."""
    make, kind = CASES[case]
    X, y, X_test = data(kind)
    est = make().fit(X) if case == "IsolationForest" else make().fit(X, y)
    return est, X_test


def sklearn_raw(est, cm: CModel, X) -> np.ndarray:
    """Return scikit-learn's float64 output that the IR (and the C raw output) reproduces."""
    info = cm.info
    if info["task"] == "outlier":
        return est.score_samples(X)[:, None]
    if info["task"] == "regressor":
        y = est.predict(X).reshape(len(X), -1)
        return np.log(y) if info["predict"] == "value_exp" else y
    return est.predict_proba(X) if info["proba"] == "raw" else est.decision_function(X).reshape(len(X), -1)


@pytest.mark.parametrize("case", CASES)
def test_node_array_c_agrees_exactly_with_sklearn(case):
    est, X = fitted(case)
    cm = convert(est, case)
    task, exp_link = cm.info["task"], cm.info["predict"] == "value_exp"
    # the raw outputs are scikit-learn's float64 numbers: bit for bit (IsolationForest: its final 2**x to 1 ulp)
    ref = sklearn_raw(est, cm, X)
    raw, ir = cm.raw(X), cm.model.reference().process(X)
    if task == "outlier":
        np.testing.assert_array_equal(ir, ref)
        assert np.abs(raw - ref).max() <= 2.3e-16
    elif exp_link:
        np.testing.assert_allclose(raw, ref, rtol=1e-14, atol=1e-14)  # log(predict) is itself rounded
        np.testing.assert_allclose(ir, ref, rtol=1e-14, atol=1e-14)
    else:
        np.testing.assert_array_equal(raw, ref)
        np.testing.assert_array_equal(ir, ref)
    if task == "regressor":
        if exp_link:  # expf on the float32 raw value
            np.testing.assert_allclose(cm.predict(X), est.predict(X), rtol=2e-6)
        else:  # the C value is scikit-learn's rounded once to float32
            np.testing.assert_array_equal(cm.predict(X), est.predict(X).astype(np.float32))
        return
    np.testing.assert_array_equal(cm.predict(X), est.predict(X))  # the same class on every sample
    assert cm.agreement(est, X)["fraction"] == 1.0
    if task == "classifier":
        assert np.abs(cm.predict_proba(X) - est.predict_proba(X)).max() <= 3e-7  # measured <= 1.3e-7
        if "decision_function" in cm.info["methods"]:
            np.testing.assert_allclose(cm.decision_function(X), est.decision_function(X), rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_allclose(cm.score_samples(X), est.score_samples(X), rtol=1e-7)
        np.testing.assert_allclose(cm.decision_function(X), est.decision_function(X), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", CASES)
def test_inline_form_and_int16_features(case):
    """Inline if/else gives the node arrays' numbers; int16 models are exact on the dequantised inputs."""
    est, X = fitted(case)
    nodes, inline = convert(est, case), convert(est, case, form="inline")
    np.testing.assert_array_equal(inline.raw(X), nodes.raw(X))
    classify = nodes.info["task"] != "regressor"
    for form in ("nodes", "inline"):
        q = convert(est, case, features="int16", form=form)
        xq = q.quantize(X)
        dequantized = xq.astype(np.float32) / q.scale  # what the int16 thresholds were derived for
        expect = est.predict(dequantized)
        if classify:
            np.testing.assert_array_equal(q.predict(X), expect)
        elif nodes.info["predict"] == "value":
            np.testing.assert_array_equal(q.predict(X), expect.astype(np.float32))
        report = q.agreement(est, X)  # against scikit-learn on the original float inputs
        print(f"{case} int16 {form}: {report}")
        assert report["samples"] == len(X)
        if classify:
            assert report["fraction"] >= 0.99


def test_int16_thresholds_decide_like_the_dequantised_float_for_every_input():
    """x_q <= Q exactly when float32(x_q / scale) <= t, checked against every int16 input."""
    est, _ = fitted("RandomForestClassifier")
    tables = tree_tables(to_ir(est).layers[0])
    rng = np.random.default_rng(5)
    for scale in (np.float32(1000.0), np.float32(37.3), np.float32(3e4)):
        scales = np.full(tables.n_features, scale, np.float32)
        q = quantized_thresholds(tables, scales).astype(np.int64)
        xq = np.arange(-32767, 32768)
        for i in rng.choice(tables.n_splits, 40, replace=False):
            left = (xq.astype(np.float32) / scale) <= tables.threshold[i]
            np.testing.assert_array_equal(xq <= q[i], left)


def test_tinyrt_file_round_trip_c_engine_and_ir_validation(tmp_path):
    est, X = fitted("GradientBoostingClassifier")
    model = to_ir(est, "gb")
    path = model.save(tmp_path / "gb.tinyrt")
    loaded = tinyrt.load(path)
    assert loaded.metadata["classic"]["classes"] == [0, 1, 2]
    cm = CModel(loaded)
    np.testing.assert_array_equal(cm.predict(X), est.predict(X))
    np.testing.assert_array_equal(cm.raw(X), est.decision_function(X))
    # the same layer runs in the C engine behind the Backend interface (float32 frames out)
    engine = tinyrt.backend(loaded, "c")
    np.testing.assert_array_equal(engine.process(X), est.decision_function(X).astype(np.float32))
    # engines without a tree form say so in one sentence, and the exporters too
    for name in ("onnxruntime", "torch", "torchscript"):
        with pytest.raises(UnsupportedError, match="tree_ensemble"):
            tinyrt.backend(loaded, name)
    with pytest.raises(UnsupportedError, match="cannot be written as RTNeural JSON"):
        tinyrt.export(loaded, "rtneural", tmp_path / "gb.json")
    layer = loaded.layers[0]
    bad = {k: v.copy() for k, v in layer.weights.items()}
    bad["left"][0] = 0  # a child that is not after its parent would loop forever
    with pytest.raises(ModelError, match=r"weight 'left' at 0 = 0 does not point to a node after it"):
        tinyrt.Model([tinyrt.Layer("tree_ensemble", dict(layer.params), bad)], input_size=6).validate()
    bad = {k: v.copy() for k, v in layer.weights.items()}
    bad["feature"][0] = 6
    with pytest.raises(ModelError, match=r"weight 'feature' at 0 = 6 is not a feature index below 6"):
        tinyrt.Model([tinyrt.Layer("tree_ensemble", dict(layer.params), bad)], input_size=6).validate()


PROGRAM = """#include <stdio.h>
#include "model.h"

int main(void)
{
    float x[MODEL_N_FEATURES] = {0}, proba[MODEL_N_CLASSES];
    int16_t xq[MODEL_N_FEATURES];
    model_quantize(x, xq);
    model_predict_proba(xq, proba);
    printf("%d %.6f\\n", model_predict(xq), (double)proba[0]);
    return 0;
}
"""


def test_saved_header_is_a_pedantic_c99_library_for_host_and_cortex_m4(tmp_path):
    """A user program includes the saved header (built with -pedantic, ASan and UBSan), and the M4 build."""
    est, X = fitted("RandomForestClassifier")
    cm = convert(est, "forest", features="int16")
    header = cm.save(tmp_path / "model.h").read_text()
    assert "#include" not in header.replace("#include <", "")  # self-contained: only system headers
    exe = build({"model.h": header, "main.c": PROGRAM}, "main", kind="executable", profile="sanitize",
                extra_flags=["-pedantic", "-Wshadow"])
    cls, p0 = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    row = cm.quantize(np.zeros((1, 6), np.float32)).astype(np.float32) / cm.scale
    assert int(cls) == est.predict(row)[0] and abs(float(p0) - est.predict_proba(row)[0, 0]) < 1e-6
    m4 = convert(est, "forest").object_sizes("cortex-m4")
    print("Cortex-M4 predict of an 8-tree forest:", m4, "flash", m4["text"] + m4["rodata"] + m4["data"],
          "RAM", m4["data"] + m4["bss"])
    assert 0 < m4["text"] < 2048 and m4["rodata"] > 0 and m4["data"] == m4["bss"] == 0


def corrupt(data: bytes, at: int, fmt: str, value, fix_crc: bool = True) -> bytes:
    """Return data with one field overwritten, the CRC recomputed unless fix_crc is False."""
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    if fix_crc:
        struct.pack_into("<I", out, len(out) - 4, zlib.crc32(bytes(out[:-4])))
    return bytes(out)


def corrupt_files(data: bytes, cm: CModel) -> dict:
    """Return {expected error: corrupt file} for a float32 binary model file."""
    t = cm.spec.tables
    n_out, rows, total = t.n_outputs, len(t.leaf_values), t.n_splits + len(t.leaf_values)
    thr = 64 + 8 * n_out + 8 * rows * t.leaf_width
    feat = thr + -(-4 * total // 8) * 8  # uint8 feature indices: 6 features
    child = feat + -(-total // 8) * 8
    roots = child + -(-4 * total // 8) * 8
    return {
        "short": data[:40],
        "magic": b"XRTT" + data[4:],
        "version": corrupt(data, 4, "<H", 2),
        "length": data + bytes(8),
        "checksum": corrupt(data, thr, "<f", 123.0, fix_crc=False),
        "counts": corrupt(data, 20, "<B", 65),  # max_depth above 64
        "child": corrupt(data, child, "<h", 0),  # node 0's left child is node 0: a cycle
        "feature": corrupt(data, feat, "<B", t.n_features),
        "leaf": corrupt(data, roots, "<h", total),
        "depth": corrupt(data, 20, "<B", t.max_depth - 1),
        "value": corrupt(data, thr, "<f", float("nan")),
    }


def test_binary_file_loads_in_c_and_every_corruption_gets_its_error_code():
    est, X = fitted("RandomForestClassifier")
    for features in ("float32", "int16"):
        cm = convert(est, "forest", features=features)
        data = to_binary(cm.spec)
        assert c_load(data) == "ok"
        raw, cls = c_run(data, X if features == "float32" else cm.quantize(X))
        np.testing.assert_array_equal(raw, cm.raw(X))
        np.testing.assert_array_equal(cm.classes[cls], cm.predict(X))
    cm = convert(est, "forest")
    data = to_binary(cm.spec)
    bad = corrupt_files(data, cm)
    assert {name: c_load(b) for name, b in bad.items()} == {name: name for name in bad}
    assert c_load(data, misaligned=True) == "align"


SANITIZED_LOADER = """#include <stdio.h>
#include <stdlib.h>
#include "trt_trees.h"

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        long n;
        double *buf;
        trt_trees m;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc(n > 0 ? (size_t)n : 1u);  /* exactly the file: ASan sees any read past it */
        if (fread(buf, 1, (size_t)n, f) != (size_t)n)
            return 2;
        fclose(f);
        printf("%d\\n", trt_trees_load(buf, (size_t)n, &m));
        free(buf);
    }
    return 0;
}
"""


def test_loader_reads_nothing_outside_corrupt_files_under_address_sanitizer(tmp_path):
    est, _ = fitted("RandomForestClassifier")
    cm = convert(est, "forest")
    data = to_binary(cm.spec)
    files = {"ok": data, **corrupt_files(data, cm)}
    paths = []
    for name, content in files.items():
        (tmp_path / f"{name}.bin").write_bytes(content)
        paths.append(str(tmp_path / f"{name}.bin"))
    exe = build({"loader.c": SANITIZED_LOADER}, "loader", kind="executable", profile="sanitize")
    out = subprocess.run([str(exe), *paths], capture_output=True, text=True, check=True).stdout.split()
    assert [ERRORS[int(code)] for code in out] == list(files)


def test_csv_round_trip_and_bad_csv_lines(tmp_path):
    est, X = fitted("HistGradientBoostingClassifier-binary")
    for features in ("float32", "int16"):
        cm = convert(est, "hgb", features=features)
        text = cm.save(tmp_path / "hgb.csv").read_text()
        assert text.startswith("t,1\nm,6,1,")
        assert sum(ln.startswith("n,") for ln in text.splitlines()) == cm.spec.tables.n_splits
        spec = read_csv(text)
        assert to_binary(spec) == cm.save(tmp_path / "hgb.bin").read_bytes()
        raw, cls = c_run(to_binary(spec), X if features == "float32" else cm.quantize(X))
        np.testing.assert_array_equal(cls, est.predict(X) if features == "float32" else
                                      est.predict(cm.quantize(X).astype(np.float32) / cm.scale))
    with pytest.raises(FormatError, match="does not start with the line 't,1'"):
        read_csv("m,1\n")
    with pytest.raises(FormatError, match="line 3: unknown line kind 'x'"):
        read_csv(text.replace("\np,", "\nx,", 1))
    lines = text.splitlines()
    first_node = next(i for i, ln in enumerate(lines) if ln.startswith("n,"))
    with pytest.raises(FormatError, match=r"the m line declares \d+ 'n' lines but the file has"):
        read_csv("\n".join(lines[:first_node] + lines[first_node + 1:]))
    with pytest.raises(FormatError, match="a line has a field of the wrong type or count"):
        read_csv(text.replace("\nn,", "\nn,x", 1))


def _deep_tree():
    X = np.arange(200, dtype=np.float32).reshape(-1, 1)
    return DecisionTreeClassifier().fit(X, np.arange(200) % 2)  # a chain 199 splits deep


def _big_tree():
    rng = np.random.default_rng(0)
    return DecisionTreeRegressor().fit(rng.normal(size=(20000, 2)).astype(np.float32), rng.normal(size=20000))


def _hgb_categorical():
    X, y, _ = data("binary")
    X = X.copy()
    X[:, 0] = (X[:, 0] > 0).astype(np.float32)
    return HistGradientBoostingClassifier(max_iter=2, categorical_features=[0]).fit(X, y)


def _with_metadata(**changes):
    model = to_ir(fitted("DecisionTreeClassifier")[0])
    model.metadata["classic"].update(changes)
    return model


REFUSALS = [
    (lambda: convert(SVC().fit(*data("binary")[:2])), UnsupportedError,
     r"tinyrt cannot convert SVC; it converts DecisionTreeClassifier, .*IsolationForest"),
    (lambda: convert(SVC()), UnsupportedError, "tinyrt cannot convert SVC"),
    (lambda: convert(RandomForestClassifier()), InputError,
     r"the RandomForestClassifier is not fitted; call fit\(X, y\) before tinyrt.convert"),
    (lambda: convert(_big_tree()), UnsupportedError,
     r"19999 split nodes and 20000 distinct leaves, 39999 nodes, more than the 32767 that form='nodes'"),
    (lambda: to_binary(convert(_deep_tree()).spec), UnsupportedError,
     "a tree is 199 splits deep; the loadable format holds trees up to depth 64"),
    (lambda: convert(_hgb_categorical()), UnsupportedError, "has categorical splits, which tinyrt does not convert"),
    (lambda: convert(RandomForestClassifier(2).fit(data("classes")[0], np.c_[data("classes")[1], data("classes")[1]])),
     UnsupportedError, "fitted on 2 outputs; tinyrt converts single-output classifiers only"),
    (lambda: convert(GradientBoostingRegressor(n_estimators=2, init=LinearRegression()).fit(*data("regression")[:2])),
     UnsupportedError, "with init=LinearRegression is not supported"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0]).predict(np.full((2, 6), np.nan)), InputError,
     "X contains NaN or infinite values"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0]).predict(np.zeros((2, 5))), InputError,
     r"expects X of shape \(n_samples, 6\), got \(2, 5\)"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0]).predict(np.zeros(6)), InputError,
     r"reshape single samples with X.reshape\(1, -1\)"),
    (lambda: convert(fitted("ExtraTreesRegressor")[0]).predict_proba(np.zeros((1, 6))), UnsupportedError,
     "ExtraTreesRegressor has no predict_proba; it has predict"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0], form="tree"), UnsupportedError,
     "form must be one of nodes, inline, got 'tree'"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0], features="int8"), UnsupportedError,
     "features must be one of float32, int16, got 'int8'"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0], features="int16", scale=[1.0, 2.0]), InputError,
     r"scale must be one number or 6 numbers \(one per feature\)"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0], features="int16", scale=[1, 1, 1, -1.0, 1, 1]), InputError,
     "every int16 scale must be a positive finite float32 number; feature 3 has -1.0"),
    (lambda: convert(fitted("DecisionTreeClassifier")[0]).save("model.onnx"), InputError,
     r"cannot tell the format of model.onnx; save to a .h \(C library\), .bin"),
    (lambda: CModel(_with_metadata(predict="vote")), ModelError,
     "metadata 'classic' has predict='vote', proba='raw'; predict must be one of value, value_exp, argmax"),
    (lambda: c_run(b"TRTT" + bytes(80), np.zeros((1, 6), np.float32)), FormatError,
     r"the C loader rejected the model file \(version\)"),
]


@pytest.mark.parametrize("call, error, message", REFUSALS)
def test_refusals_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_more_than_256_features_use_16_bit_feature_indices():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 300)).astype(np.float32)
    y = (X[:, 299] + X[:, 7] > 0).astype(int)
    est = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X[:200], y[:200])
    cm = convert(est, "wide")
    tables = cm.header().split("#define WIDE_MAX_DEPTH")[1]  # the model part, after the runtime
    assert "uint16_t wide_feature[" in tables and "feature8" not in tables
    np.testing.assert_array_equal(cm.predict(X[200:]), est.predict(X[200:]))
    raw, cls = c_run(to_binary(cm.spec), X[200:])
    np.testing.assert_array_equal(cls, est.predict(X[200:]))


def test_float32_thresholds_decide_like_the_float64_ones_for_every_float32_input():
    from tinyrt.frontends.sklearn.ensemble import round_down_f32
    rng = np.random.default_rng(7)
    t64 = rng.normal(size=5000) * 10.0 ** rng.uniform(-6, 6, 5000)
    t32 = round_down_f32(t64)
    assert t32.dtype == np.float32
    for x in (t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf)),
              t64.astype(np.float32)):  # the float32 inputs on both sides of every threshold
        np.testing.assert_array_equal(x <= t32, x.astype(np.float64) <= t64)
