"""The model zoo: every block builds, every supported (block, engine) pair agrees with the reference,
the references hold their own maths (int8, CSR, transformer, mixture density, Gaussian sampling and KL),
unsupported pairs carry their reasons, disagreeing engines are refused a time, and the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from test_cli import fail, run
from tinyrt.bench.zoo import BLOCKS, DEFAULT_ENGINES, bench_zoo, block, parse_blocks, run_calls, zoo_table
from tinyrt.bench.zoo_blocks import EPS_PERIOD, input_frames, layer_norm
from tinyrt.errors import InputError, UnsupportedError
from tinyrt.ir.layers import ACTIVATIONS

SMALL = ["matvec:in=8,out=5", "matvec_int8:in=16,out=6", "matvec_sparse:in=20,out=12,density=0.3",
         "conv1d:channels=4,kernel=3,dilation=2,groups=2", "lstm:input=2,hidden=5", "gru:input=1,hidden=6",
         "mlp:widths=3-8-2,activation=elu", "transformer:d_model=8,heads=2,ff=12,tokens=5",
         "mdn:in=6,mixtures=3,dims=2,scale=softplus", "gaussian:latent=3",
         *[f"mlp:widths=3-6-2,activation={function}" for function in ACTIVATIONS]]
NOT_IN_IR = {"matvec_int8": "int8", "matvec_sparse": "sparse", "transformer": "attention", "mdn": "softmax",
             "gaussian": "sampling"}


@pytest.fixture(scope="module")
def small_zoo():
    return bench_zoo(SMALL, DEFAULT_ENGINES, block=16, seconds=0.004)


def test_every_kind_builds_and_its_name_is_its_spec():
    assert set(BLOCKS) == {"matvec", "matvec_int8", "matvec_sparse", "conv1d", "lstm", "gru", "mlp", "transformer",
                           "mdn", "gaussian"}
    shapes = {"matvec": (64, 64), "matvec_int8": (64, 64), "matvec_sparse": (256, 256), "conv1d": (16, 16),
              "lstm": (1, 32), "gru": (1, 32), "mlp": (16, 16), "transformer": (32, 32), "mdn": (32, 20),
              "gaussian": (32, 17)}
    for kind in BLOCKS:
        b = block(kind)
        assert (b.input_size, b.output_size) == shapes[kind]
        assert (b.model is None) == (kind in NOT_IN_IR)
        again = parse_blocks(b.name)[0]
        assert again.sizes == b.sizes and again.name == b.name
    b = block("matvec", in_=7, out=3)
    assert b.name == "matvec:in=7,out=3" and b.model.layers[0].weights["weight"].shape == (3, 7)
    assert block("mlp", widths="4-9-9-2", activation="prelu").model.output_size == 2
    for function in ACTIVATIONS:
        layers = block("mlp", widths=(4, 6, 2), activation=function).model.layers
        assert [layer.type for layer in layers] == ["dense", "activation", "dense"]
        assert layers[1].params["function"] == function


def test_every_supported_pair_agrees_with_the_reference(small_zoo):
    for entry in small_zoo["blocks"]:
        for engine, cell in entry["engines"].items():
            if engine == "c" and entry["kind"] in NOT_IN_IR:
                assert NOT_IN_IR[entry["kind"]] in cell["unsupported"], (entry["name"], cell)
                continue
            assert "mean_ns" in cell, (entry["name"], engine, cell)
            assert cell["max_abs_error"] <= cell["tolerance"] and cell["max_abs_error"] < 2e-5, (entry["name"], engine)
            assert (cell["max_abs_error"] == 0) == (engine == "reference"), (entry["name"], engine)
            assert cell["calls"] == round(0.004 * 48000 / entry["frames_per_call"])
    transformer = next(e for e in small_zoo["blocks"] if e["kind"] == "transformer")
    assert transformer["frames_per_call"] == 5


def test_ir_blocks_use_the_ir_reference_runner():
    b = block("lstm", input=2, hidden=4)
    x = input_frames(b, 30)
    expected = b.model.reference().process(x.astype(np.float64))
    assert np.array_equal(run_calls(b.engine("reference"), x, 7), expected)


def test_int8_matvec_reference_and_its_error_against_float_weights(small_zoo):
    b = block("matvec_int8", in_=16, out=6)
    w = b.weights
    assert w["weight"].dtype == np.int8 and np.abs(w["weight"]).max() == 127
    x = input_frames(b, 10)
    dequantized = w["weight"].astype(np.float64) * w["scale"][:, None].astype(np.float64)
    assert np.allclose(run_calls(b.engine("reference"), x, 10), x @ dequantized.T, rtol=0, atol=1e-12)
    assert np.abs(dequantized - w["weight_float"]).max() <= w["scale"].max() / 2 + 1e-7
    entry = next(e for e in small_zoo["blocks"] if e["kind"] == "matvec_int8")
    assert 0 < entry["quantization_error"] < 0.05
    assert "int8 weights move the output by up to" in zoo_table(small_zoo)
    assert entry["weight_bytes"] == 16 * 6 + 4 * 6  # int8 weights and float32 scales


def test_sparse_matvec_is_the_product_with_the_dense_matrix():
    b = block("matvec_sparse", in_=40, out=30, density=0.25)
    w = b.weights
    dense = np.zeros((30, 40))
    for row in range(30):
        lo, hi = w["indptr"][row], w["indptr"][row + 1]
        dense[row, w["indices"][lo:hi]] = w["data"][lo:hi]
    assert 0.15 < np.count_nonzero(dense) / dense.size < 0.35
    x = input_frames(b, 9)
    for engine in ("reference", "torch", "onnxruntime"):
        assert np.abs(run_calls(b.engine(engine), x, 9) - x.astype(np.float64) @ dense.T).max() < 1e-6, engine


def _attention_reference(b, x):
    """A second, loop-per-head-and-token NumPy reference of the pre-norm encoder block."""
    w = {k: v.astype(np.float64) for k, v in b.weights.items()}
    d, heads = b.sizes["d_model"], b.sizes["heads"]
    hd = d // heads
    h = layer_norm(x, w["norm1_weight"], w["norm1_bias"])
    q, k, v = np.split(h @ w["in_proj_weight"].T + w["in_proj_bias"], 3, axis=1)
    mixed = np.zeros_like(x)
    for head in range(heads):
        cols = slice(head * hd, (head + 1) * hd)
        for t in range(len(x)):
            scores = k[:, cols] @ q[t, cols] / np.sqrt(hd)
            p = np.exp(scores - scores.max())
            mixed[t, cols] = (p / p.sum()) @ v[:, cols]
    x = x + mixed @ w["out_proj_weight"].T + w["out_proj_bias"]
    h = layer_norm(x, w["norm2_weight"], w["norm2_bias"])
    z = h @ w["linear1_weight"].T + w["linear1_bias"]
    gelu = np.array([0.5 * a * (1 + math.erf(a / math.sqrt(2))) for a in z.ravel()]).reshape(z.shape)
    return x + gelu @ w["linear2_weight"].T + w["linear2_bias"]


def test_transformer_matches_a_numpy_reference_within_each_call():
    b = block("transformer", d_model=12, heads=3, ff=20, tokens=6)
    x = input_frames(b, 18)
    ref = run_calls(b.engine("reference"), x, 6)
    expected = np.concatenate([_attention_reference(b, x[i:i + 6].astype(np.float64)) for i in (0, 6, 12)])
    assert np.abs(ref - expected).max() < 1e-12
    for engine in ("torch", "torchscript", "onnxruntime"):
        assert np.abs(run_calls(b.engine(engine), x, 6) - expected).max() < 2e-5, engine
    # attention mixes the tokens of a call: changing the first token changes the last one's output
    y = x.copy()
    y[0, 0] += 1.0  # one feature: adding a constant to a whole token would vanish in the layer norm
    changed = run_calls(b.engine("reference"), y, 6)
    assert np.abs(changed[5] - ref[5]).max() > 1e-3 and np.array_equal(changed[6:], ref[6:])


def test_mixture_density_head_outputs_weights_means_and_scales():
    for scale in ("exp", "softplus"):
        b = block("mdn", in_=5, mixtures=3, dims=2, scale=scale)
        x = input_frames(b, 8)
        y = run_calls(b.engine("reference"), x, 8)
        z = x.astype(np.float64) @ b.weights["weight"].T.astype(np.float64) + b.weights["bias"]
        assert np.allclose(y[:, :3].sum(axis=1), 1.0) and np.all(y[:, :3] > 0)
        assert np.allclose(y[:, 3:9], z[:, 3:9])
        raw = z[:, 9:]
        assert np.allclose(y[:, 9:], np.exp(raw) if scale == "exp" else np.log1p(np.exp(raw)))
        for engine in ("torch", "onnxruntime"):
            assert np.abs(run_calls(b.engine(engine), x, 4) - y).max() < 1e-5, (scale, engine)


def test_gaussian_kl_has_the_closed_form_and_samples_have_the_right_moments():
    b = block("gaussian", latent=3)
    x = input_frames(b, 50)
    mu, logvar = x[:, :3].astype(np.float64), x[:, 3:].astype(np.float64)
    y = run_calls(b.engine("reference"), x, 50)
    kl = np.sum(0.5 * (np.exp(logvar) + mu ** 2 - 1 - logvar), axis=1)
    assert np.allclose(y[:, 3], kl, rtol=1e-12)
    assert np.all(y[:, 3] >= 0)
    # constant mu and logvar over the whole noise period: z has mean mu and variance exp(logvar)
    mu0, logvar0 = np.array([0.5, -1.0, 2.0]), np.array([0.0, -2.0, 1.0])
    frames = np.tile(np.concatenate([mu0, logvar0]), (EPS_PERIOD, 1)).astype(np.float32)
    z = run_calls(b.engine("reference"), frames, 1024)[:, :3]
    assert np.allclose(z.mean(axis=0), mu0, atol=0.03 * np.exp(logvar0 / 2) + 1e-9)
    assert np.allclose(z.var(axis=0), np.exp(logvar0), rtol=0.05)


def test_gaussian_noise_stream_continues_across_calls_and_wraps_identically_on_every_engine():
    b = block("gaussian", latent=2)
    x = input_frames(b, EPS_PERIOD + 300)
    whole = run_calls(b.engine("reference"), x, len(x))
    assert np.array_equal(run_calls(b.engine("reference"), x, 97), whole)
    # the noise rows repeat after EPS_PERIOD frames
    eps = (whole[:, :2] - x[:, :2].astype(np.float64)) / np.exp(x[:, 2:].astype(np.float64) / 2)
    assert np.allclose(eps[EPS_PERIOD:], eps[:300])
    for engine in ("torch", "torchscript", "onnxruntime"):
        assert np.abs(run_calls(b.engine(engine), x, 997) - whole).max() < 1e-5, engine


def test_unsupported_pairs_are_listed_with_their_reasons(small_zoo):
    text = zoo_table(small_zoo)
    for short in ("no int8 in IR", "no sparse in IR", "no attention", "no split head", "no sampling"):
        assert f"n/a: {short}" in text
    assert "n/a: c on transformer: the C engine has no attention or layer-norm kernel" in text
    with pytest.raises(UnsupportedError, match="the IR cannot express a transformer block"):
        block("transformer").engine("c")
    header = text.splitlines()[1].split()
    assert header == ["block", *DEFAULT_ENGINES]


def test_an_engine_that_disagrees_is_refused_a_time():
    result = bench_zoo("mdn:in=4,mixtures=2,dims=1", ["reference", "torch"], block=8, seconds=0.002,
                       tolerance=1e-12)
    cell = result["blocks"][0]["engines"]["torch"]
    assert "mean_ns" not in cell and cell["max_abs_error"] > 0
    assert "against the reference exceeds the tolerance" in cell["failed"] and "not timed" in cell["failed"]
    assert "mean_ns" in result["blocks"][0]["engines"]["reference"]
    text = zoo_table(result)
    assert "FAIL: err" in text and "FAIL: torch on mdn:in=4,mixtures=2,dims=1,scale=exp" in text


def test_refusals_name_what_was_wrong():
    with pytest.raises(InputError, match="unknown block kind 'attention'; choose from matvec"):
        block("attention")
    with pytest.raises(InputError, match="lstm has no size 'units'; its sizes are input, hidden"):
        block("lstm", units=3)
    with pytest.raises(InputError, match="conv1d size 'kernel' must be a positive whole number, got '0'"):
        block("conv1d", kernel=0)
    with pytest.raises(InputError, match="lstm size 'hidden' must be a positive whole number, got '2.5'"):
        block("lstm", hidden=2.5)
    with pytest.raises(InputError, match=r"transformer d_model \(10\) must be a multiple of heads \(4\)"):
        block("transformer", d_model=10)
    with pytest.raises(InputError, match="an mlp needs at least three widths"):
        block("mlp", widths="4-2")
    with pytest.raises(InputError, match=r"matvec_sparse density must be in \(0, 1\], got 0"):
        block("matvec_sparse", density=0.0)
    with pytest.raises(InputError, match="mdn size 'scale' must be one of exp, softplus, got 'relu'"):
        block("mdn", scale="relu")
    with pytest.raises(InputError, match="write block sizes as name=value, got '64'"):
        parse_blocks("matvec:64")
    with pytest.raises(InputError, match="unknown engine 'tpu'; choose from reference, c, onnxruntime"):
        bench_zoo("matvec", ["c", "tpu"])
    with pytest.raises(InputError, match="--seconds must be positive"):
        bench_zoo("matvec", ["reference"], seconds=0)


def test_cli_zoo_end_to_end(tmp_path):
    listing = run("zoo", "--list").stdout
    for kind in BLOCKS:
        assert f"\n{kind}:" in "\n" + listing
    out = tmp_path / "zoo.json"
    proc = run("zoo", "--blocks", "matvec:in=8,out=4;gaussian:latent=2", "--engines", "reference,c,torchscript",
               "--block", "32", "--seconds", "0.01", "--json", out)
    lines = proc.stdout.splitlines()
    table_start = next(i for i, line in enumerate(lines) if line.startswith("mean microseconds per call of 32 frames"))
    assert lines[table_start + 1].split() == ["block", "reference", "c", "torchscript"]
    gaussian_row = lines[table_start + 3]
    assert gaussian_row.startswith("gaussian:latent=2") and "n/a: no sampling" in gaussian_row
    result = json.loads(out.read_text())
    assert [b["name"] for b in result["blocks"]] == ["matvec:in=8,out=4", "gaussian:latent=2"]
    assert result["blocks"][0]["engines"]["c"]["calls"] == 15
    assert "no random sampling" in result["blocks"][1]["engines"]["c"]["unsupported"]
    fail("zoo", "--blocks", "matvec:in=8;lstm:hiden=3", message="lstm has no size 'hiden'; its sizes are input, hidden")
    fail("zoo", "--blocks", "convolution", message="unknown block kind 'convolution'")
    fail("zoo", "--blocks", "matvec:in=x", message="matvec size 'in' must be a positive whole number, got 'x'")
    fail("zoo", "--blocks", "matvec", "--engines", "c,tensorrt", message="unknown engine 'tensorrt'")
