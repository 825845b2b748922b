"""IR -> C99: one `<name>.h` / `<name>.c` pair per model, calling the runtime kernels in tinyrt/c/runtime.

The generated file holds the weights as ``static const`` arrays (each with a comment naming the IR
tensor it holds and its layout), a caller-owned state struct, ``<name>_reset(state)`` and
``<name>_process(state, in, out, n_frames)``. Every kernel call has constant sizes and passes its
flags by name (TRT_ACT_FAST, TRT_WEIGHTS_BF16, TRT_NO_BIAS, ...), so the compiler specialises it
for the model. The header states the bytes of weights, state and generated stack locals. Names
and all text that reach the C file come from sanitised identifiers, never from free-form model
fields.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ...errors import UnsupportedError
from ...ir.layers import INPUT
from ...ir.model import Layer, Model
from ...version import __version__
from .knobs import knob_code
from .trees import c_comment, wrap_call

C_KEYWORDS = frozenset(["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
                        "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
                        "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
                        "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary", "main",
                        "errno", "math", "assert", "bool", "true", "false"])

ACTIVATION_OPTIONS = ("precise", "fast")
WEIGHT_OPTIONS = ("float32", "bf16")

# bytes and alignment of the C types generated code declares; int and float as on every 32/64-bit target,
# pointers counted as 8 bytes (an upper bound for both)
C_TYPES = {"char": (1, 1), "uint8_t": (1, 1), "int16_t": (2, 2), "uint16_t": (2, 2), "int": (4, 4),
           "int32_t": (4, 4), "uint32_t": (4, 4), "float": (4, 4), "double": (8, 8), "pointer": (8, 8)}
_ARRAY = re.compile(r"^static const (\w+) (?:TRT_ALIGN\(\d+\) )?\w+\[(\d+)\]", re.MULTILINE)
_DECLARATION = re.compile(r"^\s*(?:const\s+)?(" + "|".join(C_TYPES) + r")\s+([^;]+);")
_DECLARATOR = re.compile(r"^\s*(\*?)\s*\w+((?:\[\d+\])*)")


def c_identifier(name: str) -> str:
    """Return a safe C identifier prefix made from any model name."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name or "")
    ident = re.sub(r"_+", "_", ident).strip("_")[:48].lower() or "model"
    if ident[0].isdigit() or ident in C_KEYWORDS or ident.startswith("trt"):
        ident = "m_" + ident
    return ident


def _float(v) -> str:
    return np.format_float_positional(np.float32(v), unique=True, trim="0") + "f" \
        if v == 0 or 1e-4 <= abs(v) < 1e6 else \
        np.format_float_scientific(np.float32(v), unique=True, trim="-") + "f"


def array_bytes(c_text: str) -> int:
    """Return the bytes of the ``static const`` arrays defined in C text (alignment padding not counted)."""
    return sum(C_TYPES[ctype][0] * int(n) for ctype, n in _ARRAY.findall(c_text))


def _declared(c_lines) -> list:
    """Return (bytes, alignment) of every variable the C declarations among c_lines declare."""
    out = []
    for line in "\n".join(c_lines).splitlines():
        match = _DECLARATION.match(line)
        for d in match.group(2).split(",") if match else ():
            star, dims = _DECLARATOR.match(d).groups()
            size, align = C_TYPES["pointer" if star else match.group(1)]
            out.append((size * int(np.prod([int(n) for n in re.findall(r"\d+", dims)])), align))
    return out


def struct_bytes(fields) -> int:
    """Return sizeof of a C struct with the given member declarations, laid out as C compilers do."""
    offset, widest = 0, 1
    for size, align in _declared(fields):
        offset = -(-offset // align) * align + size
        widest = max(widest, align)
    return -(-offset // widest) * widest


def locals_bytes(c_lines) -> int:
    """Return the bytes of the variables the C declarations among c_lines declare (pointers as 8 bytes)."""
    return sum(size for size, _ in _declared(c_lines))


def _shape(a) -> str:
    return " x ".join(str(n) for n in np.shape(a))


def cols_note(n_out: int, n_in: int, bf16: bool = False) -> str:
    """Return how cols_layout stores a (n_out x n_in) matrix, for the comment above the array."""
    rows = f"{n_in} row{'s' if n_in > 1 else ''}"
    if not bf16:
        stride = -(-n_out // 16) * 16
        pad = f" ({n_out} outputs, then {stride - n_out} zeros)" if stride > n_out else ""
        return f"stored transposed as {rows} of {stride} floats{pad}"
    stride = -(-n_out // 32) * 16
    pad = f", then {2 * stride - n_out} padding" if 2 * stride > n_out else ""
    return (f"stored transposed as {rows} of {stride} uint32 words, each packing 2 outputs at bfloat16 "
            f"precision ({n_out} outputs{pad}; word layout in trt_dense.h)")


def bf16_bits(w: np.ndarray) -> np.ndarray:
    """Return float32 weights rounded to nearest-even bfloat16, as uint16 bit patterns."""
    bits = np.ascontiguousarray(w, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def _nearest_high_half(w: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Return the upper 16 bits that make (upper << 16 | low), read as float32, nearest to w."""
    top = (np.ascontiguousarray(w, dtype=np.float32).view(np.uint32) >> 16).astype(np.int64)
    best, best_err = top, None
    for candidate in (top - 1, top, top + 1):
        cand = np.clip(candidate, 0, 0xFFFF).astype(np.uint32)
        value = ((cand << 16) | low).view(np.float32).astype(np.float64)
        err = np.abs(value - w.astype(np.float64))
        err[~np.isfinite(err)] = np.inf
        best = cand if best_err is None else np.where(err < best_err, cand, best)
        best_err = err if best_err is None else np.minimum(err, best_err)
    # never a denormal (a zero exponent field): x86 multiplies denormals through a slow microcode
    # assist; the smallest normal exponent changes the weight by less than 2.4e-38
    subnormal = (best & 0x7F80) == 0
    return np.where(subnormal, (best & 0x8000) | 0x0080, best).astype(np.uint32)


def padded_units(hidden: int) -> int:
    """Return the hidden size a recurrent layer is computed with: a multiple of 8 (trt_lstm.h)."""
    return -(-hidden // 8) * 8


def gate_rows(w: np.ndarray, gates: int, units: int) -> np.ndarray:
    """Return gate-major rows (gates * H, ...) spread to gates * units rows, the new rows zero."""
    hidden = w.shape[0] // gates
    out = np.zeros((gates * units,) + w.shape[1:], dtype=np.float64)
    for q in range(gates):
        out[q * units:q * units + hidden] = w[q * hidden:(q + 1) * hidden]
    return out


def padded_bias(bias: np.ndarray) -> np.ndarray:
    """Return a bias for a column-layout matrix: zero padded to a multiple of 16 (trt_dense.h)."""
    out = np.zeros(-(-len(bias) // 16) * 16, dtype=np.float64)
    out[:len(bias)] = bias
    return out


def cols_layout(weight: np.ndarray, bf16: bool = False) -> np.ndarray:
    """Return a (G outputs, n inputs) matrix in trt_dense.h's column layout, rows padded.

    float32: (n, ceil(G/16)*16) floats. bf16: (n, ceil(G/32)*16) uint32 words; word
    (j // 32) * 16 + j % 16 holds output j (j % 32 < 16) as bfloat16 in its low half and output
    j + 16 as the whole word read as float32 (see trt_dense.h).
    """
    G, n = weight.shape
    if not bf16:
        out = np.zeros((n, -(-G // 16) * 16), dtype=np.float32)
        out[:, :G] = weight.T
        return out
    padded = np.ones((n, -(-G // 32) * 32), dtype=np.float32)  # padding: normal numbers, never denormal
    padded[:, :G] = weight.T                                   # products in lanes that are discarded
    pairs = padded.reshape(n, -1, 2, 16)
    low = bf16_bits(pairs[:, :, 0, :]).astype(np.uint32)
    high = _nearest_high_half(pairs[:, :, 1, :], low)
    return ((high << 16) | low).reshape(n, -1)


@dataclass
class CCode:
    """The generated files of one model."""

    name: str
    header: str
    source: str
    regions: tuple = ()  # the layer path each TRT_PROF region k times (pre-order: a residual, then its body)

    def files(self) -> dict:
        """Return {file name: text} for the model's own two files."""
        return {f"{self.name}.h": self.header, f"{self.name}.c": self.source}


class _Writer:
    def __init__(self, activations: str, weights: str):
        self.bf16 = weights == "bf16"
        self.act = "TRT_ACT_FAST" if activations == "fast" else "TRT_ACT_PRECISE"
        self.weights = "TRT_WEIGHTS_BF16" if self.bf16 else "TRT_WEIGHTS_F32"
        self.consts: list = []
        self.state: list = []
        self.reset: list = []
        self.locals: list = []
        self.body: list = []
        self.includes: set = {"trt_common.h"}
        self.regions: list = []
        self.n_tmp = 0

    def const(self, ident: str, values, note: str) -> str:
        """Emit a static const float32 (or packed bf16 uint32) array under a comment saying what it holds."""
        arr = np.asarray(values)
        if arr.dtype == np.uint32:
            items, ctype = [f"0x{int(v):08x}u" for v in arr.ravel()], "uint32_t"
        else:
            items, ctype = [_float(v) for v in arr.astype(np.float32).ravel()], "float"
        rows = [", ".join(items[i:i + 8]) for i in range(0, len(items), 8)]
        self.consts.append(f"{c_comment(note)}static const {ctype} TRT_ALIGN(64) {ident}[{len(items)}] = {{\n    "
                           + ",\n    ".join(rows) + "\n};")
        return ident

    def tmp(self, n: int, dst: str | None = None) -> str:
        if dst is not None:
            return dst
        self.n_tmp += 1
        ident = f"v{self.n_tmp}"
        self.locals.append(f"float {ident}[{n}];")
        return ident

    def layer(self, layer: Layer, path: str, src, n_in: int, dst: str | None) -> str:
        """Emit one layer reading src (a C array name; a list of them for add and mul) and return its output."""
        tag = "l" + path.replace(".", "_")
        emit = getattr(self, "_" + layer.type, None)
        if emit is None:
            raise UnsupportedError(f"layer {path} ({layer.type}) has no C form in tinyrt; run it on the reference.")
        k = len(self.regions)
        self.regions.append(path)
        kind = f"activation {layer.params['function']}" if layer.type == "activation" else layer.type
        self.body.append(f"TRT_PROF_BEGIN({k}); /* layer {path}: {kind}, {n_in} -> {layer.out_features} */")
        out = emit(layer, tag, src, n_in, dst)
        self.body.append(f"TRT_PROF_END({k});")
        return out

    def _dense(self, layer, tag, src, n_in, dst):
        p, w = layer.params, layer.weights
        n_out = p["out_features"]
        what = f"{_layer(tag)} dense"
        self.includes.add("trt_dense.h")
        out = self.tmp(n_out, dst)
        if n_out >= 8:
            wt = self.const(f"{tag}_wt", cols_layout(w["weight"]),
                            f"{what} weight ({n_out} x {n_in}), {cols_note(n_out, n_in)}")
            b = padded_bias(w["bias"]) if p["bias"] else None
            bias = "TRT_NO_BIAS" if b is None else self.const(f"{tag}_b", b, f"{what} bias ({n_out}){_zeros(n_out, b)}")
            self.body.append(f"trt_dense_cols({wt}, {bias}, {src}, {out}, {n_in}, {n_out});")
        else:
            wr = self.const(f"{tag}_w", w["weight"], f"{what} weight ({n_out} x {n_in}), row-major as in the model")
            bias = self.const(f"{tag}_b", w["bias"], f"{what} bias ({n_out})") if p["bias"] else "TRT_NO_BIAS"
            self.body.append(f"trt_dense_rows({wr}, {bias}, {src}, {out}, {n_in}, {n_out});")
        return out

    def _recurrent(self, layer, tag, src, n_in, dst, gates):
        """Emit an LSTM (4 gates) or GRU (3 gates) with each gate block padded to Hp units."""
        p, w = layer.params, layer.weights
        H, L = p["hidden_size"], p["num_layers"]
        Hp = padded_units(H)
        cell = "lstm" if gates == 4 else "gru"
        what = f"{_layer(tag)} {cell}"
        order = "i,f,g,o" if cell == "lstm" else "r,z,n"
        rows = f"gate rows {order}" + (f" each padded from {H} to {Hp} units" if Hp > H else f" of {H} units")
        self.includes.add(f"trt_{cell}.h")
        self.state.append(f"float {tag}_h[{L}][{Hp}];")
        if cell == "lstm":
            self.state.append(f"float {tag}_c[{L}][{Hp}];")
            self.locals.append(f"float {tag}_g[{4 * Hp}];")
        else:
            self.locals += [f"float {tag}_a[{3 * Hp}];", f"float {tag}_q[{3 * Hp}];"]
        for key in ("h0", "c0"):
            if key in w:
                init = np.zeros((L, Hp))
                init[:, :H] = w[key]
                pad = f", units padded with zeros to {Hp}" if Hp > H else ""
                self.const(f"{tag}_{key}", init, f"{what} {key} ({_shape(w[key])}): the state after reset{pad}")
                self.reset.append(f"memcpy(s->{tag}_{key[0]}, {tag}_{key}, sizeof s->{tag}_{key[0]});")
        for k in range(L):
            n_x = n_in if k == 0 else H
            wih, whh = (self.const(f"{tag}_w{kind}{k}", cols_layout(gate_rows(w[f"weight_{kind}_l{k}"], gates, Hp),
                                                                    self.bf16),
                                   f"{what} weight_{kind}_l{k} ({gates * H} x {n}), {rows}; "
                                   f"{cols_note(gates * Hp, n, self.bf16)}")
                        for kind, n in (("ih", n_x), ("hh", H)))
            h = f"s->{tag}_h[{k}]"
            if cell == "lstm":
                bias = self._gate_bias(f"{tag}_b{k}", w[f"bias_ih_l{k}"].astype(np.float64) + w[f"bias_hh_l{k}"],
                                       gates, Hp, f"{what} bias_ih_l{k} + bias_hh_l{k} ({4 * H}), {rows}") \
                    if p["bias"] else "TRT_NO_BIAS"
                self.body.append(f"trt_lstm_matvec({tag}_g, {wih}, {whh}, {bias}, {src}, {h}, {n_x}, {H}, {Hp}, "
                                 f"{self.weights});")
                self.body.append(f"trt_lstm_gates({tag}_g, {h}, s->{tag}_c[{k}], {Hp}, {self.act});")
            else:
                b_ih, b_hh = ((self._gate_bias(f"{tag}_b{kind}{k}", w[f"bias_{kind}_l{k}"], gates, Hp,
                                               f"{what} bias_{kind}_l{k} ({3 * H}), {rows}") for kind in ("ih", "hh"))
                              if p["bias"] else ("TRT_NO_BIAS", "TRT_NO_BIAS"))
                self.body.append(f"trt_gru_matvec({tag}_a, {tag}_q, {wih}, {whh}, {b_ih}, {b_hh}, {src}, {h}, "
                                 f"{n_x}, {H}, {Hp}, {self.weights});")
                self.body.append(f"trt_gru_gates({tag}_a, {tag}_q, {h}, {Hp}, {self.act});")
            src = h
        return self._to(dst, src, H)

    def _gate_bias(self, ident: str, bias, gates: int, units: int, note: str) -> str:
        """Emit a recurrent bias with each gate block spread to `units` rows, zero padded as trt_dense.h reads it."""
        b = padded_bias(gate_rows(bias, gates, units))
        return self.const(ident, b, note + _zeros(gates * units, b))

    def _lstm(self, layer, tag, src, n_in, dst):
        return self._recurrent(layer, tag, src, n_in, dst, 4)

    def _gru(self, layer, tag, src, n_in, dst):
        return self._recurrent(layer, tag, src, n_in, dst, 3)

    def _to(self, dst, src, n):
        if dst is None:
            return src
        self.includes.add("trt_act.h")
        self.body.append(f"trt_copy({dst}, {src}, {n});")
        return dst

    def _conv1d(self, layer, tag, src, n_in, dst):
        p, w = layer.params, layer.weights
        K, d, G = p["kernel_size"], p["dilation"], p["groups"]
        c_in, c_out = p["in_channels"], p["out_channels"]
        in_g, out_g = c_in // G, c_out // G
        what = f"{_layer(tag)} conv1d"
        self.includes.add("trt_conv1d.h")
        weight = w["weight"]  # (out, in_g, K)
        wt = np.zeros((K, c_in, out_g), dtype=np.float32)
        for ci in range(c_in):
            g = ci // in_g
            wt[:, ci, :] = weight[g * out_g:(g + 1) * out_g, ci - g * in_g, :].T
        wt_name = self.const(f"{tag}_wt", wt, f"{what} weight ({c_out} x {in_g} x {K}: output, input of its group, "
                                              f"tap), stored as [tap][input][output of its group]: "
                                              f"{K} x {c_in} x {out_g}")
        bias = self.const(f"{tag}_b", w["bias"], f"{what} bias ({c_out})") if p["bias"] else "TRT_NO_BIAS"
        history = (K - 1) * d
        if history:
            self.state += [f"float {tag}_hist[{history * c_in}];", f"int {tag}_pos;"]
            hist, pos = f"s->{tag}_hist", f"&s->{tag}_pos"
        else:
            hist = pos = "TRT_NO_HISTORY"
        out = self.tmp(c_out, dst)
        call = "trt_conv1d_step("  # the sizes on a line of their own, under the first argument, named
        self.body.append(f"{call}{wt_name}, {bias}, {hist}, {pos}, {src}, {out},\n{' ' * (8 + len(call))}"
                         f"{c_in}, {c_out}, {K}, {d}, {G}); /* C_in, C_out, K, dilation, groups */")
        return out

    def _conv2d(self, layer, tag, src, n_in, dst):
        from ...ir.layers import conv2d_out
        p = layer.params
        c_in, c_out, kh, kw = p["in_channels"], p["out_channels"], p["kernel_h"], p["kernel_w"]
        what = f"{_layer(tag)} conv2d"
        self.includes.add("trt_conv2d.h")
        wt = self.const(f"{tag}_w", layer.weights["weight"], f"{what} weight ({c_out} x {c_in} x {kh} x {kw}: "
                                                             f"output, input, kernel row, kernel column), as in "
                                                             f"the model")
        bias = self.const(f"{tag}_b", layer.weights["bias"], f"{what} bias ({c_out})") if p["bias"] else "TRT_NO_BIAS"
        ho, wo = conv2d_out(p)
        out = self.tmp(c_out * ho * wo, dst)
        call = "trt_conv2d("
        self.body.append(f"{call}{wt}, {bias}, {src}, {out},\n{' ' * (8 + len(call))}{c_in}, {p['height']}, "
                         f"{p['width']}, {c_out}, {kh}, {kw}, {p['stride_h']}, {p['stride_w']}, {p['padding_h']}, "
                         f"{p['padding_w']}); /* C_in, H, W, C_out, KH, KW, SH, SW, PH, PW */")
        return out

    def _pool2d(self, layer, tag, src, n_in, dst):
        p = layer.params
        self.includes.add("trt_conv2d.h")
        out = self.tmp(layer.out_features, dst)
        mode = "TRT_POOL_MAX" if p["mode"] == "max" else "TRT_POOL_AVG"
        self.body.append(f"trt_pool2d({src}, {out}, {p['channels']}, {p['height']}, {p['width']}, {p['kernel_h']}, "
                         f"{p['kernel_w']}, {mode}); /* C, H, W, KH, KW */")
        return out

    def _activation(self, layer, tag, src, n_in, dst):
        fn = layer.params["function"]
        if fn == "identity":
            return self._to(dst, src, n_in)
        self.includes.add("trt_act.h")
        out = self.tmp(n_in, dst)
        if fn == "prelu":
            n_a = layer.params["num_parameters"]
            a = self.const(f"{tag}_a", layer.weights["weight"],
                           f"{_layer(tag)} prelu weight ({n_a}): " + ("one slope for all" if n_a == 1 else
                                                                       "the slope of each feature"))
            call = f"trt_prelu({out}, {src}, {a}, {n_a}, {n_in});"
        elif fn == "elu":
            call = f"trt_elu({out}, {src}, {_float(layer.params['alpha'])}, {n_in});"
        elif fn == "hardtanh":
            bounds = ", ".join(_float(layer.params[k]) for k in ("min_val", "max_val", "min_slope", "max_slope"))
            call = f"trt_hardtanh({out}, {src}, {bounds}, {n_in});"
        elif fn in ("tanh", "sigmoid"):
            call = f"trt_{fn}({out}, {src}, {n_in}, {self.act});"
        else:
            call = f"trt_{fn}({out}, {src}, {n_in});"
        self.body.append(call)
        return out

    def _batchnorm(self, layer, tag, src, n_in, dst):
        w = {k: v.astype(np.float64) for k, v in layer.weights.items()}
        scale = w["weight"] / np.sqrt(w["running_var"] + layer.params["eps"])
        shift = w["bias"] - w["running_mean"] * scale
        what = f"{_layer(tag)} batchnorm"
        sc = self.const(f"{tag}_scale", scale, f"{what} weight / sqrt(running_var + eps) ({n_in})")
        sh = self.const(f"{tag}_shift", shift, f"{what} bias - running_mean * scale ({n_in})")
        self.includes.add("trt_act.h")
        out = self.tmp(n_in, dst)
        self.body.append(f"trt_affine({out}, {src}, {sc}, {sh}, {n_in});")
        return out

    def _add(self, layer, tag, src, n_in, dst):
        self.includes.add("trt_act.h")
        out = self.tmp(n_in, dst)
        self.body.append(f"trt_copy({out}, {src[0]}, {n_in});")
        self.body += [f"trt_add({out}, {other}, {n_in});" for other in src[1:]]
        return out

    def _mul(self, layer, tag, src, n_in, dst):
        self.includes.add("trt_act.h")
        out = self.tmp(n_in, dst)
        self.body += [f"trt_copy({out}, {src[0]}, {n_in});", f"trt_mul({out}, {src[1]}, {n_in});"]
        return out

    def _slice(self, layer, tag, src, n_in, dst):
        start, stop = layer.params["start"], layer.params["stop"]
        return self._to(dst, f"{src} + {start}" if start else src, stop - start)

    def _gain(self, layer, tag, src, n_in, dst):
        self.includes.add("trt_act.h")
        out = self.tmp(n_in, dst)
        self.body.append(f"trt_scale({out}, {src}, {_float(layer.params['gain'])}, {n_in});")
        return out

    def _tree_ensemble(self, layer, tag, src, n_in, dst):
        from .trees import emit_tree_ensemble
        return emit_tree_ensemble(self, layer, tag, src, n_in, dst)

    def _scaler(self, layer, tag, src, n_in, dst):
        from .chain import emit_classic_layer
        return emit_classic_layer(self, layer, tag, src, n_in, dst)

    _linear = _gaussian_nb = _scaler

    def _mahalanobis(self, layer, tag, src, n_in, dst):
        from .density import emit_density_layer
        return emit_density_layer(self, layer, tag, src, n_in, dst)

    _gaussian_mixture = _mahalanobis

    def _knn(self, layer, tag, src, n_in, dst):
        from .knn import emit_knn_layer
        return emit_knn_layer(self, layer, tag, src, n_in, dst)

    def _residual(self, layer, tag, src, n_in, dst):
        x = src
        for j, sub in enumerate(layer.layers):
            x = self.layer(sub, f"{tag[1:]}.{j}", x, n_in, None)
            n_in = sub.out_features
        self.includes.add("trt_act.h")
        out = self.tmp(n_in, dst)
        self.body.append(f"trt_copy({out}, {x}, {n_in});")
        self.body.append(f"trt_add({out}, {src}, {n_in});")
        return out


def _layer(tag: str) -> str:
    """Return "layer 1.0" for the C name prefix "l1_0" of a layer."""
    return "layer " + tag[1:].replace("_", ".")


def _zeros(n: int, padded) -> str:
    """Return ", then k zeros" when a padded vector holds k zeros after its n values."""
    return f", then {len(padded) - n} zeros" if len(padded) > n else ""


# the block engine (blockgen.py, which builds on this module's helpers) registers itself here when
# tinyrt.backends.c is imported, so the two modules do not import each other
BLOCK_ENGINE: list = []


def generate(model: Model, name: str | None = None, activations: str = "precise",
             weights: str = "float32", block=None) -> CCode:
    """Return the C99 header and source implementing the model.

    ``block``: None runs a graph the block engine can run in chunks of 64 frames (blockgen.py) and
    everything else frame by frame; True (or a chunk size in frames) asks for the block engine, False
    for the frame engine.
    """
    if activations not in ACTIVATION_OPTIONS:
        raise UnsupportedError(f"activations must be one of {', '.join(ACTIVATION_OPTIONS)}, got {activations!r}.")
    if weights not in WEIGHT_OPTIONS:
        raise UnsupportedError(f"weights must be one of {', '.join(WEIGHT_OPTIONS)}, got {weights!r}.")
    model.validate()
    ident = c_identifier(name or model.name)
    if block is not False and BLOCK_ENGINE:
        code = BLOCK_ENGINE[0](model, ident, activations, weights, block)
        if code is not None:
            return code
    w = _Writer(activations, weights)
    src, n_in, last = "x", model.input_size, len(model.layers) - 1
    named = {INPUT: "x"}  # graph tensors: name -> the C array holding this frame's values
    for i, layer in enumerate(model.layers):
        sources = [named[n] for n in layer.inputs] or [src]
        n_in = layer.in_features
        src = w.layer(layer, str(i), sources if layer.type in ("add", "mul") else sources[0], n_in,
                      "y" if i == last else None)
        if layer.output:
            named[layer.output] = src
    state = w.state or ["char unused; /* the model keeps no state */"]
    knobs = knob_code(model, ident)  # set_param and process_audio of a model with knob inputs (knobs.py)
    if knobs:
        state, w.reset = state + knobs.state, w.reset + knobs.reset
    frame = [f"const float *x = in + (size_t)t * {model.input_size};",
             f"float *y = out + (size_t)t * {model.output_size};", *w.locals]
    sizes = (array_bytes("\n".join(w.consts)), struct_bytes(state), locals_bytes(["int t;", *frame, *w.body]))
    header, source = _header(model, ident, state, sizes), _source(ident, w, frame)
    if knobs:
        end = f"#endif /* TRT_MODEL_{ident.upper()}_H */"
        header, source = header.replace(end, knobs.header + "\n" + end), source + knobs.source
    return CCode(ident, header, source, tuple(w.regions))


def _header(model: Model, ident: str, state: list, sizes: tuple) -> str:
    up = ident.upper()
    rate = _float(model.sample_rate) if model.sample_rate else "0.0f"
    weight_bytes, state_bytes, stack_bytes = sizes
    return f"""/* {ident}.h - generated by tinyrt {__version__}; do not edit.
 *
 * Real-time contract: call {ident}_reset() before the first {ident}_process(). The process call
 * allocates nothing, takes no lock, does no I/O and never waits; all state lives in the
 * caller-owned {ident}_state. Processing a signal in any split of calls gives the same output.
 * A frame is {up}_INPUT_SIZE floats in and {up}_OUTPUT_SIZE floats out;
 * {up}_BLOCK_SIZE audio samples make one frame.
 */
#ifndef TRT_MODEL_{up}_H
#define TRT_MODEL_{up}_H

#include <stddef.h>

#define {up}_INPUT_SIZE {model.input_size}
#define {up}_OUTPUT_SIZE {model.output_size}
#define {up}_BLOCK_SIZE {model.block_size}
#define {up}_SAMPLE_RATE {rate} /* 0: any rate */

{c_comment(f"Memory. Weights: the static const arrays in {ident}.c, before their 64-byte alignment. "
           f"State: sizeof({ident}_state) with 4-byte int and float. Stack: the variables {ident}_process "
           f"declares (pointers counted as 8 bytes); the kernels it inlines, alignment and register spills "
           f"add to it.")}#define {up}_WEIGHT_BYTES {weight_bytes}
#define {up}_STATE_BYTES {state_bytes}
#define {up}_STACK_BYTES {stack_bytes}

enum {{ {ident}_input_size = {up}_INPUT_SIZE, {ident}_output_size = {up}_OUTPUT_SIZE }};

typedef struct {{
{chr(10).join("    " + field for field in state)}
}} {ident}_state;

/* Set the state to the model's initial state (zeros, or the trained initial state). */
void {ident}_reset({ident}_state *s);

/* Process n_frames frames: in holds n_frames * {up}_INPUT_SIZE floats, out receives
 * n_frames * {up}_OUTPUT_SIZE floats. in and out must not overlap. */
void {ident}_process({ident}_state *s, const float *in, float *out, int n_frames);

/* Return sizeof({ident}_state), for callers that allocate the state without this header. */
size_t {ident}_state_size(void);

#endif /* TRT_MODEL_{up}_H */
"""


def _source(ident: str, w: _Writer, frame: list) -> str:
    includes = "\n".join(f'#include "{h}"' for h in sorted(w.includes))
    reset = "".join(f"    {line}\n" for line in w.reset)
    unused = "" if w.state else "    (void)s; /* a stateless model does not read it */\n"
    frame_lines = "\n".join(f"        {wrap_call(line, 8)}" for line in [*frame, *w.body])
    return f"""/* {ident}.c - generated by tinyrt {__version__}; do not edit. */
#include "{ident}.h"
{includes}

#ifdef TRT_PROFILE
/* Instrumented build: the program defines these hooks (tinyrt's C harness does); region k
 * times the k-th layer, a residual before its body. Without TRT_PROFILE they are no code. */
void trt_prof_begin(int region);
void trt_prof_end(int region);
#define TRT_PROF_BEGIN(k) trt_prof_begin(k)
#define TRT_PROF_END(k) trt_prof_end(k)
#else
#define TRT_PROF_BEGIN(k) ((void)0)
#define TRT_PROF_END(k) ((void)0)
#endif

{chr(10).join(w.consts)}

void {ident}_reset({ident}_state *s)
{{
    memset(s, 0, sizeof *s);
{reset}}}

void {ident}_process({ident}_state *restrict s, const float *restrict in, float *restrict out, int n_frames)
{{
    int t;
{unused}    for (t = 0; t < n_frames; t++) {{
{frame_lines}
    }}
}}

size_t {ident}_state_size(void)
{{
    return sizeof({ident}_state);
}}
"""
