"""scikit-learn's KNeighborsClassifier -> IR: a ``knn`` layer holding the training rows, searched as scikit-learn does.

The layer's output is the class votes; predict is their argmax (the smallest class among equal votes,
as weighted_mode and np.argmax), predict_proba the votes divided by their sum. A brute-force model
(``algorithm="brute"``, or "auto" with more than 15 features or n_neighbors >= n_samples // 2)
computes Euclidean distances as scikit-learn does, ``|x|^2 - 2 x.y + |y|^2`` (metric
``euclidean_gemm``, ``|y|^2`` copied from scikit-learn); a KD/ball tree model computes them
exactly (``euclidean``), the same numbers its tree compares, and searches the fitted tree itself
(its arrays copied into the layer) in scikit-learn's depth-first order, so that among equally near
rows it keeps the ones scikit-learn keeps. The C keeps n_samples x n_features float64 training
values (8 bytes each) plus a norm and a label per row, and for a tree 4 bytes per row and 12 +
16 x n_features (KD) or 20 + 8 x n_features (ball) bytes per node.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir import Layer, Model
from .ensemble import exact_weights as _exact

METRICS = {"euclidean": "euclidean", "manhattan": "manhattan", "minkowski": "minkowski"}


def from_kneighbors_classifier(est, name=None) -> Model:
    """Return the IR of a fitted KNeighborsClassifier (uniform or distance weights): its class votes."""
    from sklearn.metrics._pairwise_distances_reduction._dispatcher import sqeuclidean_row_norms
    metric = est.effective_metric_
    if (callable(est.weights) or est.weights not in ("uniform", "distance") or not isinstance(metric, str)
            or metric not in METRICS or est.outputs_2d_
            or any(v is not None for key, v in est.effective_metric_params_.items() if key != "p")):
        raise UnsupportedError("tinyrt converts KNeighborsClassifier with weights 'uniform' or 'distance', one "
                               "output and metric euclidean, manhattan or minkowski(p) without metric_params; "
                               f"this one has weights={est.weights!r}, metric={est.metric!r}.")
    train = np.asarray(est._fit_X, dtype=np.float64)
    brute = est._fit_method == "brute"
    if metric == "euclidean":
        metric = "euclidean_gemm" if brute else "euclidean"
    norms = sqeuclidean_row_norms(train, 1) if metric == "euclidean_gemm" else np.zeros(len(train))
    n_samples, n_features = train.shape
    classes = [c.item() if hasattr(c, "item") else c for c in est.classes_]
    params, tree = {}, {}
    if not brute:
        params, tree = _tree_weights(est)
    layer = Layer("knn", params={"features": n_features, "samples": n_samples, "neighbors": int(est.n_neighbors),
                                 "classes": len(classes), "metric": metric,
                                 "p": float(est.effective_metric_params_.get("p", 2.0)), "weights": est.weights,
                                 **params},
                  weights={**_exact(train=train, norms=norms), "labels": np.asarray(est._y, np.float32), **tree})
    info = {"estimator": "KNeighborsClassifier", "task": "classifier", "predict": "argmax", "proba": "normalize",
            "proba_scale": 1.0, "offset": 0.0, "methods": ["predict", "predict_proba"], "classes": classes}
    return Model(layers=[layer], input_size=n_features, name=name or "kneighborsclassifier",
                 metadata={"classic": info})


def _tree_weights(est) -> tuple:
    """Return (the tree params, the tree weights) of a KD/ball tree model: scikit-learn's fitted tree arrays."""
    _, index, nodes, bounds = est._tree.get_arrays()
    table = np.stack([nodes["idx_start"], nodes["idx_end"], nodes["is_leaf"]], axis=1).astype(np.float32)
    tree = {"tree_index": np.asarray(index, np.float32), "tree_nodes": table}
    if est._fit_method == "kd_tree":
        tree.update(_exact(tree_bounds=np.asarray(bounds, np.float64)))
    else:
        tree.update(_exact(tree_bounds=np.asarray(bounds[0], np.float64),
                           tree_radius=np.asarray(nodes["radius"], np.float64)))
    return {"tree": est._fit_method, "nodes": len(nodes)}, tree


CONVERTERS = {"KNeighborsClassifier": from_kneighbors_classifier}
