"""WaveNet as an IR graph: dilated causal conv1d, dense and activation layers joined by named paths.

(Here in ``tinyrt.ir`` so the importers (frontends: NAM, SmartGuitarAmp) and the exporters (backends:
``.nam``) share it; ``tinyrt.frontends.wavenet`` re-exports it.)

One builder for every WaveNet file format (NAM ``.nam``, GuitarML's SmartGuitarAmp JSON, RTNeural's
state dicts) and for the benchmark's random models. A WaveNet is a chain of layer arrays
(neural-amp-modeler's ``_LayerArray``); array ``i`` reads the previous array's residual stream (the
model's input for the first) and the condition (the model's input), and adds its layers' outputs to
the head (skip) sum it received from the previous array:

- ``a{i}.x0``: the rechannel, a dense ``channels x input_size`` without bias;
- for each layer ``j`` (dilation ``d``): ``a{i}.l{j}.conv`` a conv1d ``channels -> g * B``
  (B the bottleneck, = channels unless set; g = 2 when gated), kernel ``K_j``, dilation ``d``, with
  bias (groups optional); ``a{i}.l{j}.mix`` the input mixin, a dense ``g * B x condition_size``
  without bias reading ``input`` (a kernel-1 conv1d when grouped); ``a{i}.l{j}.z`` their sum;
  ``a{i}.l{j}.a`` the activation of z (gated: the primary activation of the first ``B`` values
  times the gate activation, sigmoid unless set, of the rest); ``a{i}.l{j}.r`` the 1x1 dense
  ``channels x B`` with bias of a; ``a{i}.x{j+1}`` = ``a{i}.x{j}`` + r; the head term is a, or
  ``a{i}.l{j}.s``, the head 1x1 of a when the array has one; the head sum ``a{i}.h{j+1}`` = the
  previous head sum + the head term (the first layer of the first array starts the sum with it);
- ``a{i}.head``: the head rechannel, a dense ``head_size x (B or head 1x1 outputs)`` (bias optional)
  of the head sum, or a conv1d when it has several taps.

FiLM (NAM 0.13, ``LayerArray.films``) at a point of a layer: ``{lj} {position} film`` a 1x1 of the
condition (``input``) with bias giving scale (and shift), then the tensor times scale (plus shift).

The model's output is the last array's head times ``head_scale`` (a ``gain`` layer), then NAM 0.13's
optional post-stack head (``PostHead``: activation, conv1d blocks). Layers whose output nothing
reads (the last layer's 1x1 of the last array) stay in the graph so exporters can write them back;
engines may skip them. ``wavenet_arrays(model)`` is the inverse of ``wavenet_layers``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelError
from .layers import INPUT
from .model import Layer, Model


def act(function: str, **params) -> dict:
    """Return an activation spec: the IR activation ``function`` with its parameters (and ``weight`` for prelu)."""
    return {"function": function, **params}


def _spec(a) -> dict:
    return act(a) if isinstance(a, str) else dict(a)


@dataclass
class LayerArray:
    """One WaveNet layer array: sizes, and weights in PyTorch's shapes (conv (out, in/groups, K), dense (out, in)).

    The classic array (neural-amp-modeler up to 0.12) needs only the first eight fields. The rest
    default to it and describe NAM 0.13's options: per-layer ``kernel_sizes``, ``activations`` and
    ``gating`` (``"gated"``: primary activation of the first half times ``secondary[j]`` of the
    second, sigmoid by default; ``"blended"``: b * primary(first) + (1 - b) * first with
    b = secondary(second)), a ``bottleneck`` width for the conv output, the ``layer1x1`` (off: the
    residual stream passes unchanged), an optional ``head1x1`` of ``head1x1`` outputs feeding the
    head sum, groups of the dilated conv, the input mixin and the 1x1s, and a head rechannel conv of
    ``head_kernel_size`` taps (``head_dilation``). An activation is an IR function name or a spec
    from ``act()``.
    """

    input_size: int
    condition_size: int
    channels: int
    head_size: int
    kernel_size: int
    dilations: list
    activation: str | dict = "tanh"
    gated: bool = False
    rechannel: np.ndarray | None = None           # (channels, input_size)
    conv_weights: list = field(default_factory=list)   # per layer (g*bottleneck, channels/groups, K)
    conv_biases: list = field(default_factory=list)    # per layer (g*bottleneck,)
    mixins: list = field(default_factory=list)         # per layer (g*bottleneck, condition_size/groups)
    one_by_one_weights: list = field(default_factory=list)  # per layer (channels, bottleneck/groups)
    one_by_one_biases: list = field(default_factory=list)   # per layer (channels,)
    head_weight: np.ndarray | None = None         # (head_size, head input) or (head_size, head input, K)
    head_bias: np.ndarray | None = None           # (head_size,) or None
    kernel_sizes: list | None = None
    activations: list | None = None
    gating: list | None = None                    # per layer: "none", "gated" or "blended"
    secondary: list | None = None                 # per layer: the gate's (or blend's) activation
    bottleneck: int | None = None
    layer1x1: bool = True
    layer1x1_groups: int = 1
    head1x1: int | None = None                    # out channels of the head 1x1 (None: no head 1x1)
    head1x1_groups: int = 1
    head1x1_weights: list = field(default_factory=list)  # per layer (head1x1, bottleneck/groups)
    head1x1_biases: list = field(default_factory=list)
    groups_input: int = 1
    groups_input_mixin: int = 1
    head_kernel_size: int = 1
    head_dilation: int = 1
    films: dict = field(default_factory=dict)         # FiLM position -> {"shift": bool, "groups": int} (FILMS)
    film_weights: list = field(default_factory=list)  # per layer: position -> (weight (out, cond/groups), bias)

    @property
    def gates(self) -> int:
        """Return 2 for a gated array (the conv gives tanh and sigmoid halves), else 1."""
        return 2 if self.gated else 1

    @property
    def width(self) -> int:
        """Return the bottleneck: the activation's width (channels unless set)."""
        return self.bottleneck or self.channels

    @property
    def head_input(self) -> int:
        """Return the width of the head sum: the head 1x1's outputs, else the bottleneck."""
        return self.head1x1 or self.width

    def layer_kernel(self, j: int) -> int:
        """Return layer j's kernel size."""
        return int(self.kernel_sizes[j]) if self.kernel_sizes is not None else self.kernel_size

    def layer_activation(self, j: int) -> dict:
        """Return layer j's (primary) activation spec."""
        return _spec(self.activations[j] if self.activations is not None else self.activation)

    def layer_gated(self, j: int) -> bool:
        """Return whether layer j pairs the halves of its conv output (gated or blended: a conv twice as wide)."""
        return self.gating[j] in ("gated", "blended") if self.gating is not None else self.gated

    def layer_mode(self, j: int) -> str:
        """Return layer j's gating mode: "none", "gated" or "blended"."""
        return self.gating[j] if self.gating is not None else "gated" if self.gated else "none"

    def layer_secondary(self, j: int) -> dict:
        """Return layer j's gate activation spec (sigmoid unless set)."""
        return _spec(self.secondary[j] if self.secondary is not None and self.secondary[j] else "sigmoid")

    def film_features(self, position: str, j: int) -> int:
        """Return the width of the tensor the FiLM at ``position`` of layer j modulates."""
        m = (2 if self.layer_gated(j) else 1) * self.width
        return {"conv_pre_film": self.channels, "conv_post_film": m, "input_mixin_pre_film": self.condition_size,
                "input_mixin_post_film": m, "activation_pre_film": m, "activation_post_film": self.width,
                "layer1x1_post_film": self.channels, "head1x1_post_film": self.head1x1 or 0}[position]

    def random(self, rng: np.random.Generator, head_bias: bool = False) -> LayerArray:
        """Fill every weight with random numbers scaled as PyTorch's default initialisation; return self."""
        C, B = self.channels, self.width

        def u(shape, fan_in):
            bound = 1.0 / np.sqrt(fan_in)
            return rng.uniform(-bound, bound, shape).astype(np.float32)

        n = len(self.dilations)
        gi, gm, gl, gh = self.groups_input, self.groups_input_mixin, self.layer1x1_groups, self.head1x1_groups
        mids = [(2 if self.layer_gated(j) else 1) * B for j in range(n)]
        self.rechannel = u((C, self.input_size), self.input_size)
        self.conv_weights = [u((m, C // gi, self.layer_kernel(j)), C // gi * self.layer_kernel(j))
                             for j, m in enumerate(mids)]
        self.conv_biases = [u((m,), C // gi * self.layer_kernel(j)) for j, m in enumerate(mids)]
        self.mixins = [u((m, self.condition_size // gm), self.condition_size // gm) for m in mids]
        self.one_by_one_weights = [u((C, B // gl), B // gl) for _ in range(n)] if self.layer1x1 else []
        self.one_by_one_biases = [u((C,), B // gl) for _ in range(n)] if self.layer1x1 else []
        if self.head1x1:
            self.head1x1_weights = [u((self.head1x1, B // gh), B // gh) for _ in range(n)]
            self.head1x1_biases = [u((self.head1x1,), B // gh) for _ in range(n)]
        self.film_weights = []
        for j in range(n if self.films else 0):
            self.film_weights.append({})
            for position, spec in self.films.items():
                out = (2 if spec["shift"] else 1) * self.film_features(position, j)
                fan_in = self.condition_size // spec["groups"]
                self.film_weights[-1][position] = (u((out, fan_in), fan_in), u((out,), fan_in))
        H, K = self.head_input, self.head_kernel_size
        self.head_weight = u((self.head_size, H) if K == 1 else (self.head_size, H, K), H * K)
        self.head_bias = u((self.head_size,), H * K) if head_bias else None
        return self


@dataclass
class PostHead:
    """NAM 0.13's optional head after the layer arrays: blocks of (activation, then a conv1d with bias)."""

    activation: str | dict
    weights: list   # per block (out, in, K)
    biases: list    # per block (out,)


# NAM 0.13's FiLM positions, in the order of their weights: x -> x * scale(c) + shift(c), scale and shift (the top
# and bottom halves of a 1x1 conv of the condition c, with bias) or scale only
FILMS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film",
         "activation_pre_film", "activation_post_film", "layer1x1_post_film", "head1x1_post_film")


def _film(layers: list, arr, j: int, lj: str, position: str, tensor: str, features: int) -> str:
    """Append the FiLM of ``tensor`` at ``position`` when the array has one; return the tensor to read next."""
    if position not in arr.films:
        return tensor
    spec, (w, b) = arr.films[position], arr.film_weights[j][position]
    base, out = f"{lj} {position}", f"{lj}.{position}"
    layers.append(_mix(f"{base} film", w, b, spec["groups"], [INPUT], f"{out}.ss"))
    if not spec["shift"]:
        layers.append(Layer("mul", {"features": features}, name=f"{base} scaled", inputs=[tensor, f"{out}.ss"],
                            output=out))
        return out
    layers += [
        Layer("slice", {"in_features": 2 * features, "start": 0, "stop": features}, name=f"{base} scale",
              inputs=[f"{out}.ss"], output=f"{out}.scale"),
        Layer("slice", {"in_features": 2 * features, "start": features, "stop": 2 * features}, name=f"{base} shift",
              inputs=[f"{out}.ss"], output=f"{out}.shift"),
        Layer("mul", {"features": features}, name=f"{base} scaled", inputs=[tensor, f"{out}.scale"],
              output=f"{out}.scaled"),
        Layer("add", {"features": features}, name=f"{base} shifted", inputs=[f"{out}.scaled", f"{out}.shift"],
              output=out),
    ]
    return out


def _dense(name: str, weight: np.ndarray, bias, inputs: list, output: str | None = None) -> Layer:
    weight = np.asarray(weight, dtype=np.float32)
    weights = {"weight": weight} if bias is None else {"weight": weight, "bias": np.asarray(bias, dtype=np.float32)}
    return Layer("dense", {"in_features": weight.shape[1], "out_features": weight.shape[0], "bias": bias is not None},
                 weights, name=name, inputs=inputs, output=output or "")


def _mix(name: str, weight, bias, groups: int, inputs: list, output: str | None = None, kernel: int = 1,
         dilation: int = 1) -> Layer:
    """Return a 1x1 as a dense layer (no groups) or a conv1d (groups, or a kernel of several taps)."""
    weight = np.asarray(weight, dtype=np.float32)
    if groups == 1 and kernel == 1:
        return _dense(name, weight.reshape(weight.shape[0], -1), bias, inputs, output)
    w = weight.reshape(weight.shape[0], -1, kernel)
    weights = {"weight": w} if bias is None else {"weight": w, "bias": np.asarray(bias, dtype=np.float32)}
    return Layer("conv1d", {"in_channels": w.shape[1] * groups, "out_channels": w.shape[0], "kernel_size": kernel,
                            "dilation": dilation, "groups": groups, "bias": bias is not None},
                 weights, name=name, inputs=inputs, output=output or "")


def _activation(spec: dict, features: int, name: str, inputs: list, output: str) -> Layer:
    spec = dict(spec)
    weight = spec.pop("weight", None)
    params = {"features": features, **spec}
    weights = {}
    if weight is not None:
        weights["weight"] = np.asarray(weight, dtype=np.float32).reshape(-1)
        params["num_parameters"] = weights["weight"].size
    return Layer("activation", params, weights, name=name, inputs=inputs, output=output)


def wavenet_layers(arrays: list, head_scale: float, head: PostHead | None = None) -> list:
    """Return the IR graph layers of a WaveNet made of the given layer arrays (see the module docstring)."""
    layers: list = []
    stream, head_sum = INPUT, None
    for i, arr in enumerate(arrays):
        C, B = arr.channels, arr.width
        n = len(arr.dilations)
        keys = ["conv_weights", "conv_biases", "mixins"]
        keys += ["one_by_one_weights", "one_by_one_biases"] if arr.layer1x1 else []
        keys += ["head1x1_weights", "head1x1_biases"] if arr.head1x1 else []
        for key in keys:
            if len(getattr(arr, key)) != n:
                raise ModelError(f"layer array {i}: {len(getattr(arr, key))} {key} for {n} dilations.")
        if head_sum is not None and arrays[i - 1].head_size != arr.head_input:
            raise ModelError(f"layer array {i} sums {arr.head_input} head channels but the previous array's head "
                             f"gives {arrays[i - 1].head_size}; NAM passes the head sum on unchanged.")
        a = f"a{i}"
        layers.append(_dense(f"{a} rechannel", arr.rechannel, None, [stream], f"{a}.x0"))
        x = f"{a}.x0"
        for j, d in enumerate(arr.dilations):
            lj = f"{a}.l{j}"
            gated = arr.layer_gated(j)
            m = (2 if gated else 1) * B
            w = np.asarray(arr.conv_weights[j], dtype=np.float32)
            conv_in = _film(layers, arr, j, lj, "conv_pre_film", x, C)
            layers.append(Layer("conv1d", {"in_channels": C, "out_channels": m, "kernel_size": arr.layer_kernel(j),
                                           "dilation": int(d), "groups": arr.groups_input, "bias": True},
                                {"weight": w, "bias": np.asarray(arr.conv_biases[j], dtype=np.float32)},
                                name=f"{lj} conv", inputs=[conv_in], output=f"{lj}.conv"))
            conv_out = _film(layers, arr, j, lj, "conv_post_film", f"{lj}.conv", m)
            mix_in = _film(layers, arr, j, lj, "input_mixin_pre_film", INPUT, arr.condition_size)
            layers.append(_mix(f"{lj} input mixin", arr.mixins[j], None, arr.groups_input_mixin, [mix_in],
                               f"{lj}.mix"))
            mix_out = _film(layers, arr, j, lj, "input_mixin_post_film", f"{lj}.mix", m)
            layers.append(Layer("add", {"features": m}, name=f"{lj} conv + mixin",
                                inputs=[conv_out, mix_out], output=f"{lj}.z"))
            z = _film(layers, arr, j, lj, "activation_pre_film", f"{lj}.z", m)
            blended = arr.layer_mode(j) == "blended"
            if gated:
                layers += [
                    Layer("slice", {"in_features": 2 * B, "start": 0, "stop": B}, name=f"{lj} filter half",
                          inputs=[z], output=f"{lj}.pre" if blended else ""),
                    _activation(arr.layer_activation(j), B, f"{lj} filter", [], f"{lj}.filter"),
                    Layer("slice", {"in_features": 2 * B, "start": B, "stop": 2 * B}, name=f"{lj} gate half",
                          inputs=[z]),
                    _activation(arr.layer_secondary(j), B, f"{lj} gate", [], f"{lj}.gate"),
                ]
            if gated and not blended:
                layers.append(Layer("mul", {"features": B}, name=f"{lj} gated", inputs=[f"{lj}.filter", f"{lj}.gate"],
                                    output=f"{lj}.a"))
            elif blended:  # NAM's PairBlend: gate * act(pre) + (1 - gate) * pre = gate * (act(pre) - pre) + pre
                layers += [
                    Layer("gain", {"features": B, "gain": -1.0}, name=f"{lj} minus pre", inputs=[f"{lj}.pre"],
                          output=f"{lj}.negpre"),
                    Layer("add", {"features": B}, name=f"{lj} filter - pre", inputs=[f"{lj}.filter", f"{lj}.negpre"],
                          output=f"{lj}.diff"),
                    Layer("mul", {"features": B}, name=f"{lj} blend", inputs=[f"{lj}.diff", f"{lj}.gate"],
                          output=f"{lj}.blend"),
                    Layer("add", {"features": B}, name=f"{lj} blended", inputs=[f"{lj}.blend", f"{lj}.pre"],
                          output=f"{lj}.a"),
                ]
            else:
                layers.append(_activation(arr.layer_activation(j), B, f"{lj} activation", [z], f"{lj}.a"))
            act_out = _film(layers, arr, j, lj, "activation_post_film", f"{lj}.a", B)
            if arr.layer1x1:
                layers.append(_mix(f"{lj} 1x1", arr.one_by_one_weights[j], arr.one_by_one_biases[j],
                                   arr.layer1x1_groups, [act_out], f"{lj}.r"))
                r = _film(layers, arr, j, lj, "layer1x1_post_film", f"{lj}.r", C)
                layers.append(Layer("add", {"features": C}, name=f"{lj} residual", inputs=[x, r],
                                    output=f"{a}.x{j + 1}"))
                x = f"{a}.x{j + 1}"
            term = act_out
            if arr.head1x1:
                layers.append(_mix(f"{lj} head 1x1", arr.head1x1_weights[j], arr.head1x1_biases[j],
                                   arr.head1x1_groups, [act_out], f"{lj}.s"))
                term = _film(layers, arr, j, lj, "head1x1_post_film", f"{lj}.s", arr.head1x1)
            if head_sum is None:
                head_sum = term
            else:
                layers.append(Layer("add", {"features": arr.head_input}, name=f"{lj} head sum",
                                    inputs=[head_sum, term], output=f"{a}.h{j + 1}"))
                head_sum = f"{a}.h{j + 1}"
        layers.append(_mix(f"{a} head rechannel", arr.head_weight, arr.head_bias, 1, [head_sum], f"{a}.head",
                           kernel=arr.head_kernel_size, dilation=arr.head_dilation))
        stream = x
        head_sum = f"{a}.head"
    layers.append(Layer("gain", {"features": arrays[-1].head_size, "gain": float(head_scale)}, name="head scale",
                        inputs=[head_sum]))
    if head is not None:
        for b, (w, bias) in enumerate(zip(head.weights, head.biases)):
            w = np.asarray(w, dtype=np.float32)
            layers.append(_activation(_spec(head.activation), w.shape[1], f"head {b} activation", [], ""))
            layers.append(_mix(f"head {b} conv", w, bias, 1, [], kernel=w.shape[2]))
    return layers



def wavenet_model(arrays: list, head_scale: float, name: str = "wavenet", sample_rate: float | None = None,
                  metadata: dict | None = None, head: PostHead | None = None) -> Model:
    """Return a validated IR Model of a WaveNet (input: audio, then any condition values, per sample)."""
    model = Model(wavenet_layers(arrays, head_scale, head), input_size=arrays[0].input_size, block_size=1,
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


def _spec_of(layer: Layer) -> dict:
    """Return the activation spec (see act()) an activation layer computes."""
    p = layer.params
    spec = act(p["function"])
    if p["function"] == "prelu":
        spec["weight"] = np.asarray(layer.weights["weight"], dtype=np.float32)
    elif p["function"] == "elu":
        spec["alpha"] = p["alpha"]
    elif p["function"] == "hardtanh":
        spec.update({k: p[k] for k in ("min_val", "max_val", "min_slope", "max_slope")})
    return spec


def _same(a: Layer, b: Layer) -> bool:
    return (a.type == b.type and a.params == b.params and a.name == b.name and list(a.inputs) == list(b.inputs)
            and a.output == b.output and a.weights.keys() == b.weights.keys()
            and all(np.array_equal(np.asarray(a.weights[k], dtype=np.float32),
                                   np.asarray(b.weights[k], dtype=np.float32)) for k in a.weights))


class _Reader:
    """Walks a WaveNet graph's layers in order, by the names wavenet_layers gives them."""

    def __init__(self, layers: list):
        self.layers, self.at = layers, 0

    def peek(self, name: str) -> Layer | None:
        if self.at < len(self.layers) and self.layers[self.at].name == name:
            return self.layers[self.at]
        return None

    def take(self, name: str) -> Layer:
        layer = self.peek(name)
        if layer is None:
            raise ValueError(name)
        self.at += 1
        return layer


def _weights_of(layer: Layer) -> tuple:
    """Return (weight, bias or None, groups, kernel, dilation) of a dense or conv1d layer."""
    bias = layer.weights.get("bias") if layer.params["bias"] else None
    if layer.type == "dense":
        return layer.weights["weight"], bias, 1, 1, 1
    p = layer.params
    w = layer.weights["weight"]
    return (w if p["kernel_size"] > 1 else w[:, :, 0]), bias, p["groups"], p["kernel_size"], p["dilation"]


def _read_film(r: _Reader, lj: str, position: str, films: dict, weights: dict) -> None:
    if r.peek(f"{lj} {position} film") is None:
        return
    w, b, groups, _, _ = _weights_of(r.take(f"{lj} {position} film"))
    shift = r.peek(f"{lj} {position} scale") is not None
    for step in ("scale", "shift", "scaled", "shifted") if shift else ("scaled",):
        r.take(f"{lj} {position} {step}")
    films[position] = {"shift": shift, "groups": groups}
    weights[position] = (w, b)


def wavenet_arrays(model: Model) -> tuple:
    """Return (layer arrays, head_scale, post head or None) of a graph wavenet_layers built; else ValueError.

    The inverse of ``wavenet_layers``: the result rebuilds exactly the model's layers (checked), so an
    exporter can write the arrays back in any WaveNet format.
    """
    r, arrays = _Reader(model.layers), []
    try:
        while r.peek(f"a{len(arrays)} rechannel") is not None:
            i = len(arrays)
            a = f"a{i}"
            rechannel = r.take(f"{a} rechannel").weights["weight"]
            C = rechannel.shape[0]
            per: dict = {k: [] for k in ("kernels", "dilations", "acts", "gating", "secondary", "conv_w", "conv_b",
                                         "mix", "l1_w", "l1_b", "h1_w", "h1_b")}
            groups, films, film_weights = {}, {}, []
            j = 0
            while r.peek(f"{a}.l{j} conv") is not None or r.peek(f"{a}.l{j} conv_pre_film film") is not None:
                lj = f"{a}.l{j}"
                film_weights.append({})

                def film(position, lj=lj, films=films, found=film_weights[-1]):
                    _read_film(r, lj, position, films, found)

                film("conv_pre_film")
                conv = r.take(f"{lj} conv")
                film("conv_post_film")
                film("input_mixin_pre_film")
                per["kernels"].append(conv.params["kernel_size"])
                per["dilations"].append(conv.params["dilation"])
                per["conv_w"].append(conv.weights["weight"])
                per["conv_b"].append(conv.weights["bias"])
                groups["groups_input"] = conv.params["groups"]
                mix, _, groups["groups_input_mixin"], _, _ = _weights_of(r.take(f"{lj} input mixin"))
                per["mix"].append(mix)
                film("input_mixin_post_film")
                r.take(f"{lj} conv + mixin")
                film("activation_pre_film")
                if r.peek(f"{lj} filter half") is not None:
                    r.take(f"{lj} filter half")
                    per["acts"].append(_spec_of(r.take(f"{lj} filter")))
                    r.take(f"{lj} gate half")
                    per["secondary"].append(_spec_of(r.take(f"{lj} gate")))
                    if r.peek(f"{lj} minus pre") is not None:
                        for step in ("minus pre", "filter - pre", "blend", "blended"):
                            r.take(f"{lj} {step}")
                        per["gating"].append("blended")
                    else:
                        r.take(f"{lj} gated")
                        per["gating"].append("gated")
                else:
                    per["acts"].append(_spec_of(r.take(f"{lj} activation")))
                    per["secondary"].append(None)
                    per["gating"].append("none")
                film("activation_post_film")
                if r.peek(f"{lj} 1x1") is not None:
                    w, b, groups["layer1x1_groups"], _, _ = _weights_of(r.take(f"{lj} 1x1"))
                    per["l1_w"].append(w)
                    per["l1_b"].append(b)
                    film("layer1x1_post_film")
                    r.take(f"{lj} residual")
                if r.peek(f"{lj} head 1x1") is not None:
                    w, b, groups["head1x1_groups"], _, _ = _weights_of(r.take(f"{lj} head 1x1"))
                    per["h1_w"].append(w)
                    per["h1_b"].append(b)
                    film("head1x1_post_film")
                if r.peek(f"{lj} head sum") is not None:
                    r.take(f"{lj} head sum")
                j += 1
            head_w, head_b, _, head_k, head_d = _weights_of(r.take(f"{a} head rechannel"))
            width = per["conv_w"][0].shape[0] // (1 if per["gating"][0] == "none" else 2)
            gated = all(g == "gated" for g in per["gating"])
            arrays.append(LayerArray(
                rechannel.shape[1], model.input_size, C, head_w.shape[0], per["kernels"][0], per["dilations"],
                rechannel=rechannel, conv_weights=per["conv_w"], conv_biases=per["conv_b"], mixins=per["mix"],
                one_by_one_weights=per["l1_w"], one_by_one_biases=per["l1_b"], head_weight=head_w, head_bias=head_b,
                kernel_sizes=per["kernels"], activations=per["acts"], gating=per["gating"],
                secondary=per["secondary"], gated=gated, activation=per["acts"][0],
                bottleneck=width, layer1x1=bool(per["l1_w"]), head1x1=per["h1_w"][0].shape[0] if per["h1_w"] else None,
                head1x1_weights=per["h1_w"], head1x1_biases=per["h1_b"], head_kernel_size=head_k,
                head_dilation=head_d, films=films, film_weights=film_weights if films else [], **groups))
        scale = r.take("head scale").params["gain"]
        head = None
        if r.peek("head 0 activation") is not None:
            head = PostHead(_spec_of(r.layers[r.at]), [], [])
            b = 0
            while r.peek(f"head {b} activation") is not None:
                r.take(f"head {b} activation")
                w, bias, _, k, _ = _weights_of(r.take(f"head {b} conv"))
                head.weights.append(w.reshape(w.shape[0], w.shape[1], k))
                head.biases.append(bias)
                b += 1
        if not arrays or r.at != len(model.layers):
            raise ValueError("extra layers")
        rebuilt = wavenet_layers(arrays, scale, head)
    except (ValueError, KeyError, IndexError, AttributeError, ModelError):
        raise ValueError("not a WaveNet graph") from None
    if len(rebuilt) != len(model.layers) or not all(map(_same, rebuilt, model.layers)):
        raise ValueError("not a WaveNet graph")
    return arrays, scale, head


# neural-amp-modeler 0.13's trainer (nam/train/_resources/config_model_packed.json): one PackedWaveNet holding the
# "A2" WaveNet at two widths, exported as a SlimmableContainer of two WaveNets: one layer array of 23 layers,
# LeakyReLU(0.01), a head rechannel of 16 taps with bias, head_scale 0.01.
A2_KERNELS = [6] * 14 + [15, 15] + [6] * 7
A2_DILATIONS = [1, 3, 7, 17, 41, 101, 239] * 2 + [1, 13] + [1, 3, 7, 17, 41, 101, 239]
A2_PRESETS = {"a2-lite": 3, "a2-full": 8}  # channels (= bottleneck)


def a2_arrays(preset: str, rng: np.random.Generator | None = None) -> tuple:
    """Return (layer arrays, head_scale) of an A2 WaveNet ("a2-lite" or "a2-full"), random weights from rng."""
    channels = A2_PRESETS[preset]
    arr = LayerArray(1, 1, channels, 1, 6, list(A2_DILATIONS), kernel_sizes=list(A2_KERNELS),
                     activation=act("prelu", weight=np.array([0.01], dtype=np.float32)), head_kernel_size=16)
    if rng is not None:
        arr.random(rng, head_bias=True)
    return [arr], 0.01
