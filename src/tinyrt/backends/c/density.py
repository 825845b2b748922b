"""The C of the density layers in a classic chain header: ``mahalanobis`` (EllipticEnvelope), ``gaussian_mixture``.

chain.py calls ``density_step`` for each such layer (the statement computing it with trt_density.h)
and ``density_api`` for the functions an outlier detector or a mixture adds to the header:
``<name>_predict`` / ``_decision_function`` / ``_score_samples`` as scikit-learn names them.
"""
from __future__ import annotations

import math

from ...ir.reference_classic import join64
from .trees import c_array, c_double, weight_note

DENSITY_LAYERS = ("mahalanobis", "gaussian_mixture")
GMM_KINDS = {"full": "TRT_GMM_FULL", "tied": "TRT_GMM_TIED", "diag": "TRT_GMM_DIAG", "spherical": "TRT_GMM_SPHERICAL"}
GMM_TABLES = {"full": ("prec_chol", "mean_prec", None), "tied": ("prec_chol", "mean_prec", None),
              "diag": ("prec", "mean_prec", "mean_quad"), "spherical": ("prec", "means", "mean_quad")}


def density_step(layer, k: int, table, cur: str, n: int, other: str) -> str:
    """Return the C statement computing a density layer from buffer cur (n values) into buffer other.

    ``table(layer, k, key)`` writes a weight's float64 table and returns its C name.
    """
    if layer.type == "mahalanobis":
        return f"{other}[0] = trt_density_mahalanobis({table(layer, k, 'location')}, " \
               f"{table(layer, k, 'precision')}, {cur}, {n});"
    p = layer.params
    names = [table(layer, k, key) if key else "NULL" for key in GMM_TABLES[p["covariance"]]]
    names += [table(layer, k, "log_det"), table(layer, k, "log_weights")]
    c = c_double(p["features"] * math.log(2 * math.pi))  # scikit-learn's n_features * math.log(2 * math.pi)
    return f"trt_density_gmm({GMM_KINDS[p['covariance']]}, {', '.join(names)}, {c}, {cur}, {n}, " \
           f"{p['components']}, {other});"


def density_api(ident: str, spec, x: str, raw: str) -> list:
    """Return the header functions an outlier detector (predict, decision_function, score_samples) or a mixture
    (score_samples) adds; ``x`` is the input parameter's declaration and ``raw`` the lines computing raw."""
    up, info = ident.upper(), spec.info
    fns = []
    if info["task"] == "outlier":
        offset = c_double(info["offset"])
        fns.append(f"/* Return +1 for an inlier (score_samples - offset_ >= 0), -1 for an outlier, as predict. */\n"
                   f"static inline int {ident}_predict({x})\n{{\n{raw}"
                   f"    return raw[0] - {up}_OFFSET >= 0.0 ? 1 : -1;\n}}\n")
        fns.append(f"/* Return score_samples - offset_ (negative for outliers), as decision_function. */\n"
                   f"static inline float {ident}_decision_function({x})\n{{\n{raw}"
                   f"    return (float)(raw[0] - {up}_OFFSET);\n}}\n")
        fns.append(f"/* Return the anomaly score (lower is more abnormal), as score_samples. */\n"
                   f"static inline float {ident}_score_samples({x})\n{{\n{raw}    return (float)raw[0];\n}}\n")
        return [f"/* scikit-learn's offset_: the threshold on score_samples */\n#define {up}_OFFSET ({offset})\n"] + fns
    if info.get("score") == "logsumexp":
        fns.append(f"/* Return the log likelihood of x under the mixture (logsumexp of the raw output), as "
                   f"score_samples. */\nstatic inline float {ident}_score_samples({x})\n{{\n{raw}"
                   f"    return (float)trt_density_logsumexp(raw, {up}_N_OUTPUTS);\n}}\n")
    return fns


def emit_density_layer(writer, layer, tag: str, src: str, n_in: int, dst) -> str:
    """Write a mahalanobis or gaussian_mixture layer into a generated model file (codegen's writer); return its
    output."""
    n_out = layer.out_features

    def table(layer, k, key):
        values = join64(layer.weights[key], layer.weights[f"{key}_lo"]).ravel()
        writer.consts.append(c_array("double", f"{tag}_{key}", [c_double(v) for v in values], 4,
                                     weight_note(layer, key, "layer " + tag[1:].replace("_", "."))))
        return f"{tag}_{key}"

    writer.includes.add("trt_density.h")
    writer.locals += [f"double {tag}_in[{n_in}];", f"double {tag}_out[{n_out}];", f"int {tag}_i;"]
    call = density_step(layer, 0, table, f"{tag}_in", n_in, f"{tag}_out")
    out = writer.tmp(n_out, dst)
    writer.body.append(f"for ({tag}_i = 0; {tag}_i < {n_in}; {tag}_i++) {tag}_in[{tag}_i] = (double){src}[{tag}_i];")
    writer.body.append(call)
    writer.body.append(f"for ({tag}_i = 0; {tag}_i < {n_out}; {tag}_i++) {out}[{tag}_i] = (float){tag}_out[{tag}_i];")
    return out
