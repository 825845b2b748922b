"""The NumPy reference runner: every IR layer written for clarity, in float64.

This is the numerical truth the C, ONNX Runtime and torch backends are tested against.
Each step object keeps its own streaming state; ``process`` takes frames of shape
(T, in_features) and returns (T, out_features), and calls may split a signal anywhere.
"""
from __future__ import annotations

import numpy as np
from scipy.special import erf


def sigmoid(x):
    """Return the logistic function of x."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def activate(function: str, x, alpha: float = 1.0, weight=None):
    """Return ``function`` applied to x (T, features)."""
    if function == "tanh":
        return np.tanh(x)
    if function == "relu":
        return np.maximum(x, 0.0)
    if function == "sigmoid":
        return sigmoid(x)
    if function == "softsign":
        return x / (1.0 + np.abs(x))
    if function == "elu":
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    if function == "prelu":
        return np.where(x >= 0, x, weight * x)
    if function == "silu":
        return x * sigmoid(x)
    if function == "gelu":
        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    if function == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if function == "identity":
        return x
    raise ValueError(function)


def _w(layer, key):
    return layer.weights[key].astype(np.float64)


class _Dense:
    def __init__(self, layer):
        self.w = _w(layer, "weight")
        self.b = _w(layer, "bias") if layer.params["bias"] else 0.0

    def reset(self):
        pass

    def process(self, x):
        return x @ self.w.T + self.b


class _Recurrent:
    """Shared by LSTM and GRU: per sub-layer weights and initial state."""

    def __init__(self, layer, gates):
        p = layer.params
        self.h_size, self.n = p["hidden_size"], p["num_layers"]
        zero = np.zeros(gates * self.h_size)
        self.w_ih = [_w(layer, f"weight_ih_l{k}") for k in range(self.n)]
        self.w_hh_t = [_w(layer, f"weight_hh_l{k}").T.copy() for k in range(self.n)]
        self.b_ih = [_w(layer, f"bias_ih_l{k}") if p["bias"] else zero for k in range(self.n)]
        self.b_hh = [_w(layer, f"bias_hh_l{k}") if p["bias"] else zero for k in range(self.n)]
        zeros = np.zeros((self.n, self.h_size))
        self.h0 = _w(layer, "h0") if "h0" in layer.weights else zeros
        self.c0 = _w(layer, "c0") if "c0" in layer.weights else zeros
        self.reset()

    def reset(self):
        self.h = self.h0.copy()
        self.c = self.c0.copy()


class _LSTM(_Recurrent):
    def __init__(self, layer):
        super().__init__(layer, 4)

    def process(self, x):
        H = self.h_size
        for k in range(self.n):
            xp = x @ self.w_ih[k].T + (self.b_ih[k] + self.b_hh[k])
            whh, h, c = self.w_hh_t[k], self.h[k].copy(), self.c[k].copy()
            y = np.empty((len(x), H))
            for t in range(len(x)):
                g = xp[t] + h @ whh
                s = 1.0 / (1.0 + np.exp(-g))  # sigmoid of all four gates; only i, f, o use it
                c = s[H:2 * H] * c + s[:H] * np.tanh(g[2 * H:3 * H])
                h = s[3 * H:] * np.tanh(c)
                y[t] = h
            self.h[k], self.c[k] = h, c
            x = y
        return x


class _GRU(_Recurrent):
    def __init__(self, layer):
        super().__init__(layer, 3)

    def process(self, x):
        H = self.h_size
        for k in range(self.n):
            xp = x @ self.w_ih[k].T + self.b_ih[k]
            whh, bhh, h = self.w_hh_t[k], self.b_hh[k], self.h[k].copy()
            y = np.empty((len(x), H))
            for t in range(len(x)):
                hp = h @ whh + bhh
                rz = 1.0 / (1.0 + np.exp(-(xp[t, :2 * H] + hp[:2 * H])))
                n = np.tanh(xp[t, 2 * H:] + rz[:H] * hp[2 * H:])
                h = n + rz[H:] * (h - n)  # (1 - z) * n + z * h
                y[t] = h
            self.h[k] = h
            x = y
        return x


class _Conv1d:
    """Causal conv1d: the last (kernel-1)*dilation input frames are the state."""

    def __init__(self, layer):
        p = layer.params
        self.w = _w(layer, "weight")  # (out, in/groups, K)
        self.b = _w(layer, "bias") if p["bias"] else np.zeros(p["out_channels"])
        self.k, self.d, self.g = p["kernel_size"], p["dilation"], p["groups"]
        self.c_in, self.c_out = p["in_channels"], p["out_channels"]
        self.history = (self.k - 1) * self.d
        self.reset()

    def reset(self):
        self.state = np.zeros((self.history, self.c_in))

    def process(self, x):
        xp = np.concatenate([self.state, x], axis=0)
        T = len(x)
        y = np.tile(self.b, (T, 1))
        gi, go = self.c_in // self.g, self.c_out // self.g
        for g in range(self.g):
            xs = xp[:, g * gi:(g + 1) * gi]
            for k in range(self.k):
                tap = xs[k * self.d:k * self.d + T]
                y[:, g * go:(g + 1) * go] += tap @ self.w[g * go:(g + 1) * go, :, k].T
        if self.history:
            self.state = xp[len(xp) - self.history:]
        return y


class _Activation:
    def __init__(self, layer):
        p = layer.params
        self.function, self.alpha = p["function"], p["alpha"]
        self.weight = _w(layer, "weight") if p["function"] == "prelu" else None

    def reset(self):
        pass

    def process(self, x):
        return activate(self.function, x, self.alpha, self.weight)


class _BatchNorm:
    def __init__(self, layer):
        scale = _w(layer, "weight") / np.sqrt(_w(layer, "running_var") + layer.params["eps"])
        self.scale, self.shift = scale, _w(layer, "bias") - _w(layer, "running_mean") * scale

    def reset(self):
        pass

    def process(self, x):
        return x * self.scale + self.shift


class _Residual:
    def __init__(self, layer):
        self.body = [make_step(s) for s in layer.layers]
        self.n_out = layer.out_features

    def reset(self):
        for s in self.body:
            s.reset()

    def process(self, x):
        y = x
        for s in self.body:
            y = s.process(y)
        return y + x[:, :self.n_out]


class _Gain:
    def __init__(self, layer):
        self.gain = float(layer.params["gain"])

    def reset(self):
        pass

    def process(self, x):
        return x * self.gain


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
            chol = w["prec_chol"] if self.cov == "full" else np.broadcast_to(w["prec_chol"], (self.k, *w["prec_chol"].shape))
            q = np.stack([((x @ chol[k] - w["mean_prec"][k]) ** 2).sum(axis=1) for k in range(self.k)], axis=1)
            half = -0.5 * (f32(self.c) + q.astype(f32)).astype(np.float64)
        else:
            if self.cov == "diag":
                q = w["mean_quad"] - 2.0 * (x @ w["mean_prec"].T) + (x.astype(f32) ** 2).astype(np.float64) @ w["prec"].T
            else:
                norms = (x.astype(f32) ** 2).sum(axis=1, dtype=f32).astype(np.float64)
                q = w["mean_quad"] - 2 * (x @ w["means"].T * w["prec"]) + np.outer(norms, w["prec"])
            half = -0.5 * (self.c + q)
        return half + w["log_det"] + w["log_weights"]


_STEPS = {"dense": _Dense, "lstm": _LSTM, "gru": _GRU, "conv1d": _Conv1d,
          "activation": _Activation, "batchnorm": _BatchNorm, "residual": _Residual, "gain": _Gain,
          "tree_ensemble": _TreeEnsemble, "scaler": _Scaler, "linear": _Linear, "gaussian_nb": _GaussianNB,
          "mahalanobis": _Mahalanobis, "gaussian_mixture": _GaussianMixture}


def make_step(layer):
    """Return the reference implementation of one layer."""
    return _STEPS[layer.type](layer)


class ReferenceRunner:
    """Runs a Model frame by frame in float64, keeping state across calls until reset()."""

    def __init__(self, model):
        model.validate()
        self.model = model
        self.steps = [make_step(layer) for layer in model.layers]

    def reset(self) -> None:
        """Return every layer to its initial state."""
        for s in self.steps:
            s.reset()

    def process(self, frames) -> np.ndarray:
        """Return the model's output frames (T, output_size) in float64 for input frames (T, input_size)."""
        x = np.asarray(frames, dtype=np.float64).reshape(-1, self.model.input_size)
        for s in self.steps:
            x = s.process(x)
        return x
