"""The zoo's block kinds: their sizes, weights, IR models and the NumPy float64 references.

Every block reads frames (T, input_size) and writes (T, output_size), one frame per time step.
Blocks the IR can express (matvec, conv1d, lstm, gru, mlp) are IR models and their reference is
the IR's reference runner; the others are written here in float64 from the same float32 (or int8)
weights every engine uses:

- ``matvec_int8``: ``y = x (s * Q)^T`` with Q int8 per-row symmetric (|q| <= 127) and s the float32
  row scales, quantized from the float32 weights kept as ``weight_float``;
- ``matvec_sparse``: ``y = x A^T`` with A in CSR form (``indptr``, ``indices``, ``data``);
- ``transformer``: one pre-norm encoder block over the frames of one call:
  ``h = x + MHA(LN1(x))``, ``y = h + W2 gelu(W1 LN2(h) + b1) + b2`` (PyTorch's
  TransformerEncoderLayer with norm_first, exact GELU, layer-norm eps 1e-5, no mask);
- ``mdn``: ``z = W x + b`` split into mixture logits (softmax), means and scales (exp or softplus);
- ``gaussian``: frames ``[mu | logvar]`` -> ``[z | kl]`` with ``z = mu + exp(logvar / 2) * eps`` and
  ``kl = 0.5 * sum(exp(logvar) + mu^2 - 1 - logvar)`` (KL to N(0, I)); eps is a fixed standard
  normal table of EPS_PERIOD frames (seed EPS_SEED) read cyclically from the stream position.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix

from ..ir import Model
from ..ir.layers import ACTIVATIONS
from ..ir.reference import activate
from . import models as R

EPS_PERIOD = 8192  # frames in the sampler's noise table before it repeats
EPS_SEED = 20240601
LN_EPS = 1e-5
SCALES = ("exp", "softplus")


@dataclass(frozen=True)
class Kind:
    """One block kind: description, sizes with defaults, constraints, and how to build it."""

    description: str
    sizes: dict
    make: Callable  # (rng, sizes) -> (input_size, output_size, weights, IR model or None)
    check: Callable = lambda s: None  # sizes -> a sentence saying what is wrong, or None
    choices: dict = field(default_factory=dict)
    c_reason: tuple | None = None  # (short, full) why the C engine cannot run it; None: an IR block


def _ir(layers: list, n_in: int, name: str):
    # names start with zoo_: the generated C header of a model named gru or conv1d would take the
    # include guard of the runtime's trt_gru.h / trt_conv1d.h (TRT_GRU_H) and hide its kernels
    model = Model(layers, input_size=n_in, name=name)
    return n_in, model.output_size, {}, model


def _make_matvec(rng, s):
    return _ir([R.dense(rng, s["in"], s["out"], bias=False)], s["in"], "zoo_matvec")


def _make_int8(rng, s):
    w = R.dense(rng, s["in"], s["out"], bias=False).weights["weight"]
    peak = np.abs(w).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return s["in"], s["out"], {"weight": q, "scale": scale, "weight_float": w}, None


def _make_sparse(rng, s):
    n_in, n_out = s["in"], s["out"]
    mask = rng.random((n_out, n_in)) < s["density"]
    mask[rng.integers(n_out), rng.integers(n_in)] = True  # at least one: ONNX Runtime refuses an empty CSR
    bound = 1.0 / np.sqrt(max(1.0, n_in * s["density"]))
    dense = np.where(mask, rng.uniform(-bound, bound, (n_out, n_in)), 0.0).astype(np.float32)
    rows, cols = np.nonzero(dense)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_out))]).astype(np.int64)
    return n_in, n_out, {"indptr": indptr, "indices": cols.astype(np.int64), "data": dense[rows, cols]}, None


def _make_conv(rng, s):
    c = s["channels"]
    return _ir([R.conv1d(rng, c, c, s["kernel"], s["dilation"], s["groups"])], c, "zoo_conv1d")


def _make_rnn(cell: str):
    def make(rng, s):
        return _ir([R.rnn(rng, cell, s["input"], s["hidden"])], s["input"], f"zoo_{cell}")
    return make


def _make_mlp(rng, s):
    widths, layers = s["widths"], []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(R.dense(rng, a, b))
        if i < len(widths) - 2:
            layers.append(R.activation(rng, s["activation"], b))
    return _ir(layers, widths[0], f"zoo_mlp_{s['activation']}")


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def _make_transformer(rng, s):
    d, ff = s["d_model"], s["ff"]
    w = {"in_proj_weight": _uniform(rng, np.sqrt(6 / (4 * d)), (3 * d, d)),
         "in_proj_bias": _uniform(rng, 0.1, (3 * d,)),
         "out_proj_weight": _uniform(rng, 1 / np.sqrt(d), (d, d)), "out_proj_bias": _uniform(rng, 0.1, (d,)),
         "linear1_weight": _uniform(rng, 1 / np.sqrt(d), (ff, d)), "linear1_bias": _uniform(rng, 0.1, (ff,)),
         "linear2_weight": _uniform(rng, 1 / np.sqrt(ff), (d, ff)), "linear2_bias": _uniform(rng, 0.1, (d,))}
    for norm in ("norm1", "norm2"):
        w[f"{norm}_weight"] = (1 + _uniform(rng, 0.2, (d,))).astype(np.float32)
        w[f"{norm}_bias"] = _uniform(rng, 0.1, (d,))
    return d, d, w, None


def _make_mdn(rng, s):
    k, d = s["mixtures"], s["dims"]
    head = R.dense(rng, s["in"], k * (1 + 2 * d))
    return s["in"], k * (1 + 2 * d), dict(head.weights), None


def _make_gaussian(rng, s):
    eps = np.random.default_rng(EPS_SEED).standard_normal((EPS_PERIOD, s["latent"])).astype(np.float32)
    return 2 * s["latent"], s["latent"] + 1, {"eps": eps}, None


def _check_conv(s):
    if s["channels"] % s["groups"]:
        return f"conv1d channels ({s['channels']}) must be a multiple of groups ({s['groups']})."
    return None


def _check_mlp(s):
    if len(s["widths"]) < 3:
        return f"an mlp needs at least three widths (input, hidden..., output), got {len(s['widths'])}."
    return None


def _check_transformer(s):
    if s["d_model"] % s["heads"]:
        return f"transformer d_model ({s['d_model']}) must be a multiple of heads ({s['heads']})."
    return None


def _check_density(s):
    if not 0 < s["density"] <= 1:
        return f"matvec_sparse density must be in (0, 1], got {s['density']:g}."
    return None


def values_needed(kind: str, s: dict) -> int:
    """Return about how many weight and state values a block of these sizes allocates (checked before building)."""
    if kind in ("matvec", "matvec_int8", "matvec_sparse"):
        return s["in"] * s["out"]
    if kind == "conv1d":
        c = s["channels"]
        return c * c * s["kernel"] // s["groups"] + c * ((s["kernel"] - 1) * s["dilation"] + 1)
    if kind in ("lstm", "gru"):
        return 4 * s["hidden"] * (s["input"] + s["hidden"] + 2)
    if kind == "mlp":
        w = s["widths"]
        return sum(a * b + b for a, b in zip(w, w[1:]))
    if kind == "transformer":
        d, t = s["d_model"], s["tokens"]
        return 4 * d * d + 2 * d * s["ff"] + t * t * s["heads"] + t * (d + s["ff"])
    if kind == "mdn":
        return s["in"] * s["mixtures"] * (1 + 2 * s["dims"])
    return sum(v for v in s.values() if isinstance(v, int))


KINDS = {
    "matvec": Kind("dense matrix-vector product y = W x (float32, no bias)", {"in": 64, "out": 64}, _make_matvec),
    "matvec_int8": Kind(
        "matrix-vector product with per-row symmetric int8 weights and float32 row scales, float activations",
        {"in": 64, "out": 64}, _make_int8,
        c_reason=("no int8 in IR", "the IR holds float32 weights only, so the C engine cannot run int8 weights "
                                   "(its nearest option is bf16 weight storage, export --to c --weights bf16).")),
    "matvec_sparse": Kind(
        "sparse matrix-vector product, weights in CSR form with the given density of non-zeros",
        {"in": 256, "out": 256, "density": 0.1}, _make_sparse, _check_density,
        c_reason=("no sparse in IR", "the IR has no sparse weights and the C engine no CSR kernel, so it "
                                     "could only run this matrix dense.")),
    "conv1d": Kind("causal streaming conv1d, channels -> channels, with dilation and groups",
                   {"channels": 16, "kernel": 3, "dilation": 2, "groups": 4}, _make_conv, _check_conv),
    "lstm": Kind("one LSTM layer (PyTorch gates), state kept across calls", {"input": 1, "hidden": 32},
                 _make_rnn("lstm")),
    "gru": Kind("one GRU layer (PyTorch gates), state kept across calls", {"input": 1, "hidden": 32},
                _make_rnn("gru")),
    "mlp": Kind("dense layers of the given widths with the activation after each hidden layer",
                {"widths": (16, 64, 64, 16), "activation": "tanh"}, _make_mlp, _check_mlp,
                choices={"activation": ACTIVATIONS}),
    "transformer": Kind(
        "pre-norm encoder block: LayerNorm, multi-head self-attention, LayerNorm, GELU feed-forward, "
        "residuals; attends over the tokens (frames) of one call",
        {"d_model": 32, "heads": 4, "ff": 64, "tokens": 64}, _make_transformer, _check_transformer,
        c_reason=("no attention", "the C engine has no attention or layer-norm kernel: the IR cannot express "
                                  "a transformer block.")),
    "mdn": Kind("mixture-density head: a dense layer split into mixture weights (softmax), means and scales",
                {"in": 32, "mixtures": 4, "dims": 2, "scale": "exp"}, _make_mdn, choices={"scale": SCALES},
                c_reason=("no split head", "the IR cannot apply softmax to one part of a frame and exp or "
                                           "softplus to another, so the C engine cannot run a mixture-density head.")),
    "gaussian": Kind(
        "[mu | logvar] -> [z | KL]: z = mu + exp(logvar/2) * eps (fixed-seed noise), KL to N(0, I) per frame",
        {"latent": 16}, _make_gaussian,
        c_reason=("no sampling", "the IR has no random sampling or KL layer, so the C engine cannot run "
                                 "reparameterized Gaussian sampling.")),
}


def layer_norm(x, weight, bias):
    """Return x normalised over the feature axis (biased variance, eps LN_EPS), scaled and shifted."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * weight + bias


def _f64(block, name):
    return block.weights[name].astype(np.float64)


def _ref_int8(block, x, position):
    return x @ (_f64(block, "weight") * _f64(block, "scale")[:, None]).T


def _ref_sparse(block, x, position):
    w = block.weights
    a = csr_matrix((_f64(block, "data"), w["indices"], w["indptr"]), shape=(block.output_size, block.input_size))
    return (a @ x.T).T


def _ref_transformer(block, x, position):
    d, heads = block.sizes["d_model"], block.sizes["heads"]
    hd, T = d // heads, len(x)
    h = layer_norm(x, _f64(block, "norm1_weight"), _f64(block, "norm1_bias"))
    qkv = h @ _f64(block, "in_proj_weight").T + _f64(block, "in_proj_bias")
    q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(T, heads, hd).transpose(1, 0, 2) for i in range(3))
    attention = activate("softmax", q @ k.transpose(0, 2, 1) / np.sqrt(hd))
    mixed = (attention @ v).transpose(1, 0, 2).reshape(T, d)
    x = x + mixed @ _f64(block, "out_proj_weight").T + _f64(block, "out_proj_bias")
    h = layer_norm(x, _f64(block, "norm2_weight"), _f64(block, "norm2_bias"))
    hidden = activate("gelu", h @ _f64(block, "linear1_weight").T + _f64(block, "linear1_bias"))
    return x + hidden @ _f64(block, "linear2_weight").T + _f64(block, "linear2_bias")


def _ref_mdn(block, x, position):
    k, d = block.sizes["mixtures"], block.sizes["dims"]
    z = x @ _f64(block, "weight").T + _f64(block, "bias")
    raw = z[:, k + k * d:]
    scales = np.exp(raw) if block.sizes["scale"] == "exp" else np.logaddexp(0.0, raw)
    return np.concatenate([activate("softmax", z[:, :k]), z[:, k:k + k * d], scales], axis=1)


def _ref_gaussian(block, x, position):
    n = block.sizes["latent"]
    mu, logvar = x[:, :n], x[:, n:]
    eps = _f64(block, "eps")[(position + np.arange(len(x))) % EPS_PERIOD]
    kl = 0.5 * (np.exp(logvar) + mu ** 2 - 1.0 - logvar).sum(axis=1, keepdims=True)
    return np.concatenate([mu + np.exp(0.5 * logvar) * eps, kl], axis=1)


# kind -> f(block, x float64 (T, input_size), stream position) -> float64 (T, output_size)
REFERENCES = {"matvec_int8": _ref_int8, "matvec_sparse": _ref_sparse, "transformer": _ref_transformer,
              "mdn": _ref_mdn, "gaussian": _ref_gaussian}


def quantization_error(block, frames) -> float:
    """Return the largest change int8 weights make to a matvec_int8 output, against its float32 weights."""
    x = np.asarray(frames, dtype=np.float64)
    return float(np.abs(_ref_int8(block, x, 0) - x @ _f64(block, "weight_float").T).max())


def input_frames(block, n: int, seed: int = 0) -> np.ndarray:
    """Return n deterministic float32 input frames for a block (the sampler gets logvar in [-3, 1])."""
    rng = np.random.default_rng(seed)
    if block.kind == "gaussian":
        latent = block.sizes["latent"]
        return np.concatenate([rng.normal(0, 1, (n, latent)), rng.uniform(-3, 1, (n, latent))],
                              axis=1).astype(np.float32)
    return rng.normal(0, 0.5, (n, block.input_size)).astype(np.float32)


__all__ = ["KINDS", "REFERENCES", "EPS_PERIOD", "EPS_SEED", "Kind", "input_frames", "layer_norm",
           "quantization_error"]
