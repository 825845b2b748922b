"""Accuracy of each engine's output: against the float64 reference and against a target.

Audio models are scored by error measures (ESR, MSE, largest absolute difference); classifiers
(given one label per frame) by the accuracy and macro-averaged F1 of the arg-max of their outputs,
and by how often their class agrees with the reference's.
"""
from __future__ import annotations

import numpy as np

from ..audio.metrics import esr, mse
from ..errors import InputError


def audio_frames(model, audio, sample_rate: float, what: str = "input") -> np.ndarray:
    """Return audio (samples, or samples x channels) as the model's frames, whole frames only."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] != model.in_channels:
        raise InputError(f"the {what} audio has {a.shape[1] if a.ndim == 2 else a.ndim} channel(s) but "
                         f"{model.name} takes {model.in_channels}.")
    if not np.isfinite(a).all():
        raise InputError(f"the {what} audio contains NaN or infinite samples.")
    n = len(a) // model.block_size * model.block_size
    if n < model.block_size:
        raise InputError(f"the {what} audio is shorter than one {model.block_size}-sample model block.")
    return a[:n].reshape(n // model.block_size, model.input_size)


def feature_frames(model, features) -> np.ndarray:
    """Return a (frames, input_size) float32 feature array checked against the model's input size."""
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != model.input_size:
        raise InputError(f"the features must be a (frames, {model.input_size}) array for {model.name}, "
                         f"got shape {x.shape}.")
    if not np.isfinite(x).all():
        raise InputError("the features contain NaN or infinite values.")
    return x


def error_measures(output: np.ndarray, truth: np.ndarray) -> dict:
    """Return ESR, MSE and the largest absolute difference of output against truth (same shape)."""
    o, t = np.asarray(output, np.float64).ravel(), np.asarray(truth, np.float64).ravel()
    return {"esr": esr(o, t), "mse": mse(o, t), "max_abs": float(np.max(np.abs(o - t)))}


def macro_f1(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Return the F1 score averaged over the classes present in labels or predictions."""
    scores = []
    for c in np.union1d(predicted, labels):
        tp = np.count_nonzero((predicted == c) & (labels == c))
        fp = np.count_nonzero((predicted == c) & (labels != c))
        fn = np.count_nonzero((predicted != c) & (labels == c))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return float(np.mean(scores))


def classifier_measures(output: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict:
    """Return accuracy, macro F1 and agreement with the reference of the arg-max class per frame."""
    predicted, expected = np.argmax(output, axis=1), np.argmax(reference, axis=1)
    return {"accuracy": float(np.mean(predicted == labels)), "f1_macro": macro_f1(predicted, labels),
            "agreement_with_reference": float(np.mean(predicted == expected))}


def check_labels(model, labels, frames: int) -> np.ndarray:
    """Return labels as integers, one per frame, each a valid output index of the model."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != frames:
        raise InputError(f"give one label per frame: {frames} frames but labels of shape {y.shape}.")
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= model.output_size:
        raise InputError(f"labels must be class indices 0..{model.output_size - 1} (the model's outputs).")
    return y.astype(np.int64)


def score(output: np.ndarray, reference: np.ndarray, target=None, labels=None) -> dict:
    """Return an engine's accuracy: vs the reference always, vs the target audio or labels when given."""
    result = {"vs_reference": error_measures(output, reference)}
    if target is not None:
        result["vs_target"] = error_measures(output, target)
    if labels is not None:
        result["classes"] = classifier_measures(output, reference, labels)
    return result
