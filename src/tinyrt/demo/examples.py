"""`tinyrt examples DIR`: every file the README's examples read, made here (nothing is downloaded).

``EXAMPLES`` is the one list: a file's path (relative to DIR), what it is, and the function that writes
it. A README example that reads a new file needs one entry here; tests/test_readme.py runs every shell
and Python block of the README in a folder this module filled, and names the file a failing block
needed when it is not in this list.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from ..audio.io import write_wav
from ..bench import models as R
from ..data.effects import apply_effect
from ..data.synth import guitar_track
from ..files import write_text

RATE = 48000

# The README's training configuration, as printed there (a test keeps the two the same).
OVERDRIVE_TOML = '''# overdrive.toml
name = "overdrive_lstm16"
sample_rate = 48000          # the pair is resampled to this rate if needed
seed = 0

[data]
kind = "fragments"           # one long clean track and its processed take, cut into 1 s fragments
clean = "takes/dry.wav"      # paths relative to this file
target = "takes/pedal.wav"
# kind = "notes"; root = "EGFxSet"; effect = "TubeScreamer"   # paired note files instead

[model]
cell = "lstm"                # or "gru"
hidden_size = 16
num_layers = 1
block_size = 1               # samples in and out per step; 16 as in the Bela study
skip = true                  # add the input to the output

[loss]
esr = 0.75                   # pre-emphasised error-to-signal ratio
dc = 0.25
pre_emphasis = 0.85
stft = 0.0                   # multi-resolution STFT loss weight, off by default

[train]
max_minutes = 5              # time budget (0: no limit); also epochs, early_stop
batch_size = 16
tbptt = 2048                 # samples per truncated-backprop step
warmup = 1000                # samples run before each sequence without training on them
learning_rate = 5e-3
'''


def _guitar(seconds: float, seed: int) -> np.ndarray:
    return guitar_track(seconds, RATE, seed).astype(np.float32)


def _pair(clean_path: str, target_path: str, seconds: float, seed: int, effect: str = "overdrive"):
    def write(root: Path) -> list:
        clean = _guitar(seconds, seed)
        return [write_wav(root / clean_path, clean, RATE),
                write_wav(root / target_path, apply_effect(effect, clean, RATE), RATE)]
    return write


def _wav(seconds: float, seed: int):
    return lambda root, path: write_wav(root / path, _guitar(seconds, seed), RATE)


def _knob_track(root: Path, path: str) -> Path:
    audio = _guitar(2.0, 3)
    knob = np.linspace(0.0, 1.0, len(audio), dtype=np.float32)   # the gain knob turned up over the take
    return write_wav(root / path, np.stack([audio, knob], axis=1), RATE)


def _effect(cell: str, hidden: int, name: str, block: int = 1, seed: int = 0):
    def write(root: Path, path: str) -> Path:
        model = R.effect_model(np.random.default_rng(seed), cell, hidden, block_size=block, skip=True)
        model.name = name
        return model.save(root / path)
    return write


def _nam_lstm(root: Path, path: str, hidden: int = 4) -> Path:
    """A Neural Amp Modeler LSTM capture (NAM's JSON layout; small random weights)."""
    rng = np.random.default_rng(7)
    count = 4 * hidden * (1 + hidden) + 4 * hidden + 2 * hidden + hidden + 1
    doc = {"version": "0.5.4", "architecture": "LSTM",
           "config": {"input_size": 1, "hidden_size": hidden, "num_layers": 1},
           "weights": (0.3 * rng.standard_normal(count)).tolist(), "sample_rate": 48000,
           "metadata": {"name": "Example amp", "gear_type": "amp"}}
    return write_text(root / path, json.dumps(doc))


def _classifier_data(root: Path) -> tuple:
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=600, n_features=16, n_informative=10, random_state=0)
    return X.astype(np.float32), y.astype(np.int64)


def _forest(root: Path, path: str) -> Path:
    """A scikit-learn random forest pickled as users save theirs, fitted on X.npy / y.npy."""
    from sklearn.ensemble import RandomForestClassifier
    X, y = _classifier_data(root)
    forest = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(X, y)
    (root / path).write_bytes(pickle.dumps(forest))
    return root / path


def _classifier(root: Path, path: str) -> Path:
    from ..frontends.sklearn import to_ir
    forest = pickle.loads((root / "forest.pkl").read_bytes())
    to_ir(forest, "classifier").save(root / path)
    return root / path


def _array(which: str):
    def write(root: Path, path: str) -> Path:
        X, y = _classifier_data(root)
        np.save(root / path, {"X": X, "y": y, "samples": X[:100]}[which])
        return root / path
    return write


def _files(writer):
    """Adapt a writer of several files (root -> paths) to the (root, path) form of EXAMPLES."""
    return lambda root, path: writer(root)


# path (relative to the folder) -> (what it is, writer(root, path)); written in this order.
EXAMPLES = {
    "guitar.wav": ("3 s of synthesised guitar, mono, 48 kHz", _wav(3.0, 1)),
    "take.wav": ("2 s of synthesised guitar (features, the event classifier)", _wav(2.0, 2)),
    "take_with_knob_track.wav": ("guitar in channel 1, a gain knob track 0..1 in channel 2", _knob_track),
    "dry.wav": ("3 s of guitar, clean", _files(_pair("dry.wav", "wet.wav", 3.0, 4))),
    "wet.wav": ("dry.wav through the built-in overdrive", lambda root, path: root / path),
    "dry2.wav": ("another clean guitar take", _files(_pair("dry2.wav", "pedal2.wav", 4.0, 5))),
    "pedal2.wav": ("dry2.wav through the built-in overdrive", lambda root, path: root / path),
    "takes/dry.wav": ("20 s of clean guitar: the training pair of overdrive.toml",
                      _files(_pair("takes/dry.wav", "takes/pedal.wav", 20.0, 6))),
    "takes/pedal.wav": ("takes/dry.wav through the built-in overdrive", lambda root, path: root / path),
    "overdrive.toml": ("the README's training configuration", lambda root, path: write_text(root / path,
                                                                                           OVERDRIVE_TOML)),
    "capture.nam": ("a Neural Amp Modeler LSTM capture (JSON, random weights)", _nam_lstm),
    "pedal.tinyrt": ("an LSTM-16 effect (untrained)", _effect("lstm", 16, "pedal")),
    "clean.tinyrt": ("an LSTM-4 effect for the live host (untrained)", _effect("lstm", 4, "clean", seed=1)),
    "fuzz.tinyrt": ("an LSTM-8 effect for the live host (untrained)", _effect("lstm", 8, "fuzz", seed=2)),
    "fx.tinyrt": ("an LSTM-8 effect for the live host with the classifier", _effect("lstm", 8, "fx", seed=3)),
    "amp.tinyrt": ("an LSTM-8 effect at model block 1", _effect("lstm", 8, "amp", seed=4)),
    "amp_b16.tinyrt": ("the same effect at model block 16", _effect("lstm", 16, "amp_b16", block=16, seed=4)),
    "X.npy": ("600 x 16 float32 features (scikit-learn's make_classification)", _array("X")),
    "y.npy": ("the 600 class labels of X.npy", _array("y")),
    "samples.npy": ("the first 100 rows of X.npy", _array("samples")),
    "forest.pkl": ("a pickled scikit-learn RandomForestClassifier fitted on X.npy, y.npy", _forest),
    "classifier.tinyrt": ("forest.pkl converted to the IR", _classifier),
}


def write_examples(folder) -> dict:
    """Write every file of EXAMPLES into folder (created if needed); return {path: description}."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    for path, (_, writer) in EXAMPLES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        writer(root, path)
    missing = [p for p in EXAMPLES if not (root / p).is_file()]
    if missing:   # a writer that forgot its file is a bug here, not the user's mistake
        raise RuntimeError(f"tinyrt examples did not write {', '.join(missing)}")
    return {p: d for p, (d, _) in EXAMPLES.items()}
