"""The NumPy reference of the classic-ML layers (scikit-learn's models), float64 as scikit-learn computes.

Same contract as reference.py: each step's ``process`` maps (T, in_features) frames to
(T, out_features). These layers are stateless, and each follows scikit-learn's own order of
operations (and its float32 roundings for float32 input), so the C it is tested against can
agree with scikit-learn exactly.
"""
from __future__ import annotations

import numpy as np


def join64(hi, lo) -> np.ndarray:
    """Return the float64 values stored as float32 parts: (hi + lo[..., 0]) + lo[..., 1]."""
    return (np.asarray(hi, np.float64) + lo[..., 0].astype(np.float64)) + lo[..., 1].astype(np.float64)


class _TreeEnsemble:
    """Trees as scikit-learn evaluates them: x <= threshold goes left; leaf rows summed in tree order."""

    def __init__(self, layer):
        p, w = layer.params, layer.weights
        self.feature, self.left, self.right, self.leaf, self.root, self.output = (
            w[k].astype(np.int64) for k in ("feature", "left", "right", "leaf", "root", "output"))
        self.threshold = w["threshold"].astype(np.float64)
        self.value, self.bias = join64(w["value"], w["value_lo"]), join64(w["bias"], w["bias_lo"])
        self.width, self.combine, self.denominator = p["leaf_width"], p["combine"], p["denominator"]

    def reset(self):
        pass

    def leaves(self, x) -> np.ndarray:
        """Return the leaf row each tree reaches for each frame, shape (T, trees)."""
        rows = np.arange(len(x))
        out = np.empty((len(x), len(self.root)), dtype=np.int64)
        for t, root in enumerate(self.root):
            node = np.full(len(x), root)
            split = self.left[node] >= 0
            while split.any():
                go_left = x[rows, np.maximum(self.feature[node], 0)] <= self.threshold[node]
                node = np.where(split, np.where(go_left, self.left[node], self.right[node]), node)
                split = self.left[node] >= 0
            out[:, t] = self.leaf[node]
        return out

    def process(self, x):
        acc = np.tile(self.bias, (len(x), 1))
        for t, rows in enumerate(self.leaves(x).T):
            acc[:, self.output[t]:self.output[t] + self.width] += self.value[rows]
        if self.combine == "mean":
            acc /= len(self.root)
        elif self.combine == "isolation":
            r = acc / self.denominator if self.denominator != 0 else np.ones_like(acc)
            acc = -(2 ** -r)
        return acc


def _exact(layer, key) -> np.ndarray:
    return join64(layer.weights[key], layer.weights[f"{key}_lo"])


class _Scaler:
    """Per-feature affine as scikit-learn applies it to float32 X: each float64 step rounded to float32."""

    def __init__(self, layer):
        self.offset, self.scale, self.mode = _exact(layer, "offset"), _exact(layer, "scale"), layer.params["mode"]

    def reset(self):
        pass

    def process(self, x):
        f32 = np.float32
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, as it does in scikit-learn
            x = np.asarray(x, np.float64).astype(f32).astype(np.float64)
            if self.mode == "standard":
                return ((x - self.offset).astype(f32).astype(np.float64) / self.scale).astype(f32).astype(np.float64)
            return ((x * self.scale).astype(f32).astype(np.float64) + self.offset).astype(f32).astype(np.float64)


class _Linear:
    def __init__(self, layer):
        self.w, self.b = _exact(layer, "weight"), _exact(layer, "bias")

    def reset(self):
        pass

    def process(self, x):
        return x @ self.w.T + self.b


class _GaussianNB:
    def __init__(self, layer):
        self.theta, self.var = _exact(layer, "theta"), _exact(layer, "var")
        self.log_prior, self.log_norm = _exact(layer, "log_prior"), _exact(layer, "log_norm")

    def reset(self):
        pass

    def process(self, x):
        d = ((x[:, None, :] - self.theta[None]) ** 2 / self.var[None]).sum(axis=2)
        return self.log_prior + (self.log_norm - 0.5 * d)


class _Mahalanobis:
    """EllipticEnvelope.score_samples: -(sqrt(d . (P d)))**2 with d = x - location, as scipy's cdist sums it."""

    def __init__(self, layer):
        self.location, self.precision = _exact(layer, "location"), _exact(layer, "precision")

    def reset(self):
        pass

    def process(self, x):
        out = np.empty((len(x), 1))
        for r, row in enumerate(x):
            d = row - self.location
            s = 0.0
            for i in range(len(d)):
                t = 0.0
                for j in range(len(d)):
                    t += d[j] * self.precision[i, j]
                s += d[i] * t
            out[r, 0] = -(np.sqrt(s) ** 2)
        return out


class _GaussianMixture:
    """GaussianMixture's weighted log probabilities as scikit-learn computes them for float32 X.

    full/tied: q = float32(sum((x @ prec_chol - mean_prec)**2)), then float32(c + q), c = F log(2 pi);
    diag: q = mean_quad - 2 (x @ mean_prec.T) + float32(x**2) @ prec.T;
    spherical: q = mean_quad - 2 (x @ means.T) prec + float32(sum of float32 x**2) prec;
    output: -0.5 (c + q) + log_det + log_weights.
    """

    def __init__(self, layer):
        self.cov, self.k = layer.params["covariance"], layer.params["components"]
        self.w = {key[:-3]: _exact(layer, key[:-3]) for key in layer.weights if key.endswith("_lo")}
        self.c = layer.params["features"] * np.log(2 * np.pi)

    def reset(self):
        pass

    def process(self, x):
        w, f32 = self.w, np.float32
        if self.cov in ("full", "tied"):
            chol = (w["prec_chol"] if self.cov == "full"
                    else np.broadcast_to(w["prec_chol"], (self.k, *w["prec_chol"].shape)))
            q = np.stack([((x @ chol[k] - w["mean_prec"][k]) ** 2).sum(axis=1) for k in range(self.k)], axis=1)
            half = -0.5 * (f32(self.c) + q.astype(f32)).astype(np.float64)
        else:
            if self.cov == "diag":
                q = (w["mean_quad"] - 2.0 * (x @ w["mean_prec"].T)
                     + (x.astype(f32) ** 2).astype(np.float64) @ w["prec"].T)
            else:
                norms = (x.astype(f32) ** 2).sum(axis=1, dtype=f32).astype(np.float64)
                q = w["mean_quad"] - 2 * (x @ w["means"].T * w["prec"]) + np.outer(norms, w["prec"])
            half = -0.5 * (self.c + q)
        return half + w["log_det"] + w["log_weights"]


def _pairwise_sum(v) -> float:
    """Return numpy's pairwise sum of a 1-D float64 array, added in the order np.add.reduce uses."""
    n = len(v)
    if n < 8:
        s = 0.0
        for value in v:
            s += value
        return s
    if n <= 128:
        r = list(v[:8])
        for i in range(8, n - n % 8, 8):
            r = [r[j] + v[i + j] for j in range(8)]
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for value in v[n - n % 8:]:
            s += value
        return s
    half = n // 2
    half -= half % 8
    return _pairwise_sum(v[:half]) + _pairwise_sum(v[half:])


def _heap_push(dist, index, v, j) -> None:
    """Offer (v, j) to a max-heap of k pairs as scikit-learn's heap_push: v >= the top is rejected."""
    if not v < dist[0]:
        return
    at, k = 0, len(dist)
    while True:
        left, right = 2 * at + 1, 2 * at + 2
        if left >= k:
            break
        if right >= k:
            nxt = left if dist[left] > v else -1
        elif dist[left] >= dist[right]:
            nxt = left if v < dist[left] else -1
        else:
            nxt = right if v < dist[right] else -1
        if nxt < 0:
            break
        dist[at], index[at] = dist[nxt], index[nxt]
        at = nxt
    dist[at], index[at] = v, j


def _insertion_sort(dist, index, lo, n) -> None:
    """Sort dist[lo:lo + n] (with index) in place, stably, by insertion."""
    for i in range(lo + 1, lo + n):
        d, t, j = dist[i], index[i], i
        while j > lo and dist[j - 1] > d:
            dist[j], index[j] = dist[j - 1], index[j - 1]
            j -= 1
        dist[j], index[j] = d, t


def _introsort(dist, index, lo, n, maxd) -> None:
    """Sort dist[lo:lo + n] (with index) in place as scikit-learn's introsort_2way."""
    def swap(i, j):
        dist[i], dist[j], index[i], index[j] = dist[j], dist[i], index[j], index[i]

    def sift(root, end):
        while True:
            child, top = 2 * root + 1, root
            if child < end and dist[lo + top] < dist[lo + child]:
                top = child
            if child + 1 < end and dist[lo + top] < dist[lo + child + 1]:
                top = child + 1
            if top == root:
                return
            swap(lo + root, lo + top)
            root = top

    while n > 15:
        if maxd <= 0:
            for i in range((n - 2) // 2, -1, -1):
                sift(i, n)
            for i in range(n - 1, 0, -1):
                swap(lo, lo + i)
                sift(0, i)
            return
        maxd -= 1
        last, mid = lo + n - 1, lo + n // 2
        if dist[lo] > dist[last]:
            swap(lo, last)
        if dist[last] > dist[mid]:
            swap(last, mid)
            if dist[lo] > dist[last]:
                swap(lo, last)
        pivot, i, j = dist[last], lo + 1, lo + n - 2
        while True:
            while i <= j and dist[i] < pivot:
                i += 1
            while i <= j and dist[j] > pivot:
                j -= 1
            if i >= j:
                break
            swap(i, j)
            i, j = i + 1, j - 1
        swap(i, last)
        _introsort(dist, index, lo, i - lo, maxd)
        n -= i + 1 - lo
        lo = i + 1
    _insertion_sort(dist, index, lo, n)


class _KNN:
    """KNeighborsClassifier's class votes, as trt_knn.h computes them (see its conventions).

    Surrogate distances per training row in visiting order: euclidean_gemm (|x|^2 - 2 x.y) + |y|^2
    floored at 0 (dot products summed feature by feature; the C uses fma, the same numbers when the
    training rows are float32 values), euclidean sum of squares, manhattan sum |d|, minkowski sum |d|^p;
    rows visited in order (brute force) or in scikit-learn's depth-first tree order (KD/ball tree:
    a node whose min_rdist exceeds the largest kept distance is skipped, the nearer child first,
    leaf rows in tree_index order); a k-slot max-heap that rejects ties with its top; neighbours
    sorted stably (brute force) or as simultaneous_sort (tree); weights 1 or 1/distance (distance
    0: those neighbours 1, the others 0); per class numpy's pairwise sum.
    """

    def __init__(self, layer):
        p = layer.params
        self.train, self.norms = _exact(layer, "train"), _exact(layer, "norms")
        self.labels = layer.weights["labels"].astype(np.int64)
        self.k, self.n_classes, self.metric, self.p = p["neighbors"], p["classes"], p["metric"], p["p"]
        self.weighted = p["weights"] == "distance"
        self.tree = p["tree"]
        if self.tree != "none":
            self.index = layer.weights["tree_index"].astype(np.int64)
            self.nodes = layer.weights["tree_nodes"].astype(np.int64).tolist()
            self.bounds = _exact(layer, "tree_bounds")
            self.radius = _exact(layer, "tree_radius") if self.tree == "ball_tree" else None

    def reset(self):
        pass

    def _rdist(self, x, train) -> np.ndarray:
        d = x[None, :] - train
        acc = np.zeros(len(train))
        for i in range(train.shape[1]):  # feature by feature, as the C sums
            if self.metric == "euclidean_gemm":
                acc = acc + x[i] * train[:, i]
            elif self.metric == "euclidean":
                acc = acc + d[:, i] * d[:, i]
            elif self.metric == "manhattan":
                acc = acc + np.abs(d[:, i])
            else:
                acc = acc + np.abs(d[:, i]) ** self.p
        if self.metric != "euclidean_gemm":
            return acc
        xn = 0.0
        for value in x:
            xn += value * value
        return np.maximum((xn + -2.0 * acc) + self.norms, 0.0)

    def _distance(self, r):
        if self.metric.startswith("euclidean"):
            return np.sqrt(r)
        return r ** (1.0 / self.p) if self.metric == "minkowski" else r

    def _min_rdist(self, x, i) -> float:
        """scikit-learn's min_rdist of query x to tree node i (KD: its bounding box; ball: its sphere)."""
        if self.tree == "ball_tree":
            s = max(0.0, float(self._distance(self._rdist(x, self.bounds[i:i + 1])[0])) - float(self.radius[i]))
            return s * s if self.metric == "euclidean" else (s if self.metric == "manhattan" else s ** self.p)
        q = {"euclidean": 2.0, "manhattan": 1.0}.get(self.metric, self.p)
        s = 0.0
        for j, value in enumerate(x.tolist()):
            lo, hi = float(self.bounds[0, i, j]) - value, value - float(self.bounds[1, i, j])
            s += (0.5 * ((lo + abs(lo)) + (hi + abs(hi)))) ** q
        return s

    def _search(self, x, dist, index) -> None:
        """Offer the training rows to the heap in scikit-learn's depth-first tree order."""
        stack = [(0, self._min_rdist(x, 0))]
        while stack:
            i, bound = stack.pop()
            if bound > dist[0]:
                continue
            start, end, leaf = self.nodes[i]
            if leaf:
                rows = self.index[start:end]
                for j, v in zip(rows.tolist(), self._rdist(x, self.train[rows]).tolist()):
                    _heap_push(dist, index, v, j)
                continue
            near, far = (2 * i + 1, self._min_rdist(x, 2 * i + 1)), (2 * i + 2, self._min_rdist(x, 2 * i + 2))
            if not near[1] <= far[1]:
                near, far = far, near
            stack += [far, near]

    def process(self, x):
        out = np.empty((len(x), self.n_classes))
        for r, row in enumerate(x):
            dist, index = [np.inf] * self.k, [0] * self.k
            if self.tree == "none":
                for j, v in enumerate(self._rdist(row, self.train).tolist()):
                    _heap_push(dist, index, v, j)
            else:
                self._search(row, dist, index)
            if self.tree == "none":
                _insertion_sort(dist, index, 0, self.k)
            else:
                _introsort(dist, index, 0, self.k, 2 * (self.k.bit_length() - 1))
            d = self._distance(np.array(dist))
            if not self.weighted:
                w = np.ones(self.k)
            elif (d == 0).any():
                w = (d == 0).astype(np.float64)
            else:
                w = 1.0 / d
            labels = self.labels[index]
            out[r] = [_pairwise_sum(np.where(labels == c, w, 0.0)) for c in range(self.n_classes)]
        return out


CLASSIC_STEPS = {"tree_ensemble": _TreeEnsemble, "scaler": _Scaler, "linear": _Linear, "gaussian_nb": _GaussianNB,
                 "mahalanobis": _Mahalanobis, "gaussian_mixture": _GaussianMixture, "knn": _KNN}
