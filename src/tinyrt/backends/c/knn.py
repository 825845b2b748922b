"""The C of the ``knn`` layer (KNeighborsClassifier) in a classic chain header and in a generated model file.

chain.py calls ``knn_step`` for the statement computing the class votes with trt_knn.h; codegen.py
calls ``emit_knn_layer``. The training rows are a static const double table: n_samples x
n_features x 8 bytes of read-only data, plus 8 + 4 bytes per row for its norm and label.
"""
from __future__ import annotations

from ...ir.reference_classic import join64
from .trees import c_array, c_double

KNN_LAYERS = ("knn",)
KNN_METRICS = {"euclidean_gemm": "TRT_KNN_EUCLIDEAN_GEMM", "euclidean": "TRT_KNN_EUCLIDEAN",
               "manhattan": "TRT_KNN_MANHATTAN", "minkowski": "TRT_KNN_MINKOWSKI"}


def knn_step(prefix: str, layer, table, cur: str, other: str) -> tuple:
    """Return (C array definitions, the C block computing the votes of a knn layer from buffer cur into other).

    ``table(key)`` writes a weight's float64 table and returns its C name; ``prefix`` names the label table.
    """
    p = layer.params
    labels = f"{prefix}_labels"
    arrays = c_array("int32_t", labels, [str(int(v)) for v in layer.weights["labels"]], 16)
    train, norms = table("train"), table("norms")
    k = p["neighbors"]
    block = (f"{{\n        double dist[{k}], w[{k}];\n        int32_t index[{k}];\n"
             f"        trt_knn_votes({KNN_METRICS[p['metric']]}, {c_double(p['p'])}, {int(p['weights'] == 'distance')}, "
             f"{train}, {norms}, {labels}, {p['samples']}, {p['features']}, {k}, {p['classes']}, {cur}, dist, index, "
             f"w, {other});\n    }}")
    return arrays, block


def emit_knn_layer(writer, layer, tag: str, src: str, n_in: int, dst) -> str:
    """Write a knn layer into a generated model file (codegen's writer); return its output buffer."""
    n_out = layer.out_features

    def table(key):
        values = join64(layer.weights[key], layer.weights[f"{key}_lo"]).ravel()
        writer.consts.append(c_array("double", f"{tag}_{key}", [c_double(v) for v in values], 4))
        return f"{tag}_{key}"

    writer.includes.add("trt_knn.h")
    arrays, block = knn_step(tag, layer, table, f"{tag}_in", f"{tag}_out")
    writer.consts.append(arrays)
    writer.locals += [f"double {tag}_in[{n_in}];", f"double {tag}_out[{n_out}];", f"int {tag}_i;"]
    out = writer.tmp(n_out, dst)
    writer.body.append(f"for ({tag}_i = 0; {tag}_i < {n_in}; {tag}_i++) {tag}_in[{tag}_i] = (double){src}[{tag}_i];")
    writer.body.append(block)
    writer.body.append(f"for ({tag}_i = 0; {tag}_i < {n_out}; {tag}_i++) {out}[{tag}_i] = (float){tag}_out[{tag}_i];")
    return out
