"""The generated C engine: parity with the reference for every layer, options, names, sanitizers."""
import platform
import subprocess

import numpy as np
import pytest

import tinyrt
from tinyrt.backends.c import CBackend, c_identifier, export, generate
from tinyrt.backends.c import harness as H
from tinyrt.backends.verify import random_splits, run_split
from tinyrt.bench import models as R
from tinyrt.errors import BuildError, UnsupportedError
from tinyrt.ir import Layer, Model


def _models():
    r = np.random.default_rng(11)
    cases = {
        "dense_rows": Model([R.dense(r, 3, 5)], input_size=3),
        "dense_cols_nobias": Model([R.dense(r, 3, 9, bias=False)], input_size=3),
        "lstm_3layer_init": Model([R.rnn(r, "lstm", 2, 5, num_layers=3, initial_state=True)], input_size=2),
        "gru_nobias": Model([R.rnn(r, "gru", 3, 6, num_layers=2, bias=False, initial_state=True)], input_size=3),
        "conv_k1": Model([R.conv1d(r, 2, 3, 1)], input_size=2),
        "conv_dilated_groups": Model([R.conv1d(r, 4, 8, 5, dilation=7, groups=2)], input_size=4),
        "conv_depthwise_nobias": Model([R.conv1d(r, 6, 6, 3, dilation=2, groups=6, bias=False)], input_size=6),
        "batchnorm": Model([R.batchnorm(r, 4)], input_size=4),
        "gain": Model([Layer("gain", {"features": 2, "gain": -1.5})], input_size=2),
        "residual_recurrent_body": Model([Layer("residual", {"features": 3}, layers=[
            R.rnn(r, "gru", 3, 4), R.dense(r, 4, 2)])], input_size=3),
        "stack": R.stack_model(r),
        "block16": R.effect_model(r, "lstm", 8, block_size=16, skip=True),
    }
    for fn in ("tanh", "relu", "sigmoid", "softsign", "elu", "prelu", "silu", "gelu", "softmax", "identity"):
        cases[f"act_{fn}"] = Model([R.activation(r, fn, 5)], input_size=5)
    cases["act_prelu_shared"] = Model([Layer("activation", {"function": "prelu", "features": 3},
                                             {"weight": np.array([0.2], np.float32)})], input_size=3)
    return cases


MODELS = _models()


@pytest.mark.parametrize("case", sorted(MODELS))
def test_c_matches_reference_in_random_splits(case):
    m = MODELS[case]
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2.0, (1500, m.input_size)).astype(np.float32)
    truth = m.reference().process(x)
    engine = tinyrt.backend(m, "c")
    whole = run_split(engine, x, [len(x)])
    split = run_split(engine, x, random_splits(len(x), rng, largest=100))
    assert np.abs(whole - truth).max() <= 1e-5
    np.testing.assert_array_equal(split, whole)  # the C engine is bit-exact under any split


def test_harness_matches_in_process_engine_and_native_build():
    m = MODELS["stack"]
    x = np.random.default_rng(2).normal(0, 0.5, (3000, 1)).astype(np.float32)
    in_process = tinyrt.backend(m, "c").process(x)
    np.testing.assert_array_equal(H.run(m, x, seed=7), in_process)
    native = tinyrt.backend(m, "c", profile="native").process(x)
    assert np.abs(native - m.reference().process(x)).max() <= 1e-5


MATVEC_BUILDS = {"plain-c99-loops": ["-DTRT_PLAIN_C"], "sixteen-vector-chunks": ["-DTRT_VB=16"]}
if platform.machine() == "x86_64":
    MATVEC_BUILDS["avx2"] = ["-mavx2", "-mfma"]


@pytest.mark.parametrize("build", sorted(MATVEC_BUILDS))
@pytest.mark.parametrize("weights", ["float32", "bf16"])
def test_every_matvec_build_gives_the_same_model(build, weights):
    """The plain C loops and the vector-type kernels (any width, any chunking) agree."""
    flags = MATVEC_BUILDS[build]
    m = R.effect_model(np.random.default_rng(12), "gru", 37, num_layers=2)  # 3H = 111: padded tails
    x = np.random.default_rng(13).normal(0, 0.5, (2000, 1)).astype(np.float32)
    vector = H.run(m, x, seed=2, weights=weights)
    other = H.run(m, x, seed=2, weights=weights, extra_flags=flags)
    assert np.abs(other - vector).max() <= 1e-6
    assert np.abs(other - m.reference().process(x)).max() <= (1e-5 if weights == "float32" else 5e-3)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("options", [{"profile": "native"}, {"profile": "native", "weights": "bf16"},
                                     {"profile": "native", "activations": "fast"}, {"weights": "bf16"}],
                         ids=["native", "native-bf16", "native-fast", "portable-bf16"])
def test_every_option_builds_warning_free_at_every_size(cell, options):
    """-Werror builds of each option over sizes with padded gates, partial vectors and chunks."""
    for hidden in (1, 5, 8, 16, 24, 37, 48, 64, 100):
        m = R.effect_model(np.random.default_rng(hidden), cell, hidden)
        x = np.random.default_rng(0).normal(0, 0.5, (300, 1)).astype(np.float32)
        err = np.abs(H.run(m, x, seed=1, **options) - m.reference().process(x)).max()
        assert err <= (5e-3 if "weights" in options else 5e-4), (hidden, err)


@pytest.mark.parametrize("options, bound", [({"activations": "fast"}, 5e-4), ({"weights": "bf16"}, 5e-3)])
def test_reduced_options_stay_within_their_error(options, bound):
    m = R.effect_model(np.random.default_rng(3), "lstm", 16)
    x = np.random.default_rng(4).normal(0, 0.5, (4000, 1)).astype(np.float32)
    err = np.abs(tinyrt.backend(m, "c", **options).process(x) - m.reference().process(x)).max()
    assert 1e-6 < err <= bound  # really approximate, and still close


def test_bad_options_are_refused():
    m = MODELS["gain"]
    with pytest.raises(UnsupportedError, match="activations must be one of precise, fast"):
        generate(m, activations="sloppy")
    with pytest.raises(UnsupportedError, match="weights must be one of float32, bf16"):
        generate(m, weights="int4")
    with pytest.raises(BuildError, match="unknown build profile 'turbo'"):
        CBackend(m, profile="turbo")


@pytest.mark.parametrize("name", ["x */ int main(void) { return 1; } /*", "for", "123abc", "Ünïcödé näme",
                                  "", "trt_dense", "a\nb\"c\\", "#define x 1", "__reserved",
                                  "dense", "act", "common"])  # the last three once took runtime header guards
def test_hostile_names_still_give_valid_c(name):
    m = Model([R.dense(np.random.default_rng(5), 1, 2), R.activation(np.random.default_rng(6), "tanh", 2)],
              input_size=1, name=name)
    code = generate(m)
    assert code.name.isidentifier() and code.name.isascii() and not code.name.startswith(("trt", "_"))
    x = np.ones((3, 1), np.float32)
    np.testing.assert_allclose(tinyrt.backend(m, "c").process(x), m.reference().process(x), atol=1e-6)
    assert c_identifier(name) == code.name


def test_export_writes_self_contained_sources_that_compile(tmp_path):
    m = MODELS["stack"]
    out = export(m, tmp_path / "gen", name="my_pedal")
    names = sorted(p.name for p in out.iterdir())
    assert "my_pedal.c" in names and "my_pedal.h" in names and "trt_lstm.h" in names
    proc = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-c",
                           str(out / "my_pedal.c"), "-o", str(tmp_path / "p.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    header = (out / "my_pedal.h").read_text()
    for needle in ("#define MY_PEDAL_INPUT_SIZE 1", "void my_pedal_process(my_pedal_state *s, const float *in,",
                   "void my_pedal_reset(my_pedal_state *s);", "allocates nothing"):
        assert needle in header


@pytest.mark.parametrize("case", ["stack", "block16", "lstm_3layer_init", "conv_dilated_groups", "act_gelu"])
def test_sanitizers_find_nothing(case):
    m = MODELS[case]
    x = np.random.default_rng(8).normal(0, 1, (2000, m.input_size)).astype(np.float32)
    y = H.run(m, x, seed=3, profile="sanitize")  # ASan/UBSan abort with a report on any error
    assert np.abs(y - m.reference().process(x)).max() <= 1e-5


def test_compiler_errors_become_build_errors(monkeypatch, tmp_path):
    from tinyrt.c.build import build
    with pytest.raises(BuildError, match="the C compiler rejected the generated code .*full log"):
        build({"bad.c": "int f(void) { return undeclared; }\n"}, "libbad.so")
    monkeypatch.setenv("CC", "no-such-compiler-xyz")
    with pytest.raises(BuildError, match="no C compiler found"):
        build({"ok.c": "int f(void) { return 0; }\n"}, "libok.so")
