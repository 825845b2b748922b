"""Make the replay test cases of this folder (run once; the files are committed): small 48 kHz 16-bit recordings
of plucks, strums and body hits from tinyrt's guitar synthesizer at known times, their annotation CSVs, and the
tiny classifier the device runs on them (a decision tree on the event worker's mean log-mel features).

    PYTHONPATH=src python tests/data/replay/make_cases.py

Each case is a TOML file (see test_replay.py); the recordings and CSVs it names are made here, the TOML files
are written by hand. Deterministic: the same audio and model every run (for one NumPy/SciPy/scikit-learn; the
model file's zip timestamps aside).
"""
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from tinyrt.data.synth import CHORDS, guitar_body, note_frequency, pluck
from tinyrt.rt.events import event_features

HERE = Path(__file__).resolve().parent
SR = 48000
WIN = 4800          # the device's window: 100 ms from the onset (the event engine's default)
CLASSES = ("hit", "pluck", "strum")


def make_pluck(rng, seconds=0.5):
    s, f = int(rng.integers(1, 7)), int(rng.integers(0, 13))
    y = pluck(note_frequency(s, f), seconds, SR, velocity=rng.uniform(0.4, 0.95),
              pick_position=rng.uniform(0.1, 0.3), brightness=rng.uniform(0.3, 0.7), seed=int(rng.integers(1 << 30)))
    return guitar_body(y, SR)


def make_strum(rng, seconds=0.5):
    shape = CHORDS[list(CHORDS)[int(rng.integers(len(CHORDS)))]]
    gap = int(rng.uniform(0.006, 0.012) * SR)
    y = np.zeros(int(seconds * SR))
    k = 0
    for string, fret in zip((6, 5, 4, 3, 2, 1), shape):
        if fret is None:
            continue
        n = pluck(note_frequency(string, fret), seconds, SR, velocity=rng.uniform(0.5, 0.9),
                  seed=int(rng.integers(1 << 30)))
        y[k * gap:] += n[:len(y) - k * gap]
        k += 1
    return guitar_body(y, SR)


def make_hit(rng, seconds=0.5):
    n = int(seconds * SR)
    t = np.arange(n) / SR
    noise = rng.standard_normal(n) * np.exp(-t / rng.uniform(0.004, 0.012))
    thump = np.sin(2 * np.pi * rng.uniform(90, 130) * t) * np.exp(-t / rng.uniform(0.03, 0.06))
    return guitar_body(0.5 * noise + thump, SR)


MAKERS = {"hit": make_hit, "pluck": make_pluck, "strum": make_strum}


def scale(y, rng, lo=0.3, hi=0.8):
    return y * (rng.uniform(lo, hi) / np.abs(y).max())


def classifier(seed=100, per_class=60):
    """Train the decision tree on event windows like the device's (the start jittered by the detector's hop, later
    into a strum, over the tail of an earlier event) and save it."""
    from sklearn.tree import DecisionTreeClassifier

    from tinyrt.frontends.sklearn import to_ir
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for label in CLASSES:
        for _ in range(per_class):
            y = np.concatenate([np.zeros(256), scale(MAKERS[label](rng, 0.2), rng)])
            back = MAKERS[CLASSES[int(rng.integers(3))]](rng, 0.5)[-len(y):]
            y = y + scale(back, rng, 0.0, 0.3) + rng.standard_normal(len(y)) * 1e-3
            start = 256 + int(rng.integers(-128, 640 if label == "strum" else 128))
            feats.append(event_features(y[start:start + WIN].astype(np.float32), SR))
            labels.append(label)
    tree = DecisionTreeClassifier(max_depth=5, random_state=0).fit(np.array(feats), labels)
    model = to_ir(tree, "replay-cases")
    model.sample_rate = float(SR)
    model.save(HERE / "classifier.tinyrt")
    return tree


def write_case(name, events, seconds=2.0, seed=0, noise=1e-3):
    """Write NAME.wav (16-bit) and NAME.csv (time,label) of (time in s, label) events."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * SR)) * noise
    for t, label in events:
        y = scale(MAKERS[label](rng, min(0.6, seconds - t)), rng)
        i = int(round(t * SR))
        x[i:i + len(y)] += y[:len(x) - i]
    x = np.clip(x, -1, 1)
    wavfile.write(HERE / f"{name}.wav", SR, (x * 32767).astype(np.int16))
    (HERE / f"{name}.csv").write_text("time,label\n" + "".join(f"{t:.4f},{lab}\n" for t, lab in events))


def main():
    classifier()
    write_case("plucks", [(0.15, "pluck"), (0.5, "pluck"), (0.85, "pluck"), (1.2, "pluck"), (1.55, "pluck")], seed=1)
    write_case("mixed", [(0.1, "pluck"), (0.4, "strum"), (0.7, "hit"), (1.0, "pluck"), (1.3, "hit"), (1.6, "strum")],
               seed=2)
    write_case("close", [(0.1, "hit"), (0.17, "pluck"), (0.5, "strum"), (0.58, "hit"), (1.0, "pluck"),
                         (1.4, "hit")], seconds=1.7, seed=3)
    rng = np.random.default_rng(4)
    wavfile.write(HERE / "rate44k.wav", 44100, (scale(make_pluck(rng, 0.4), rng) * 32767).astype(np.int16))
    wavfile.write(HERE / "silence.wav", SR, np.zeros(SR // 4, np.int16))


if __name__ == "__main__":
    main()
