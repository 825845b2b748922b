"""WaveNet as an IR graph: dilated causal conv1d, dense and activation layers joined by named paths.

One builder for every WaveNet file format (NAM ``.nam``, GuitarML's SmartGuitarAmp JSON, RTNeural's
state dicts) and for the benchmark's random models. A WaveNet is a chain of layer arrays
(neural-amp-modeler's ``_LayerArray``); array ``i`` reads the previous array's residual stream (the
model's input for the first) and the condition (the model's input), and adds its layers' outputs to
the head (skip) sum it received from the previous array:

- ``a{i}.x0``: the rechannel, a dense ``channels x input_size`` without bias;
- for each layer ``j`` (dilation ``d``): ``a{i}.l{j}.conv`` a conv1d ``channels -> g * channels``
  (g = 2 when gated), kernel ``K``, dilation ``d``, with bias; ``a{i}.l{j}.mix`` the input mixin, a
  dense ``g * channels x condition_size`` without bias reading ``input``; ``a{i}.l{j}.z`` their sum;
  ``a{i}.l{j}.a`` the activation of z (gated: tanh of the first ``channels`` values times sigmoid of
  the rest); ``a{i}.l{j}.r`` the 1x1 dense ``channels x channels`` with bias of a; ``a{i}.x{j+1}`` =
  ``a{i}.x{j}`` + r; the head sum ``a{i}.h{j+1}`` = the previous head sum + a (the first layer of
  the first array starts the sum with a itself);
- ``a{i}.head``: the head rechannel, a dense ``head_size x channels`` (bias optional) of the head sum.

The model's output is the last array's head times ``head_scale`` (a ``gain`` layer). Layers whose
output nothing reads (the last layer's 1x1 of the last array) stay in the graph so exporters can
write them back; engines may skip them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelError
from ..ir import Layer, Model
from ..ir.layers import INPUT


@dataclass
class LayerArray:
    """One WaveNet layer array: sizes, and weights in PyTorch's shapes (conv (out, in, K), dense (out, in))."""

    input_size: int
    condition_size: int
    channels: int
    head_size: int
    kernel_size: int
    dilations: list
    activation: str = "tanh"
    gated: bool = False
    rechannel: np.ndarray | None = None           # (channels, input_size)
    conv_weights: list = field(default_factory=list)   # per layer (g*channels, channels, K)
    conv_biases: list = field(default_factory=list)    # per layer (g*channels,)
    mixins: list = field(default_factory=list)         # per layer (g*channels, condition_size)
    one_by_one_weights: list = field(default_factory=list)  # per layer (channels, channels)
    one_by_one_biases: list = field(default_factory=list)   # per layer (channels,)
    head_weight: np.ndarray | None = None         # (head_size, channels)
    head_bias: np.ndarray | None = None           # (head_size,) or None

    @property
    def gates(self) -> int:
        """Return 2 for a gated array (the conv gives tanh and sigmoid halves), else 1."""
        return 2 if self.gated else 1

    def random(self, rng: np.random.Generator, head_bias: bool = False) -> LayerArray:
        """Fill every weight with random numbers scaled as PyTorch's default initialisation; return self."""
        C, g, K = self.channels, self.gates, self.kernel_size

        def u(shape, fan_in):
            bound = 1.0 / np.sqrt(fan_in)
            return rng.uniform(-bound, bound, shape).astype(np.float32)

        n = len(self.dilations)
        self.rechannel = u((C, self.input_size), self.input_size)
        self.conv_weights = [u((g * C, C, K), C * K) for _ in range(n)]
        self.conv_biases = [u((g * C,), C * K) for _ in range(n)]
        self.mixins = [u((g * C, self.condition_size), self.condition_size) for _ in range(n)]
        self.one_by_one_weights = [u((C, C), C) for _ in range(n)]
        self.one_by_one_biases = [u((C,), C) for _ in range(n)]
        self.head_weight = u((self.head_size, C), C)
        self.head_bias = u((self.head_size,), C) if head_bias else None
        return self


def _dense(name: str, weight: np.ndarray, bias, inputs: list, output: str) -> Layer:
    weight = np.asarray(weight, dtype=np.float32)
    weights = {"weight": weight} if bias is None else {"weight": weight, "bias": np.asarray(bias, dtype=np.float32)}
    return Layer("dense", {"in_features": weight.shape[1], "out_features": weight.shape[0], "bias": bias is not None},
                 weights, name=name, inputs=inputs, output=output)


def wavenet_layers(arrays: list, head_scale: float) -> list:
    """Return the IR graph layers of a WaveNet made of the given layer arrays (see the module docstring)."""
    layers: list = []
    stream, head = INPUT, None
    for i, arr in enumerate(arrays):
        C, g = arr.channels, arr.gates
        n = len(arr.dilations)
        for key in ("conv_weights", "conv_biases", "mixins", "one_by_one_weights", "one_by_one_biases"):
            if len(getattr(arr, key)) != n:
                raise ModelError(f"layer array {i}: {len(getattr(arr, key))} {key} for {n} dilations.")
        if head is not None and arrays[i - 1].head_size != C:
            raise ModelError(f"layer array {i} has {C} channels but the previous array's head gives "
                             f"{arrays[i - 1].head_size}; NAM passes the head sum on unchanged.")
        a = f"a{i}"
        layers.append(_dense(f"{a} rechannel", arr.rechannel, None, [stream], f"{a}.x0"))
        for j, d in enumerate(arr.dilations):
            lj = f"{a}.l{j}"
            w = np.asarray(arr.conv_weights[j], dtype=np.float32)
            layers.append(Layer("conv1d", {"in_channels": C, "out_channels": g * C, "kernel_size": arr.kernel_size,
                                           "dilation": int(d), "bias": True},
                                {"weight": w, "bias": np.asarray(arr.conv_biases[j], dtype=np.float32)},
                                name=f"{lj} conv", inputs=[f"{a}.x{j}"], output=f"{lj}.conv"))
            layers.append(_dense(f"{lj} input mixin", arr.mixins[j], None, [INPUT], f"{lj}.mix"))
            layers.append(Layer("add", {"features": g * C}, name=f"{lj} conv + mixin",
                                inputs=[f"{lj}.conv", f"{lj}.mix"], output=f"{lj}.z"))
            if arr.gated:
                layers += [
                    Layer("slice", {"in_features": 2 * C, "start": 0, "stop": C}, name=f"{lj} filter half",
                          inputs=[f"{lj}.z"]),
                    Layer("activation", {"function": "tanh", "features": C}, name=f"{lj} filter",
                          output=f"{lj}.filter"),
                    Layer("slice", {"in_features": 2 * C, "start": C, "stop": 2 * C}, name=f"{lj} gate half",
                          inputs=[f"{lj}.z"]),
                    Layer("activation", {"function": "sigmoid", "features": C}, name=f"{lj} gate",
                          output=f"{lj}.gate"),
                    Layer("mul", {"features": C}, name=f"{lj} gated", inputs=[f"{lj}.filter", f"{lj}.gate"],
                          output=f"{lj}.a"),
                ]
            else:
                layers.append(Layer("activation", {"function": arr.activation, "features": C},
                                    name=f"{lj} activation", inputs=[f"{lj}.z"], output=f"{lj}.a"))
            layers.append(_dense(f"{lj} 1x1", arr.one_by_one_weights[j], arr.one_by_one_biases[j], [f"{lj}.a"],
                                 f"{lj}.r"))
            layers.append(Layer("add", {"features": C}, name=f"{lj} residual", inputs=[f"{a}.x{j}", f"{lj}.r"],
                                output=f"{a}.x{j + 1}"))
            if head is None:
                head = f"{lj}.a"
            else:
                layers.append(Layer("add", {"features": C}, name=f"{lj} head sum", inputs=[head, f"{lj}.a"],
                                    output=f"{a}.h{j + 1}"))
                head = f"{a}.h{j + 1}"
        layers.append(_dense(f"{a} head rechannel", arr.head_weight, arr.head_bias, [head], f"{a}.head"))
        stream, head = f"{a}.x{n}", f"{a}.head"
    layers.append(Layer("gain", {"features": arrays[-1].head_size, "gain": float(head_scale)}, name="head scale",
                        inputs=[head]))
    return layers


def wavenet_model(arrays: list, head_scale: float, name: str = "wavenet", sample_rate: float | None = None,
                  metadata: dict | None = None) -> Model:
    """Return a validated IR Model of a WaveNet (input: audio, then any condition values, per sample)."""
    model = Model(wavenet_layers(arrays, head_scale), input_size=arrays[0].input_size, block_size=1,
                  sample_rate=sample_rate, name=name, metadata=dict(metadata or {}))
    if any(arr.condition_size != model.input_size for arr in arrays):
        raise ModelError(f"{name}: every layer array's condition is the model's input ({model.input_size} values "
                         f"per sample), got condition sizes {[arr.condition_size for arr in arrays]}.")
    return model.validate()


# neural-amp-modeler's trainer presets (nam/train/core.py, _get_wavenet_config): two arrays, the first
# rechannels the audio and hands its head sum to the second.
_DILATIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
PRESETS = {
    "standard": ((16, 8), (8, 1), 0.02, _DILATIONS, _DILATIONS),
    "lite": ((12, 6), (6, 1), 0.02, [1, 2, 4, 8, 16, 32, 64], [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]),
    "feather": ((8, 4), (4, 1), 0.02, [1, 2, 4, 8, 16, 32, 64], [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]),
    "nano": ((4, 2), (2, 1), 0.02, [1, 2, 4, 8, 16, 32, 64], [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]),
}


def preset_arrays(preset: str, rng: np.random.Generator | None = None) -> tuple:
    """Return (layer arrays, head_scale) of a NAM trainer preset, random weights from rng when given."""
    (c0, c1), (h0, h1), scale, d0, d1 = PRESETS[preset]
    arrays = [LayerArray(1, 1, c0, h0, 3, list(d0)), LayerArray(c0, 1, c1, h1, 3, list(d1))]
    if rng is not None:
        arrays[0].random(rng)
        arrays[1].random(rng, head_bias=True)
    return arrays, scale
