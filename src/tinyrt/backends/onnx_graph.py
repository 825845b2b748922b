"""IR -> ONNX graph for streaming: one translation per layer type, state as explicit tensors.

The graph reads ``x`` (float32, [T, input_size], T dynamic) and writes ``y`` ([T, output_size]).
Every stateful layer adds a pair of tensors, named after the layer's position ``<path>``
(its index; nested layers join indices with ``_``, so ``6_0`` is the first layer in the
body of residual layer 6):

- lstm, sub-layer k: ``state_in_<path>_h<k>`` / ``state_in_<path>_c<k>``, shape [1, 1, hidden]
  (the ONNX LSTM's initial_h / initial_c layout);
- gru, sub-layer k: ``state_in_<path>_h<k>``, shape [1, 1, hidden];
- conv1d with kernel_size > 1: ``state_in_<path>_hist``, the last (kernel_size-1)*dilation
  input frames, oldest first, shape [(kernel_size-1)*dilation, in_channels].

``state_out_<same suffix>`` is the same state after the block; feed it back as
``state_in_...`` on the next call. Each ``state_in_...`` input also has an initializer of the
same name holding the initial state (zeros, or h0/c0 from the IR): a run that does not
feed it starts from the reset state.

Every node is named ``L<path>/<op_type>_<n>`` after the layer it belongs to (``L6_0/Gemm_9``), so
an ONNX Runtime profile can be read per layer.

Numeric conventions: the IR's LSTM gates (i, f, g, o) are reordered to ONNX's (i, o, f, c), the
GRU's (r, z, n) to ONNX's (z, r, h) with linear_before_reset=1 (PyTorch's GRU); conv1d is a
Conv without padding over concat(history, x); GELU is the exact erf form.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ..errors import UnsupportedError
from ..ir.layers import INPUT

MIN_OPSET = 13   # Squeeze/Unsqueeze with axes as inputs, Softmax over one axis
GELU_OPSET = 20  # first opset with a Gelu operator
STATE_IN, STATE_OUT = "state_in_", "state_out_"

_LSTM_ORDER = (0, 3, 1, 2)  # IR (i, f, g, o) -> ONNX (i, o, f, c)
_GRU_ORDER = (1, 0, 2)      # IR (r, z, n) -> ONNX (z, r, h)
_SIMPLE_ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid",
                       "softsign": "Softsign", "identity": "Identity"}


class GraphBuilder:
    """Collects nodes, initializers and state tensors while layers are translated."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes = []
        self.initializers = {}
        self.states = []  # (state_in name, state_out name, initial value)
        self.path = ""  # the layer being translated: node names start with "L<path>/"
        self._count = 0

    def const(self, name: str, value, dtype=np.float32) -> str:
        """Return the name of an initializer holding ``value`` (created on first use)."""
        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(np.asarray(value, dtype=dtype), name)
        return name

    def axes(self, *axes: int) -> str:
        """Return the name of an int64 constant listing ``axes``."""
        return self.const("axes_" + "_".join(map(str, axes)), list(axes), np.int64)

    def node(self, op_type: str, inputs: list, outputs: list, **attrs) -> list:
        """Return the output names after adding one node with explicit output names."""
        self._count += 1
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=f"L{self.path}/{op_type}_{self._count}",
                                          **attrs))
        return outputs

    def op(self, op_type: str, inputs: list, **attrs) -> str:
        """Return the name of the single output of a new node."""
        return self.node(op_type, inputs, [f"t{self._count + 1}_{op_type}"], **attrs)[0]

    def state(self, suffix: str, initial) -> tuple:
        """Return the (input, output) names of a new state tensor starting at ``initial``."""
        names = STATE_IN + suffix, STATE_OUT + suffix
        self.const(names[0], initial)
        self.states.append((*names, np.asarray(initial, dtype=np.float32)))
        return names


def _gate_blocks(w: np.ndarray, order: tuple, hidden: int) -> np.ndarray:
    return np.concatenate([w[g * hidden:(g + 1) * hidden] for g in order], axis=0)


def _dense(g: GraphBuilder, layer, x: str, path: str) -> str:
    inputs = [x, g.const(f"{path}/weight", layer.weights["weight"])]
    if layer.params["bias"]:
        inputs.append(g.const(f"{path}/bias", layer.weights["bias"]))
    return g.op("Gemm", inputs, transB=1)


def _recurrent(g: GraphBuilder, layer, x: str, path: str) -> str:
    p, w = layer.params, layer.weights
    hidden, lstm = p["hidden_size"], layer.type == "lstm"
    order = _LSTM_ORDER if lstm else _GRU_ORDER
    zeros = np.zeros((p["num_layers"], hidden), dtype=np.float32)
    h0, c0 = w.get("h0", zeros), w.get("c0", zeros)
    seq = g.op("Unsqueeze", [x, g.axes(1)])  # [T, 1 (batch), features]
    for k in range(p["num_layers"]):
        inputs = [seq,
                  g.const(f"{path}/W{k}", _gate_blocks(w[f"weight_ih_l{k}"], order, hidden)[None]),
                  g.const(f"{path}/R{k}", _gate_blocks(w[f"weight_hh_l{k}"], order, hidden)[None])]
        if p["bias"]:
            bias = np.concatenate([_gate_blocks(w[f"bias_ih_l{k}"], order, hidden),
                                   _gate_blocks(w[f"bias_hh_l{k}"], order, hidden)])
            inputs.append(g.const(f"{path}/B{k}", bias[None]))
        else:
            inputs.append("")
        h_in, h_out = g.state(f"{path}_h{k}", h0[k].reshape(1, 1, hidden))
        inputs += ["", h_in]  # no sequence_lens: every step of the block is used
        outputs = [f"{path}/Y{k}", h_out]
        if lstm:
            c_in, c_out = g.state(f"{path}_c{k}", c0[k].reshape(1, 1, hidden))
            inputs.append(c_in)
            outputs.append(c_out)
            g.node("LSTM", inputs, outputs, hidden_size=hidden)
        else:
            g.node("GRU", inputs, outputs, hidden_size=hidden, linear_before_reset=1)
        last = k == p["num_layers"] - 1
        # Y is [T, 1 (direction), 1 (batch), hidden]: keep the batch axis between sub-layers
        seq = g.op("Squeeze", [outputs[0], g.axes(1, 2) if last else g.axes(1)])
    return seq


def _conv1d(g: GraphBuilder, layer, x: str, path: str) -> str:
    p = layer.params
    history = (p["kernel_size"] - 1) * p["dilation"]
    if history:
        h_in, h_out = g.state(f"{path}_hist", np.zeros((history, p["in_channels"])))
        x = g.op("Concat", [h_in, x], axis=0)
        g.node("Slice", [x, g.const(f"{path}/history_start", [-history], np.int64),
                         g.const("int64_max", [np.iinfo(np.int64).max], np.int64), g.axes(0)], [h_out])
    frames = g.op("Unsqueeze", [x, g.axes(0)])                # [1, L, C]
    channels = g.op("Transpose", [frames], perm=[0, 2, 1])   # [1, C, L]
    inputs = [channels, g.const(f"{path}/weight", layer.weights["weight"])]
    if p["bias"]:
        inputs.append(g.const(f"{path}/bias", layer.weights["bias"]))
    y = g.op("Conv", inputs, kernel_shape=[p["kernel_size"]], dilations=[p["dilation"]],
             group=p["groups"], pads=[0, 0], strides=[1])    # [1, C_out, T]
    return g.op("Squeeze", [g.op("Transpose", [y], perm=[0, 2, 1]), g.axes(0)])


def _activation(g: GraphBuilder, layer, x: str, path: str) -> str:
    p = layer.params
    f = p["function"]
    if f in _SIMPLE_ACTIVATIONS:
        return g.op(_SIMPLE_ACTIVATIONS[f], [x])
    if f == "elu":
        return g.op("Elu", [x], alpha=float(p["alpha"]))
    if f == "prelu":
        return g.op("PRelu", [x, g.const(f"{path}/slope", layer.weights["weight"])])
    if f == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if f == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if f == "hardswish":
        clipped = g.op("Clip", [g.op("Add", [x, g.const("three", 3.0)]), g.const("zero_f", 0.0), g.const("six", 6.0)])
        return g.op("Mul", [x, g.op("Div", [clipped, g.const("six", 6.0)])])
    if f == "hardtanh":
        lo, hi = g.const(f"{path}/min_val", p["min_val"]), g.const(f"{path}/max_val", p["max_val"])
        below = g.op("Add", [g.op("Mul", [g.op("Sub", [x, lo]), g.const(f"{path}/min_slope", p["min_slope"])]), lo])
        above = g.op("Add", [g.op("Mul", [g.op("Sub", [x, hi]), g.const(f"{path}/max_slope", p["max_slope"])]), hi])
        inner = g.op("Where", [g.op("Greater", [x, hi]), above, x])
        return g.op("Where", [g.op("Less", [x, lo]), below, inner])
    if g.opset >= GELU_OPSET:
        return g.op("Gelu", [x], approximate="none")
    erf = g.op("Erf", [g.op("Mul", [x, g.const("inv_sqrt2", np.sqrt(0.5))])])
    return g.op("Mul", [g.op("Mul", [x, g.const("half", 0.5)]), g.op("Add", [erf, g.const("one", 1.0)])])


def _batchnorm(g: GraphBuilder, layer, x: str, path: str) -> str:
    w = {k: v.astype(np.float64) for k, v in layer.weights.items()}
    scale = w["weight"] / np.sqrt(w["running_var"] + layer.params["eps"])
    shift = w["bias"] - w["running_mean"] * scale
    return g.op("Add", [g.op("Mul", [x, g.const(f"{path}/scale", scale)]), g.const(f"{path}/shift", shift)])


def _residual(g: GraphBuilder, layer, x: str, path: str) -> str:
    body = translate_layers(g, layer.layers, x, f"{path}_")
    n_out = layer.out_features
    skip = x
    if n_out < layer.in_features:
        skip = g.op("Slice", [x, g.const("zero", [0], np.int64), g.const(f"{path}/width", [n_out], np.int64),
                              g.axes(1)])
    return g.op("Add", [body, skip])


def _gain(g: GraphBuilder, layer, x: str, path: str) -> str:
    return g.op("Mul", [x, g.const(f"{path}/gain", layer.params["gain"])])


def _image(g: GraphBuilder, x: str, path: str, channels: int, height: int, width: int) -> str:
    """Return the frames [T, features] as images [T, channels, height, width]."""
    return g.op("Reshape", [x, g.const(f"{path}/image", [-1, channels, height, width], np.int64)])


def _frames(g: GraphBuilder, y: str, path: str, features: int) -> str:
    return g.op("Reshape", [y, g.const(f"{path}/frames", [-1, features], np.int64)])


def _conv2d(g: GraphBuilder, layer, x: str, path: str) -> str:
    p = layer.params
    inputs = [_image(g, x, path, p["in_channels"], p["height"], p["width"]),
              g.const(f"{path}/weight", layer.weights["weight"])]
    if p["bias"]:
        inputs.append(g.const(f"{path}/bias", layer.weights["bias"]))
    y = g.op("Conv", inputs, kernel_shape=[p["kernel_h"], p["kernel_w"]], strides=[p["stride_h"], p["stride_w"]],
             pads=[p["padding_h"], p["padding_w"], p["padding_h"], p["padding_w"]])
    return _frames(g, y, path, layer.out_features)


def _pool2d(g: GraphBuilder, layer, x: str, path: str) -> str:
    p = layer.params
    kernel = [p["kernel_h"], p["kernel_w"]]
    y = g.op("MaxPool" if p["mode"] == "max" else "AveragePool",
             [_image(g, x, path, p["channels"], p["height"], p["width"])], kernel_shape=kernel, strides=kernel)
    return _frames(g, y, path, layer.out_features)


def _add(g: GraphBuilder, layer, xs: list, path: str) -> str:
    y = xs[0]
    for other in xs[1:]:
        y = g.op("Add", [y, other])
    return y


def _mul(g: GraphBuilder, layer, xs: list, path: str) -> str:
    return g.op("Mul", xs)


def _slice(g: GraphBuilder, layer, x: str, path: str) -> str:
    p = layer.params
    return g.op("Slice", [x, g.const(f"{path}/start", [p["start"]], np.int64),
                          g.const(f"{path}/stop", [p["stop"]], np.int64), g.axes(1)])


_TRANSLATE = {"add": _add, "mul": _mul, "slice": _slice,
              "dense": _dense, "lstm": _recurrent, "gru": _recurrent, "conv1d": _conv1d,
              "activation": _activation, "batchnorm": _batchnorm, "residual": _residual, "gain": _gain}
_TRANSLATE.update(conv2d=_conv2d, pool2d=_pool2d)  # image layers


def translate_layers(g: GraphBuilder, layers: list, x: str, prefix: str = "") -> str:
    """Return the name of the tensor holding the output of ``layers`` applied to tensor ``x``."""
    outer = g.path
    named = {INPUT: x}  # graph tensors (top level only: a residual body is a plain stack)
    for i, layer in enumerate(layers):
        g.path = f"{prefix}{i}"
        if layer.type not in _TRANSLATE:
            raise UnsupportedError(f"layer {g.path} ({layer.type}) has no ONNX form in tinyrt; run it on the "
                                   f"C engine or the reference.")
        sources = [named[n] for n in layer.inputs] or [x]
        x = _TRANSLATE[layer.type](g, layer, sources if layer.type in ("add", "mul") else sources[0], g.path)
        if layer.output:
            named[layer.output] = x
    g.path = outer
    return x


def build_graph(model, opset: int):
    """Return the ONNX GraphProto of a validated model, with ``x``/``y`` and the state tensors."""
    g = GraphBuilder(opset)
    y = translate_layers(g, model.layers, "x")
    g.nodes = [_rename_output(node, y, "y") for node in g.nodes]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", model.input_size])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", model.output_size])]
    for s_in, s_out, initial in g.states:
        inputs.append(helper.make_tensor_value_info(s_in, TensorProto.FLOAT, initial.shape))
        outputs.append(helper.make_tensor_value_info(s_out, TensorProto.FLOAT, initial.shape))
    return helper.make_graph(g.nodes, model.name, inputs, outputs, list(g.initializers.values()))


def _rename_output(node, old: str, new: str):
    for i, name in enumerate(node.output):
        if name == old:
            node.output[i] = new
    for i, name in enumerate(node.input):
        if name == old:
            node.input[i] = new
    return node
