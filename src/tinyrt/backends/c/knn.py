"""The C of the ``knn`` layer (KNeighborsClassifier) in a classic chain header and in a generated model file.

chain.py calls ``knn_step`` for the statement computing the class votes with trt_knn.h; codegen.py
calls ``emit_knn_layer``. The training rows are a static const double table: n_samples x
n_features x 8 bytes of read-only data, plus 8 + 4 bytes per row for its norm and label; a KD/ball
tree model adds scikit-learn's fitted tree (int32 row order and node table, double bounds) and
searches it with a stack of the tree's depth, a compile-time constant.
"""
from __future__ import annotations

from ...ir.reference_classic import join64
from .trees import c_array, c_double, weight_note, wrap_call

KNN_LAYERS = ("knn",)
KNN_METRICS = {"euclidean_gemm": "TRT_KNN_EUCLIDEAN_GEMM", "euclidean": "TRT_KNN_EUCLIDEAN",
               "manhattan": "TRT_KNN_MANHATTAN", "minkowski": "TRT_KNN_MINKOWSKI"}


def knn_step(prefix: str, layer, table, cur: str, other: str) -> tuple:
    """Return (C array definitions, the C block computing the votes of a knn layer from buffer cur into other).

    ``table(key)`` writes a weight's float64 table and returns its C name; ``prefix`` names the int tables.
    """
    p, w = layer.params, layer.weights
    labels = f"{prefix}_labels"
    arrays = c_array("int32_t", labels, [str(int(v)) for v in w["labels"]], 16,
                     f"knn labels ({p['samples']}): the class index of each training row")
    k = p["neighbors"]
    head = f"{{\n        double dist[{k}], w[{k}];\n        int32_t index[{k}];\n"
    weighted = "TRT_KNN_DISTANCE" if p["weights"] == "distance" else "TRT_KNN_UNIFORM"
    metric = f"{KNN_METRICS[p['metric']]}, {c_double(p['p'])}, {weighted}"
    if p["tree"] == "none":
        train, norms = table("train"), table("norms")
        call = (f"trt_knn_votes({metric}, {train}, {norms}, {labels}, {p['samples']}, {p['features']}, {k}, "
                f"{p['classes']}, {cur}, dist, index, w, {other});")
        return arrays, f"{head}        {wrap_call(call, 8)}\n    }}"
    notes = {"tree_index": "the training rows in the fitted tree's order",
             "tree_nodes": "start, end, is_leaf of each tree node"}
    for key, note in notes.items():
        shape, order = " x ".join(str(n) for n in w[key].shape), ", row-major" if w[key].ndim > 1 else ""
        arrays += c_array("int32_t", f"{prefix}_{key}", [str(int(v)) for v in w[key].ravel()], 16,
                          f"knn {key} ({shape}): {note}{order}")
    ball = p["tree"] == "ball_tree"
    train, bounds = table("train"), table("tree_bounds")
    radius = table("tree_radius") if ball else "NULL"
    depth = (p["nodes"] + 1).bit_length() - 1
    kind = "TRT_KNN_BALL_TREE" if ball else "TRT_KNN_KD_TREE"
    call = (f"trt_knn_tree_votes({metric}, {kind}, {train}, {prefix}_tree_index, {prefix}_tree_nodes, {bounds}, "
            f"{radius}, {p['nodes']}, {labels}, {p['features']}, {k}, {p['classes']}, {cur}, dist, index, w, "
            f"stack_node, stack_lb, {other});")
    return arrays, (f"{head}        int32_t stack_node[{depth}];\n        double stack_lb[{depth}];\n"
                    f"        {wrap_call(call, 8)}\n    }}")


def emit_knn_layer(writer, layer, tag: str, src: str, n_in: int, dst) -> str:
    """Write a knn layer into a generated model file (codegen's writer); return its output buffer."""
    n_out = layer.out_features

    def table(key):
        values = join64(layer.weights[key], layer.weights[f"{key}_lo"]).ravel()
        writer.consts.append(c_array("double", f"{tag}_{key}", [c_double(v) for v in values], 4,
                                     weight_note(layer, key, "layer " + tag[1:].replace("_", "."))))
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
