"""ONNX graphs for the zoo blocks the IR cannot express, built node by node with the GraphBuilder.

Every graph reads ``x`` (float32 [T, input_size]) and writes ``y`` ([T, output_size]). Two blocks
read one more input, fed by the engine on every call:

- ``matvec_sparse``: ``weight``, the CSR matrix as a sparse tensor, multiplied by ONNX Runtime's
  ``com.microsoft.SparseToDenseMatMul`` (its CPU kernel takes CSR or COO; a sparse *initializer*
  would be made dense when the session loads, so the matrix comes in as a sparse input);
- ``gaussian``: ``position`` (int64 scalar), the stream position the noise table is read from.

``matvec_int8`` keeps the int8 weights [out, in] and dequantizes them per row with DequantizeLinear
(ONNX Runtime does not fold it away) before a float Gemm: weights in int8, activations and
arithmetic in float32. (Stored transposed, [in, out], and dequantized per column before a MatMul,
the same product is rewritten by ONNX Runtime's optimiser into com.microsoft.MatMulNBits, which
quantizes the activations too and moves the output by about 6e-3 at 64 x 64.)
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ..backends.onnx import DEFAULT_OPSET
from ..backends.onnx_graph import GraphBuilder
from .zoo_blocks import EPS_PERIOD, LN_EPS

MS_DOMAIN = "com.microsoft"


def _int8(g: GraphBuilder, block) -> None:
    w = block.weights
    weight = g.op("DequantizeLinear", [g.const("weight", w["weight"], np.int8), g.const("scale", w["scale"])],
                  axis=0)
    g.node("Gemm", ["x", weight], ["y"], transB=1)


def _sparse(g: GraphBuilder, block) -> None:
    product = g.op("SparseToDenseMatMul", ["weight", g.op("Transpose", ["x"], perm=[1, 0])], domain=MS_DOMAIN)
    g.node("Transpose", [product], ["y"], perm=[1, 0])


def _gemm(g: GraphBuilder, block, x: str, name: str) -> str:
    return g.op("Gemm", [x, g.const(f"{name}_weight", block.weights[f"{name}_weight"]),
                         g.const(f"{name}_bias", block.weights[f"{name}_bias"])], transB=1)


def _layer_norm(g: GraphBuilder, block, x: str, name: str) -> str:
    return g.op("LayerNormalization", [x, g.const(f"{name}_weight", block.weights[f"{name}_weight"]),
                                       g.const(f"{name}_bias", block.weights[f"{name}_bias"])],
                axis=-1, epsilon=LN_EPS)


def _gelu(g: GraphBuilder, x: str) -> str:
    erf = g.op("Erf", [g.op("Mul", [x, g.const("inv_sqrt2", np.sqrt(0.5))])])
    return g.op("Mul", [g.op("Mul", [x, g.const("half", 0.5)]), g.op("Add", [erf, g.const("one", 1.0)])])


def _transformer(g: GraphBuilder, block) -> None:
    d, heads = block.sizes["d_model"], block.sizes["heads"]
    hd = d // heads
    qkv = _gemm(g, block, _layer_norm(g, block, "x", "norm1"), "in_proj")
    parts = g.node("Split", [qkv, g.const("thirds", [d, d, d], np.int64)], ["q", "k", "v"], axis=1)
    split_heads = g.const("head_shape", [0, heads, hd], np.int64)
    q, k, v = (g.op("Transpose", [g.op("Reshape", [p, split_heads])], perm=[1, 0, 2]) for p in parts)
    scores = g.op("MatMul", [g.op("Mul", [q, g.const("attention_scale", 1 / np.sqrt(hd))]),
                             g.op("Transpose", [k], perm=[0, 2, 1])])
    mixed = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])       # [heads, T, hd]
    merged = g.op("Reshape", [g.op("Transpose", [mixed], perm=[1, 0, 2]), g.const("model_shape", [0, d], np.int64)])
    h = g.op("Add", ["x", _gemm(g, block, merged, "out_proj")])
    hidden = _gelu(g, _gemm(g, block, _layer_norm(g, block, h, "norm2"), "linear1"))
    g.node("Add", [h, _gemm(g, block, hidden, "linear2")], ["y"])


def _mdn(g: GraphBuilder, block) -> None:
    k, kd = block.sizes["mixtures"], block.sizes["mixtures"] * block.sizes["dims"]
    z = g.op("Gemm", ["x", g.const("weight", block.weights["weight"]), g.const("bias", block.weights["bias"])],
             transB=1)
    logits, means, raw = g.node("Split", [z, g.const("parts", [k, kd, kd], np.int64)],
                                ["logits", "means", "raw_scales"], axis=1)
    scales = g.op("Softplus" if block.sizes["scale"] == "softplus" else "Exp", [raw])
    g.node("Concat", [g.op("Softmax", [logits], axis=1), means, scales], ["y"], axis=1)


def _gaussian(g: GraphBuilder, block) -> None:
    n = block.sizes["latent"]
    mu, logvar = g.node("Split", ["x", g.const("halves", [n, n], np.int64)], ["mu", "logvar"], axis=1)
    frames = g.op("Gather", [g.op("Shape", ["x"]), g.const("zero", 0, np.int64)], axis=0)
    steps = g.op("Range", [g.const("start", 0, np.int64), frames, g.const("step", 1, np.int64)])
    rows = g.op("Mod", [g.op("Add", [steps, "position"]), g.const("period", EPS_PERIOD, np.int64)])
    eps = g.op("Gather", [g.const("eps", block.weights["eps"]), rows], axis=0)
    z = g.op("Add", [mu, g.op("Mul", [g.op("Exp", [g.op("Mul", [logvar, g.const("half", 0.5)])]), eps])])
    spread = g.op("Add", [g.op("Exp", [logvar]), g.op("Mul", [mu, mu])])
    terms = g.op("Sub", [g.op("Sub", [spread, g.const("one", 1.0)]), logvar])
    kl = g.op("Mul", [g.op("ReduceSum", [terms, g.const("feature_axis", [1], np.int64)], keepdims=1),
                      g.const("half", 0.5)])
    g.node("Concat", [z, kl], ["y"], axis=1)


GRAPHS = {"matvec_int8": _int8, "matvec_sparse": _sparse, "transformer": _transformer, "mdn": _mdn,
          "gaussian": _gaussian}


def to_onnx(block):
    """Return a checked onnx.ModelProto computing a non-IR zoo block (``x`` -> ``y``, plus its extra input)."""
    import onnx

    g = GraphBuilder(DEFAULT_OPSET)
    GRAPHS[block.kind](g, block)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", block.input_size])]
    if block.kind == "matvec_sparse":
        inputs.append(helper.make_sparse_tensor_value_info("weight", TensorProto.FLOAT,
                                                           [block.output_size, block.input_size]))
    if block.kind == "gaussian":
        inputs.append(helper.make_tensor_value_info("position", TensorProto.INT64, []))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", block.output_size])]
    graph = helper.make_graph(g.nodes, block.kind, inputs, outputs, list(g.initializers.values()))
    opsets = [helper.make_opsetid("", DEFAULT_OPSET), helper.make_opsetid(MS_DOMAIN, 1)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="tinyrt zoo",
                              ir_version=helper.find_min_ir_version_for(opsets[:1]))
    onnx.checker.check_model(proto)
    return proto
