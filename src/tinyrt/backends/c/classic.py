"""The single-header C99 library of a classic (scikit-learn) model: tables, trt_trees model, and its API.

The header is self-contained: it carries the runtime it needs (trt_common.h, trt_trees.h, each
behind its include guard), the model as ``static const`` data, and ``static inline`` functions
named like scikit-learn's methods: ``<name>_predict``, ``<name>_predict_proba``,
``<name>_decision_function``, ``<name>_score_samples``, plus ``<name>_raw`` (the float64 raw
output) and, for int16 models, ``<name>_quantize``. No heap, no I/O, sizes as constants.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...c import RUNTIME_DIR
from ...errors import InputError, ModelError, UnsupportedError
from ...version import __version__
from .trees import TreeTables, c_struct, c_tables, default_scale, inline_trees, quantized_thresholds, tree_tables

FORMS = ("nodes", "inline")
FEATURES = ("float32", "int16")
PREDICT = {"value": 0, "value_exp": 1, "argmax": 2, "binary_ge": 3, "binary_gt": 4, "outlier": 5}  # trt_trees.h
PROBA = {"none": 0, "raw": 1, "logistic": 2, "softmax": 3}
REGRESSION = {"task": "regressor", "predict": "value", "proba": "none", "proba_scale": 1.0, "offset": 0.0,
              "methods": ["predict"], "classes": None, "estimator": "tree_ensemble"}


@dataclass
class ClassicSpec:
    """Everything the generated library depends on besides the name."""

    tables: TreeTables
    info: dict            # metadata["classic"]: task, predict, proba, classes, methods, offset
    form: str             # "nodes" or "inline"
    scale: np.ndarray | None  # per-feature int16 scales; None for float32 features
    threshold_q: np.ndarray | None

    @property
    def n_features(self) -> int:
        """Return the number of input features."""
        return self.tables.n_features

    @property
    def n_outputs(self) -> int:
        """Return the number of raw outputs."""
        return self.tables.n_outputs

    @property
    def n_classes(self) -> int:
        """Return the number of classes (0 for a regressor)."""
        return len(self.info["classes"]) if self.info["task"] == "classifier" else 0


def spec_for(model, form: str = "nodes", features: str = "float32", scale=None) -> ClassicSpec:
    """Return the C-side description of a one-layer tree_ensemble model; refuse what the C form cannot hold."""
    if form not in FORMS:
        raise UnsupportedError(f"form must be one of {', '.join(FORMS)}, got {form!r}.")
    if features not in FEATURES:
        raise UnsupportedError(f"features must be one of {', '.join(FEATURES)}, got {features!r}.")
    model.validate()
    if len(model.layers) != 1 or model.layers[0].type != "tree_ensemble":
        raise UnsupportedError(f"{model.name} is not a classic tree model (one tree_ensemble layer); "
                               f"use tinyrt.backend(model, 'c') for other models.")
    info = {**REGRESSION, **model.metadata.get("classic", {})}
    if info["predict"] not in PREDICT or info["proba"] not in PROBA:
        raise ModelError(f"{model.name}: metadata 'classic' has predict={info['predict']!r}, proba={info['proba']!r}; "
                         f"predict must be one of {', '.join(PREDICT)} and proba one of {', '.join(PROBA)}.")
    tables = tree_tables(model.layers[0])
    if form == "nodes":
        tables.check_node_limits("form='nodes'")
    if features == "float32":
        return ClassicSpec(tables, info, form, None, None)
    scale = int16_scale(default_scale(tables) if scale is None else scale, tables.n_features)
    return ClassicSpec(tables, info, form, scale, quantized_thresholds(tables, scale))


def int16_scale(scale, n_features: int) -> np.ndarray:
    """Return the per-feature int16 scales as float32, refusing a wrong count or a non-positive value."""
    try:
        scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (n_features,))
    except ValueError:
        raise InputError(f"scale must be one number or {n_features} numbers (one per feature), "
                         f"got shape {np.shape(scale)}.") from None
    with np.errstate(over="ignore"):
        bad = ~(np.isfinite(scale.astype(np.float32)) & (scale.astype(np.float32) > 0))
    if bad.any():
        raise InputError(f"every int16 scale must be a positive finite float32 number; feature "
                         f"{int(np.argmax(bad))} has {float(scale[bad][0])!r}.")
    return scale.astype(np.float32)


def _comment(text: str) -> str:
    return str(text).replace("*/", "* /")


def _api(ident: str, spec: ClassicSpec) -> str:
    """Return the public functions of the header."""
    x = "const float *x" if spec.scale is None else "const int16_t *x"
    up = ident.upper()
    info, m = spec.info, f"&{ident}_model"
    raw = f"    double raw[{up}_N_OUTPUTS];\n    {ident}_raw(x, raw);\n"
    fns = []
    if spec.form == "nodes":
        walk = "trt_trees_raw" if spec.scale is None else "trt_trees_raw_q"
        fns.append(f"/* Compute the raw output ({up}_N_OUTPUTS float64 values) scikit-learn computes before its\n"
                   f" * final step, with the same operations in the same order. */\n"
                   f"static inline void {ident}_raw({x}, double *raw)\n{{\n    {walk}({m}, x, raw);\n}}\n")
    else:
        adds = "".join(f"    trt_trees_add({m}, {t}, {ident}_tree{t}(x), raw);\n" for t in range(spec.tables.n_trees))
        fns.append(f"/* Compute the raw output ({up}_N_OUTPUTS float64 values) scikit-learn computes before its\n"
                   f" * final step, with the same operations in the same order. */\n"
                   f"static inline void {ident}_raw({x}, double *raw)\n{{\n    trt_trees_start({m}, raw);\n"
                   f"{adds}    trt_trees_finish({m}, raw);\n}}\n")
    if spec.scale is not None:
        fns.append(f"/* Quantise {up}_N_FEATURES float features for this model (x * scale, rounded, clipped). */\n"
                   f"static inline void {ident}_quantize(const float *x, int16_t *xq)\n{{\n"
                   f"    trt_trees_quantize({m}, x, xq);\n}}\n")
    task, methods = info["task"], info["methods"]
    if task == "classifier":
        fns.append(f"/* Return the predicted class index (0..{up}_N_CLASSES-1), as scikit-learn's predict. */\n"
                   f"static inline int {ident}_predict({x})\n{{\n{raw}    return trt_trees_class({m}, raw);\n}}\n")
        fns.append(f"/* Write the {up}_N_CLASSES class probabilities (float32), as predict_proba. */\n"
                   f"static inline void {ident}_predict_proba({x}, float *proba)\n{{\n{raw}"
                   f"    trt_trees_proba({m}, raw, proba);\n}}\n")
        if "decision_function" in methods:
            fns.append(f"/* Write the {up}_N_OUTPUTS decision values (float32), as decision_function. */\n"
                       f"static inline void {ident}_decision_function({x}, float *out)\n{{\n    int k;\n{raw}"
                       f"    for (k = 0; k < {up}_N_OUTPUTS; k++)\n        out[k] = (float)raw[k];\n}}\n")
    elif task == "outlier":
        fns.append(f"/* Return +1 for an inlier, -1 for an outlier, as predict. */\n"
                   f"static inline int {ident}_predict({x})\n{{\n{raw}    return trt_trees_class({m}, raw);\n}}\n")
        fns.append(f"/* Return the anomaly score (lower is more abnormal), as score_samples. */\n"
                   f"static inline float {ident}_score_samples({x})\n{{\n{raw}    return (float)raw[0];\n}}\n")
        fns.append(f"/* Return score_samples - offset (negative for outliers), as decision_function. */\n"
                   f"static inline float {ident}_decision_function({x})\n{{\n{raw}"
                   f"    return (float)(raw[0] - {ident}_model.offset);\n}}\n")
    elif spec.tables.n_outputs == 1:
        fns.append(f"/* Return the predicted value, as predict. */\n"
                   f"static inline float {ident}_predict({x})\n{{\n    float y;\n{raw}"
                   f"    trt_trees_value({m}, raw, &y);\n    return y;\n}}\n")
    else:
        fns.append(f"/* Write the {up}_N_OUTPUTS predicted values, as predict. */\n"
                   f"static inline void {ident}_predict({x}, float *y)\n{{\n{raw}"
                   f"    trt_trees_value({m}, raw, y);\n}}\n")
    return "\n".join(fns)


def header(ident: str, spec: ClassicSpec) -> str:
    """Return the text of the self-contained single-header C99 library ``<ident>.h``."""
    t, info, up = spec.tables, spec.info, ident.upper()
    nodes = spec.form == "nodes"
    arrays, fields = c_tables(ident, t, spec.threshold_q, spec.scale, nodes=nodes)
    struct = c_struct(f"{ident}_model", t, fields, predict=info["predict"], proba=info["proba"],
                      n_classes=spec.n_classes, offset=info["offset"], proba_scale=info["proba_scale"], nodes=nodes)
    trees = "" if nodes else inline_trees(ident, t, spec.threshold_q)
    runtime = "\n".join((RUNTIME_DIR / h).read_text() for h in ("trt_common.h", "trt_trees.h"))
    runtime = runtime.replace('#include "trt_common.h"', "/* trt_common.h: above */")
    classes = ""
    if info["classes"] is not None:
        labels = ", ".join(f"{i}: {_comment(repr(c))}" for i, c in enumerate(info["classes"]))
        classes = f" * Classes (index: label): {labels}\n"
    features = ("float32 features" if spec.scale is None else
                f"int16 features\n * (x_q = round(x * scale) by {ident}_quantize(); x_q goes left when\n"
                f" * x_q <= threshold_q, exactly when float32(x_q / scale) <= the float32 threshold)")
    what = _comment(info["estimator"])
    return f"""/* {ident}.h - {what} as a C99 single-header library, generated by tinyrt {__version__};
 * do not edit.
 *
 * {t.n_trees} trees, {t.n_splits} split nodes, {len(t.leaf_values)} distinct leaves, {t.n_features} {features}.
 * Agrees with scikit-learn: a split goes left when x <= threshold, leaf values are scikit-learn's
 * float64 values summed in its order, so predicted classes are the same; probabilities and
 * scores are float32. Every function is reentrant, allocates nothing and does no I/O.
{classes} */
#ifndef {up}_H
#define {up}_H

{runtime}
#define {up}_N_FEATURES {t.n_features}
#define {up}_N_OUTPUTS {t.n_outputs}
#define {up}_N_CLASSES {spec.n_classes}
#define {up}_N_TREES {t.n_trees}
#define {up}_N_NODES {t.n_splits}
#define {up}_N_LEAVES {len(t.leaf_values)}
#define {up}_MAX_DEPTH {t.max_depth}

{arrays}
{struct}
{trees}
{_api(ident, spec)}
#endif /* {up}_H */
"""
