"""The generated C as a firmware engineer reads it.

Device C (c/runtime/) holds nothing host-only; an exported folder holds exactly the headers its
model includes and compiles alone under -pedantic; kernel flags are passed by name; every weight
array says which IR tensor it holds and how, truthfully; the header's byte counts match the
compiled object; no comment claims what is not so.
"""
import functools
import re
import subprocess
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

import tinyrt
from tinyrt.backends.c import export, generate
from tinyrt.bench import models as R
from tinyrt.c import HOST_DIR, RUNTIME_DIR, included_headers
from tinyrt.c.build import build, section_sizes
from tinyrt.frontends.sklearn import to_ir
from tinyrt.ir import Layer, Model

PEDANTIC = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"]
# xmmintrin.h: the SSE control register (flush-to-zero in trt_proc.h), compiler intrinsics, no C library
DEVICE_INCLUDES = {"math.h", "stdint.h", "string.h", "stddef.h", "xmmintrin.h"}
HOST_ONLY = re.compile(r"\b(malloc|calloc|realloc|free|printf|fprintf|sprintf|snprintf|puts|fopen|fwrite|fread|"
                       r"exit|abort|pthread_\w+|sem_\w+|dlopen|dlsym|clock_gettime|time|clock|sleep|usleep)\s*\(")


def _code_only(text: str) -> str:
    """Return C text without its comments."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.DOTALL)


def _host_only_uses(text: str) -> list:
    """Return the includes and calls in C text that have no place on a device."""
    code = _code_only(text)
    includes = re.findall(r'#\s*include\s*[<"]([^>"]+)[>"]', code)
    bad = [h for h in includes if h not in DEVICE_INCLUDES and not (RUNTIME_DIR / h).is_file()]
    return bad + [m.group(0) for m in HOST_ONLY.finditer(code)]


def test_the_device_folder_holds_only_device_code_and_the_host_folder_the_rest():
    files = sorted(RUNTIME_DIR.iterdir())
    assert files and all(re.fullmatch(r"trt_\w+\.h", p.name) for p in files), [p.name for p in files]
    for path in files:
        assert _host_only_uses(path.read_text()) == [], path.name
    assert sorted(p.name for p in HOST_DIR.iterdir()) == ["trt_dsp.c", "trt_harness.c", "trt_hooks.h"]
    harness = _host_only_uses((HOST_DIR / "trt_harness.c").read_text()  # the scan does see host code
                              + (HOST_DIR / "trt_hooks.h").read_text())
    assert {"stdio.h", "stdlib.h", "time.h", "dlfcn.h", "pthread.h"} <= set(harness)
    assert any(call.startswith(("printf", "fprintf")) for call in harness)


def _models():
    r = np.random.default_rng(3)
    return {
        "lstm": Model([R.rnn(r, "lstm", 1, 6), R.dense(r, 6, 1)], input_size=1, name="lstm"),
        "dense": Model([R.dense(r, 3, 9), R.dense(r, 9, 2, bias=False)], input_size=3, name="dense"),
        "gru2": Model([R.rnn(r, "gru", 2, 5, num_layers=2, bias=False, initial_state=True)], input_size=2,
                      name="gru2"),
        "conv_res": Model([R.conv1d(r, 1, 4, 3, dilation=2), Layer("residual", {"features": 4}, layers=[
            R.conv1d(r, 4, 4, 1, bias=False), R.activation(r, "sigmoid", 4)]), R.batchnorm(r, 4),
            R.activation(r, "prelu", 4), R.dense(r, 4, 1)], input_size=1, name="conv_res"),
        "stack": R.stack_model(r),
    }


MODELS = _models()


def test_export_copies_exactly_the_headers_the_model_includes_and_compiles_alone(tmp_path):
    expected = {"lstm": {"lstm.c", "lstm.h", "trt_common.h", "trt_act.h", "trt_dense.h", "trt_lstm.h"},
                "dense": {"dense.c", "dense.h", "trt_common.h", "trt_dense.h"}}
    for name, files in expected.items():
        out = export(MODELS[name], tmp_path / name, name=name)
        assert {p.name for p in out.iterdir()} == files
        proc = subprocess.run([*PEDANTIC, "-O2", f"{name}.c", "-o", str(tmp_path / f"{name}.o")], cwd=out,
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
    assert list(included_headers('#include "trt_gru.h"\n')) == ["trt_act.h", "trt_common.h", "trt_dense.h",
                                                                "trt_gru.h"]
    assert included_headers('#include <stdio.h>\n#include "mine.h"\n') == {}


def _classic():
    """Return small fitted scikit-learn models: a forest, an MLP, a KD-tree kNN and a Gaussian mixture."""
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
                               random_state=0)
    X = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short MLP fit does not converge; it need not
        return {"forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y),
                "mlp": MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, y),
                "knn": KNeighborsClassifier(n_neighbors=3, algorithm="kd_tree", weights="distance").fit(X, y),
                "gmm": GaussianMixture(n_components=2, covariance_type="full", random_state=0).fit(X)}


CLASSIC = _classic()


@functools.cache
def _header(case: str) -> str:
    """Return the single-header C library tinyrt.convert makes of a classic case."""
    return tinyrt.convert(CLASSIC[case], case).header()


@pytest.mark.parametrize("case", sorted(CLASSIC))
def test_a_classic_header_compiles_alone_pedantic_and_carries_only_the_runtime_it_uses(case, tmp_path):
    header = _header(case)
    (tmp_path / f"{case}.h").write_text(header)
    (tmp_path / "use.c").write_text(f'#include "{case}.h"\nint use(const float *x);\n'
                                    f"int use(const float *x)\n{{\n    return {case}_predict(x);\n}}\n")
    proc = subprocess.run([*PEDANTIC, "-O2", "use.c", "-o", "use.o"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    runtime = set(re.findall(r"^#ifndef (TRT_\w+_H)$", header, re.MULTILINE))
    assert runtime == {"forest": {"TRT_COMMON_H", "TRT_TREES_H"}, "mlp": {"TRT_COMMON_H", "TRT_CLASSIC_H"},
                       "knn": {"TRT_COMMON_H", "TRT_CLASSIC_H", "TRT_KNN_H"},
                       "gmm": {"TRT_COMMON_H", "TRT_CLASSIC_H", "TRT_DENSITY_H"}}[case]
    assert "(void)b;" not in header  # every chain here writes buffer b


def _calls(source: str) -> list:
    """Return the kernel calls of a generated file, each joined onto one line."""
    return [" ".join(call.split()) for call in re.findall(r"^\s*(trt_\w+\([^;]*\);)", source, re.MULTILINE)]


@pytest.mark.parametrize("options", [{}, {"activations": "fast", "weights": "bf16"}])
def test_kernel_flags_are_named_constants_never_bare_numbers(options):
    act = "TRT_ACT_FAST" if options else "TRT_ACT_PRECISE"
    weights = "TRT_WEIGHTS_BF16" if options else "TRT_WEIGHTS_F32"
    calls = [c for m in MODELS.values() for c in _calls(generate(m, **options).source)]
    flagged = [c for c in calls if c.startswith(("trt_lstm_", "trt_gru_", "trt_tanh(", "trt_sigmoid("))]
    assert flagged and all(c.endswith((f", {act});", f", {weights});")) for c in flagged), flagged
    assert {f", {act});", f", {weights});"} <= {c[c.rindex(","):] for c in flagged}
    assert any("TRT_NO_BIAS" in c for c in calls) and any("TRT_NO_HISTORY, TRT_NO_HISTORY" in c for c in calls)
    assert not [c for c in calls if "NULL" in c]
    runtime = "".join(p.read_text() for p in RUNTIME_DIR.glob("trt_*.h"))
    for name in ("TRT_ACT_PRECISE", "TRT_ACT_FAST", "TRT_WEIGHTS_F32", "TRT_WEIGHTS_BF16", "TRT_NO_BIAS",
                 "TRT_NO_HISTORY", "TRT_KNN_UNIFORM", "TRT_KNN_DISTANCE", "TRT_KNN_KD_TREE", "TRT_KNN_BALL_TREE"):
        assert re.search(rf"(#define {name} |\b{name} = \d)", runtime), name


def test_classic_calls_name_their_flags():
    assert "trt_knn_tree_votes(TRT_KNN_EUCLIDEAN, 2.0, TRT_KNN_DISTANCE, TRT_KNN_KD_TREE, " in _header("knn")
    assert re.search(r"trt_density_gmm\(TRT_GMM_FULL, \w+, \w+, NULL, ", _header("gmm"))


def _comment_above(source: str) -> dict:
    """Return {array name: the one comment right above its definition, unwrapped}."""
    found = re.findall(r"/\* ((?:(?!\*/).)*) \*/\nstatic const \w+ (?:TRT_ALIGN\(64\) )?(\w+)\[", source, re.DOTALL)
    return {name: re.sub(r"\s*\n \* ", " ", text) for text, name in found}


def test_every_weight_array_says_which_tensor_it_holds_and_its_layout_truthfully():
    for options in ({}, {"weights": "bf16"}):
        for model in MODELS.values():
            source = generate(model, **options).source
            arrays = dict(re.findall(r"static const \w+ (?:TRT_ALIGN\(64\) )?(\w+)\[(\d+)\]", source))
            notes = _comment_above(source)
            assert set(notes) == set(arrays)
            for name, note in notes.items():
                assert note.startswith("layer "), note
                rows = re.search(r"stored transposed as (\d+) rows? of (\d+) (floats|uint32 words)", note)
                if rows:
                    assert int(rows.group(1)) * int(rows.group(2)) == int(arrays[name]), note
                conv = re.search(r"stored as \[tap\]\[input\]\[output of its group\]: (\d+) x (\d+) x (\d+)", note)
                if conv:
                    assert np.prod([int(g) for g in conv.groups()]) == int(arrays[name]), note
    notes = _comment_above(generate(MODELS["lstm"]).source)
    assert notes["l0_wih0"] == ("layer 0 lstm weight_ih_l0 (24 x 1), gate rows i,f,g,o each padded from 6 to 8 "
                                "units; stored transposed as 1 row of 32 floats")
    assert notes["l0_b0"] == ("layer 0 lstm bias_ih_l0 + bias_hh_l0 (24), gate rows i,f,g,o each padded from 6 to 8 "
                              "units")
    assert notes["l1_w"] == "layer 1 dense weight (1 x 6), row-major as in the model"
    bf16 = _comment_above(generate(MODELS["gru2"], weights="bf16").source)
    assert bf16["l0_whh1"].startswith("layer 0 gru weight_hh_l1 (15 x 5), gate rows r,z,n each padded from 5 to 8 "
                                      "units; stored transposed as 5 rows of 16 uint32 words, each packing 2 outputs")
    assert bf16["l0_h0"] == "layer 0 gru h0 (2 x 5): the state after reset, units padded with zeros to 8"
    for case in sorted(CLASSIC):
        header = _header(case)
        assert set(_comment_above(header)) == set(re.findall(r"static const \w+ (\w+)\[", header)), case


def _stated(code) -> dict:
    return {k: int(v) for k, v in re.findall(r"#define \w+_(WEIGHT|STATE|STACK)_BYTES (\d+)", code.header)}


def test_the_header_states_weight_state_and_stack_bytes_that_match_the_compiled_code():
    models = {**MODELS, "forest": to_ir(CLASSIC["forest"], "forest"), "mlp_ir": to_ir(CLASSIC["mlp"], "mlp_ir"),
              "stateless": Model([R.activation(np.random.default_rng(1), "tanh", 3)], input_size=3, name="stateless")}
    for model in models.values():
        code = generate(model)
        stated = _stated(code)
        engine = tinyrt.backend(model, "c")
        assert getattr(engine._lib, f"{code.name}_state_size")() == stated["STATE"], code.name
        # -O0 keeps every array as its own symbol (-O2 may fold a small one into the code)
        obj = build(code.files(), f"{code.name}.o", kind="object", extra_flags=["-O0", "-fstack-usage"])
        nm = subprocess.run(["nm", "-S", str(obj)], capture_output=True, text=True, check=True).stdout
        symbols = {p[3]: int(p[1], 16) for p in (line.split() for line in nm.splitlines()) if len(p) == 4}
        arrays = re.findall(r"static const \w+ (?:TRT_ALIGN\(64\) )?(\w+)\[", code.source)
        assert sum(symbols[a] for a in arrays) == stated["WEIGHT"], code.name
        assert section_sizes(obj)["rodata"] >= stated["WEIGHT"]
        usage = re.search(rf"{code.name}_process\s+(\d+)", obj.with_suffix(".su").read_text())
        assert int(usage.group(1)) >= stated["STACK"], code.name  # unoptimised, every declared local is in the frame
    lstm = _stated(generate(MODELS["lstm"]))
    assert lstm == {"WEIGHT": 4 * (32 + 6 * 32 + 32 + 6 + 1), "STATE": 4 * (8 + 8), "STACK": 4 * 32 + 4 + 8 + 8}


def test_no_comment_claims_what_is_not_so():
    stateful = generate(MODELS["lstm"]).source
    stateless = generate(Model([R.dense(np.random.default_rng(2), 2, 3)], input_size=2, name="d")).source
    assert "(void)s;" not in stateful and "stateless" not in stateful
    assert "    (void)s; /* a stateless model does not read it */" in stateless
    assert "char unused; /* the model keeps no state */" in generate(
        Model([R.dense(np.random.default_rng(2), 2, 3)], input_size=2)).header
    assert "{\n    memset(s, 0, sizeof *s);\n}\n" in stateful  # no stray blank line for a reset with nothing else
    assert "/* layer 1.1: activation sigmoid, 4 -> 4 */" in generate(MODELS["conv_res"]).source
