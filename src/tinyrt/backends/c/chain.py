"""The single-header C99 library of a non-tree classic model: scalers, linear steps, GaussianNB, MLPs.

Such a model is a chain of per-sample IR layers (``scaler``, ``linear``, ``gaussian_nb``,
``activation``) computed in float64 with trt_classic.h, exactly as scikit-learn computes them;
``model.metadata["classic"]`` says how predict, predict_proba and decision_function follow from
the chain's raw output. The header has the same API as a tree model's (classic.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...c import RUNTIME_DIR
from ...errors import InputError, ModelError, UnsupportedError
from ...ir.reference_classic import join64
from ...version import __version__
from .classic import FEATURES, int16_scale
from .density import DENSITY_LAYERS, density_api, density_step
from .knn import KNN_LAYERS, knn_step
from .trees import Q_MAX, c_array, c_double, c_float, weight_note, wrap_call

CHAIN_LAYERS = ("scaler", "linear", "gaussian_nb", "activation", *DENSITY_LAYERS, *KNN_LAYERS)
ACTIVATIONS = {"identity": "IDENTITY", "relu": "RELU", "tanh": "TANH", "sigmoid": "LOGISTIC", "softmax": "SOFTMAX"}
PREDICT = ("value", "argmax", "binary_gt", "binary_gt_half", "outlier")
PROBA = ("none", "raw", "binary_raw", "logistic", "softmax", "logsumexp", "normalize")


@dataclass
class ChainSpec:
    """Everything a chain model's generated library depends on besides the name."""

    layers: list
    info: dict
    n_features: int
    n_outputs: int
    scale: np.ndarray | None  # per-feature int16 scales; None for float32 features
    form: str = "chain"

    @property
    def n_classes(self) -> int:
        """Return the number of classes (0 for a regressor)."""
        return len(self.info["classes"]) if self.info["task"] == "classifier" else 0


def is_chain(model) -> bool:
    """Return True when every layer of the model is one trt_classic.h evaluates."""
    return all(layer.type in CHAIN_LAYERS for layer in model.layers)


def default_scale(layers: list, n_features: int) -> np.ndarray:
    """Return int16 scales from a leading scaler: mean +- 8 scales (standard), the fitted range widened (minmax)."""
    first = layers[0]
    if first.type != "scaler":
        why = "int16 features need scale= for a model without a leading scaler (x_q = round(x * scale)); "
        raise InputError(f"{why}pass e.g. 32767 / abs(X_train).max(axis=0).",
                         cli=f"{why}the command line cannot give scales: convert it in Python with "
                             f"tinyrt.convert(estimator, features='int16', scale=32767 / abs(X_train).max(axis=0)).")
    offset, scale = join64(first.weights["offset"], first.weights["offset_lo"]), \
        join64(first.weights["scale"], first.weights["scale_lo"])
    if first.params["mode"] == "standard":
        reach = np.abs(offset) + 8.0 * np.abs(scale)
    else:  # the x mapping to 0 and 1, widened by that span each side (room for test data beyond the fit)
        lo, hi = -offset / scale, (1.0 - offset) / scale
        reach = np.maximum(np.abs(lo), np.abs(hi)) + np.abs(hi - lo)
    reach = np.where(reach > 0, reach, 1.0)
    return (Q_MAX / reach).astype(np.float32)


def chain_spec(model, form: str = "nodes", features: str = "float32", scale=None) -> ChainSpec:
    """Return the C-side description of a chain model; refuse what trt_classic.h cannot compute."""
    if features not in FEATURES:
        raise UnsupportedError(f"features must be one of {', '.join(FEATURES)}, got {features!r}.")
    if form != "nodes":
        raise UnsupportedError(f"form={form!r} applies to tree models; {model.name} has no trees, leave form "
                               f"at its default.", cli=f"--form {form} applies to tree models; {model.name} has no "
                                                     f"trees, leave out --form.")
    model.validate()
    info = model.metadata.get("classic", {})
    if info.get("predict") not in PREDICT or info.get("proba") not in PROBA:
        raise ModelError(f"{model.name}: metadata 'classic' has predict={info.get('predict')!r}, "
                         f"proba={info.get('proba')!r}; predict must be one of {', '.join(PREDICT)} and proba one "
                         f"of {', '.join(PROBA)}.")
    for layer in model.layers:
        if layer.type == "activation" and layer.params["function"] not in ACTIVATIONS:
            raise UnsupportedError(f"the classic C library computes activations {', '.join(ACTIVATIONS)}, "
                                   f"not {layer.params['function']!r}.")
    n_features = model.input_size
    if features == "int16":
        scale = int16_scale(default_scale(model.layers, n_features) if scale is None else scale, n_features)
    return ChainSpec(list(model.layers), info, n_features, model.output_size, scale)


def _tables(ident: str, spec: ChainSpec) -> tuple:
    """Return (C array definitions, C statements of the chain computing buffer a -> raw, widest buffer)."""
    arrays, steps, width, n = [], [], spec.n_features, spec.n_features
    cur, other = "a", "b"

    def table(layer, k, key):
        name = f"{ident}_l{k}_{key}"
        values = join64(layer.weights[key], layer.weights[f"{key}_lo"]).ravel()
        arrays.append(c_array("double", name, [c_double(v) for v in values], 4, weight_note(layer, key, f"layer {k}")))
        return name

    for k, layer in enumerate(spec.layers):
        p = layer.params
        if layer.type == "activation":
            steps.append(f"trt_classic_activate(TRT_CLASSIC_{ACTIVATIONS[p['function']]}, {cur}, {n});")
            continue
        if layer.type == "scaler":
            fn = "trt_classic_standard" if p["mode"] == "standard" else "trt_classic_minmax"
            steps.append(f"{fn}({cur}, {table(layer, k, 'offset')}, {table(layer, k, 'scale')}, {n}, {other});")
        elif layer.type == "linear":
            w, b = table(layer, k, "weight"), table(layer, k, "bias")
            steps.append(f"trt_classic_linear({w}, {b}, {cur}, {n}, {p['out_features']}, {other});")
        elif layer.type in DENSITY_LAYERS:
            steps.append(density_step(layer, k, table, cur, n, other))
        elif layer.type in KNN_LAYERS:
            text, block = knn_step(f"{ident}_l{k}", layer, lambda key, layer=layer, k=k: table(layer, k, key),
                                   cur, other)
            arrays.append(text)
            steps.append(block)
        else:
            names = [table(layer, k, key) for key in ("theta", "var", "log_prior", "log_norm")]
            steps.append(f"trt_classic_gaussian_nb({', '.join(names)}, {cur}, {n}, {p['classes']}, {other});")
        n = layer.out_features
        width = max(width, n)
        cur, other = other, cur
    steps.append(f"for (i = 0; i < {n}; i++)\n        raw[i] = {cur}[i];")
    return "".join(arrays), steps, width


def _api(ident: str, spec: ChainSpec) -> str:
    """Return the public functions of the header: quantize, raw, predict and the other methods."""
    up, info = ident.upper(), spec.info
    x = "const float *x" if spec.scale is None else "const int16_t *x"
    raw = f"    double raw[{up}_N_OUTPUTS];\n    {ident}_raw(x, raw);\n"
    fns = []
    if spec.scale is not None:
        fns.append(f"/* Quantise {up}_N_FEATURES float features for this model (x * scale, rounded, clipped). */\n"
                   f"static inline void {ident}_quantize(const float *x, int16_t *xq)\n{{\n"
                   f"    trt_classic_quantize(x, {ident}_scale, {up}_N_FEATURES, xq);\n}}\n")
    task, predict, proba = info["task"], info["predict"], info["proba"]
    if task == "regressor":
        if spec.n_outputs == 1:
            fns.append(f"/* Return the predicted value, as predict. */\nstatic inline float {ident}_predict({x})\n"
                       f"{{\n{raw}    return (float)raw[0];\n}}\n")
        else:
            fns.append(f"/* Write the {up}_N_OUTPUTS predicted values, as predict. */\n"
                       f"static inline void {ident}_predict({x}, float *y)\n{{\n    int k;\n{raw}"
                       f"    for (k = 0; k < {up}_N_OUTPUTS; k++)\n        y[k] = (float)raw[k];\n}}\n")
        return "\n".join(fns)
    if task == "outlier":
        return "\n".join(fns + density_api(ident, spec, x, raw))
    decide = {"argmax": f"trt_classic_argmax(raw, {up}_N_OUTPUTS)", "binary_gt": "raw[0] > 0.0",
              "binary_gt_half": "raw[0] > 0.5"}[predict]
    fns.append(f"/* Return the predicted class index (0..{up}_N_CLASSES-1), as scikit-learn's predict. */\n"
               f"static inline int {ident}_predict({x})\n{{\n{raw}    return {decide};\n}}\n")
    if proba != "none":
        body = {"raw": f"    int k;\n{raw}    for (k = 0; k < {up}_N_CLASSES; k++)\n"
                       f"        proba[k] = (float)raw[k];\n",
                "binary_raw": f"{raw}    proba[0] = (float)(1.0 - raw[0]);\n    proba[1] = (float)raw[0];\n",
                "logistic": f"{raw}    trt_classic_proba_logistic(raw[0], proba);\n",
                "softmax": f"{raw}    trt_classic_proba_softmax(raw, {up}_N_CLASSES, proba);\n",
                "logsumexp": f"{raw}    trt_classic_proba_logsumexp(raw, {up}_N_CLASSES, proba);\n",
                "normalize": f"{raw}    trt_knn_proba(raw, {up}_N_CLASSES, proba);\n"}[proba]
        fns.append(f"/* Write the {up}_N_CLASSES class probabilities (float32), as predict_proba. */\n"
                   f"static inline void {ident}_predict_proba({x}, float *proba)\n{{\n{body}}}\n")
    if "decision_function" in info["methods"]:
        fns.append(f"/* Write the {up}_N_OUTPUTS decision values (float32), as decision_function. */\n"
                   f"static inline void {ident}_decision_function({x}, float *out)\n{{\n    int k;\n{raw}"
                   f"    for (k = 0; k < {up}_N_OUTPUTS; k++)\n        out[k] = (float)raw[k];\n}}\n")
    return "\n".join(fns + density_api(ident, spec, x, raw))


def chain_header(ident: str, spec: ChainSpec) -> str:
    """Return the text of the self-contained single-header C99 library ``<ident>.h`` of a chain model."""
    up, info = ident.upper(), spec.info
    arrays, steps, width = _tables(ident, spec)
    if spec.scale is not None:
        arrays += c_array("float", f"{ident}_scale", [c_float(v) for v in spec.scale], 12,
                          "int16 features: x_q = round(x * scale), per feature")
        load = f"trt_classic_dequantize(x, {ident}_scale, {up}_N_FEATURES, a);"
    else:
        load = f"for (i = 0; i < {up}_N_FEATURES; i++)\n        a[i] = (double)x[i];"
    x = "const float *x" if spec.scale is None else "const int16_t *x"
    body = "\n    ".join([load, *(wrap_call(step, 4) for step in steps)])
    api = _api(ident, spec)
    uses = {"trt_density.h": ("trt_density_", "TRT_GMM_"), "trt_knn.h": ("trt_knn_", "TRT_KNN_")}
    needed = ["trt_common.h", "trt_classic.h"] + [h for h, names in uses.items()
                                                  if any(n in body + api for n in names)]
    runtime = "\n".join((RUNTIME_DIR / h).read_text() for h in needed)
    runtime = runtime.replace('#include "trt_common.h"', "/* trt_common.h: above */")
    # every step but an activation writes buffer b first; a chain of activations alone never touches it
    unused_b = "" if any(layer.type != "activation" for layer in spec.layers) else "\n    (void)b;"
    classes = ""
    if info["classes"] is not None:
        labels = ", ".join(f"{i}: {str(repr(c)).replace('*/', '* /')}" for i, c in enumerate(info["classes"]))
        classes = f" * Classes (index: label): {labels}\n"
    features = "float32 features" if spec.scale is None else \
        f"int16 features (x_q = round(x * scale) by {ident}_quantize(), read as float32 x_q / scale)"
    what = str(info.get("estimator", "model")).replace("*/", "* /")
    return f"""/* {ident}.h - {what} as a C99 single-header library, generated by tinyrt {__version__};
 * do not edit.
 *
 * {spec.n_features} {features}; {len(spec.layers)} steps computed in float64 as scikit-learn computes
 * them for float32 X, so predicted classes are the same; probabilities and scores are float32.
 * Every function is reentrant, allocates nothing and does no I/O.
{classes} */
#ifndef {up}_H
#define {up}_H

{runtime}
#define {up}_N_FEATURES {spec.n_features}
#define {up}_N_OUTPUTS {spec.n_outputs}
#define {up}_N_CLASSES {spec.n_classes}

{arrays}
/* Compute the raw output ({up}_N_OUTPUTS float64 values) scikit-learn computes before its final step. */
static inline void {ident}_raw({x}, double *raw)
{{
    double a[{width}], b[{width}];
    int i;
    {body}{unused_b}
}}

{api}
#endif /* {up}_H */
"""


def emit_classic_layer(writer, layer, tag: str, src: str, n_in: int, dst) -> str:
    """Write a scaler, linear or gaussian_nb layer into a generated model file (codegen's writer); return its output."""
    p, n_out = layer.params, layer.out_features
    keys = {"scaler": ("offset", "scale"), "linear": ("weight", "bias"),
            "gaussian_nb": ("theta", "var", "log_prior", "log_norm")}[layer.type]
    names = []
    for key in keys:
        values = join64(layer.weights[key], layer.weights[f"{key}_lo"]).ravel()
        names.append(f"{tag}_{key}")
        writer.consts.append(c_array("double", names[-1], [c_double(v) for v in values], 4,
                                     weight_note(layer, key, "layer " + tag[1:].replace("_", "."))))
    writer.includes.add("trt_classic.h")
    writer.locals += [f"double {tag}_in[{n_in}];", f"double {tag}_out[{n_out}];", f"int {tag}_i;"]
    if layer.type == "scaler":
        fn = "trt_classic_standard" if p["mode"] == "standard" else "trt_classic_minmax"
        call = f"{fn}({tag}_in, {names[0]}, {names[1]}, {n_in}, {tag}_out);"
    elif layer.type == "linear":
        call = f"trt_classic_linear({names[0]}, {names[1]}, {tag}_in, {n_in}, {n_out}, {tag}_out);"
    else:
        call = f"trt_classic_gaussian_nb({', '.join(names)}, {tag}_in, {n_in}, {n_out}, {tag}_out);"
    out = writer.tmp(n_out, dst)
    writer.body.append(f"for ({tag}_i = 0; {tag}_i < {n_in}; {tag}_i++) {tag}_in[{tag}_i] = (double){src}[{tag}_i];")
    writer.body.append(call)
    writer.body.append(f"for ({tag}_i = 0; {tag}_i < {n_out}; {tag}_i++) {out}[{tag}_i] = (float){tag}_out[{tag}_i];")
    return out
