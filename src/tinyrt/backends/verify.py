"""Prove a model on every engine: same numbers as the reference, split invariance, real-time safety."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DependencyError, InputError
from . import backend

TOLERANCE = 1e-5


def audio_signal(n: int, rate: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Return (n, channels) float32 audio-like test signal: a sine sweep, noise bursts, silence and
    clicks on channel 0, slow control-like curves on the others (knob inputs)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    span = max(t[-1], 1e-9)
    sweep = 0.5 * np.sin(2 * np.pi * 40.0 * ((1000.0 ** (t / span)) - 1) / np.log(1000.0) * span)
    burst = rng.normal(0, 0.3, n) * (np.sin(2 * np.pi * 1.5 * t) > 0.6)
    audio = np.clip(sweep * (t % 0.5 < 0.4) + burst, -1, 1)
    audio[:: max(1, int(rate) // 7)] = 0.9
    knobs = [rng.uniform(0, 1) + 0.1 * np.sin(2 * np.pi * 0.5 * t + c) for c in range(channels - 1)]
    return np.stack([audio] + knobs, axis=1).astype(np.float32)


def signal_frames(model, seconds: float, seed: int = 0) -> np.ndarray:
    """Return deterministic test input frames for a model (see audio_signal), a whole number of frames."""
    rate = model.sample_rate or 48000.0
    n = max(model.block_size, int(seconds * rate) // model.block_size * model.block_size)
    samples = audio_signal(n, rate, model.in_channels, seed)
    return samples.reshape(n // model.block_size, model.input_size)


def random_splits(n: int, rng, largest: int = 512) -> list:
    """Return random call sizes (1..largest frames, some single frames) that add up to n."""
    sizes, left = [], n
    while left:
        size = int(min(left, 1 if rng.random() < 0.2 else rng.integers(1, largest + 1)))
        sizes.append(size)
        left -= size
    return sizes


def run_split(engine, frames: np.ndarray, sizes: list) -> np.ndarray:
    """Return the engine's output for frames fed in calls of the given sizes, starting from reset."""
    engine.reset()
    out, t = [], 0
    for size in sizes:
        out.append(engine.process(frames[t:t + size]))
        t += size
    return np.concatenate(out)


@dataclass
class EngineResult:
    """What one engine did against the reference."""

    engine: str
    max_abs_error: float | None = None
    split_difference: float | None = None
    realtime: dict | None = None
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        """Return True when the engine agrees with the reference and keeps the real-time rules."""
        if self.skipped:
            return False
        ok = self.max_abs_error <= TOLERANCE and self.split_difference <= TOLERANCE
        if self.realtime is not None:
            ok = ok and self.realtime["passed"]
        return ok


@dataclass
class Report:
    """The verdict of ``verify`` for one model."""

    model: str
    frames: int
    results: list = field(default_factory=list)
    sensitivity: float | None = None  # reference output change for a 1e-7 input change, measured on failure

    @property
    def passed(self) -> bool:
        """Return True when every engine that could run passed (and at least one ran)."""
        ran = [r for r in self.results if not r.skipped]
        return bool(ran) and all(r.passed for r in ran)

    def table(self) -> str:
        """Return the report as a text table."""
        lines = [f"{self.model}: {self.frames} frames, tolerance {TOLERANCE:g} max abs vs the NumPy reference",
                 f"{'engine':<12} {'max abs err':>12} {'split diff':>12}  real-time (C)            verdict"]
        for r in self.results:
            if r.skipped:
                lines.append(f"{r.engine:<12} {'-':>12} {'-':>12}  {'-':<24} not run: {r.skipped}")
                continue
            rt = "-"
            if r.realtime is not None:
                rt = (f"heap {r.realtime['heap_calls']} lock {r.realtime['lock_calls']} "
                      f"sym {len(r.realtime['forbidden_symbols'])}")
            lines.append(f"{r.engine:<12} {r.max_abs_error:>12.2e} {r.split_difference:>12.2e}  {rt:<24} "
                         f"{'ok' if r.passed else 'FAILED'}")
        if self.sensitivity is not None and self.sensitivity > TOLERANCE:
            lines.append(f"note: the model itself amplifies rounding on this input: changing each input sample by "
                         f"1e-7 moves the float64 reference's output by up to {self.sensitivity:.1e}, so no float32 "
                         f"engine can match it here; prove it on the audio it is meant for (tinyrt check --audio).")
        return "\n".join(lines)

    def to_json(self) -> dict:
        """Return the report as JSON-ready data."""
        return {"model": self.model, "frames": self.frames, "tolerance": TOLERANCE, "passed": self.passed,
                "sensitivity": self.sensitivity,
                "engines": [{**r.__dict__, "passed": r.passed} for r in self.results]}


def verify(model, engines=("c", "onnxruntime", "torch"), seconds: float = 1.0, seed: int = 0,
           frames=None) -> Report:
    """Return a Report comparing each engine with the reference on test audio fed in random splits.

    ``frames`` ((T, input_size) float32) replaces the built-in test signal: a trained model is best
    proven on the kind of audio it was trained for, since far outside it a model can amplify float32
    rounding until any two float32 engines differ.
    """
    from .c.harness import check_realtime

    if frames is None:
        frames = signal_frames(model, seconds, seed)
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    if frames.ndim != 2 or frames.shape[1] != model.input_size:
        raise InputError(f"test frames for {model.name} must have shape (T, {model.input_size}), got {frames.shape}.")
    truth = backend(model, "reference").process(frames)
    rng = np.random.default_rng(seed + 1)
    report = Report(model.name, len(frames))
    for name in engines:
        try:
            engine = backend(model, name)
        except DependencyError as exc:
            report.results.append(EngineResult(name, skipped=str(exc)))
            continue
        whole = run_split(engine, frames, [len(frames)])
        split = run_split(engine, frames, random_splits(len(frames), rng))
        result = EngineResult(name, float(np.abs(split - truth).max()), float(np.abs(split - whole).max()))
        if name == "c":
            result.realtime = check_realtime(model)
        report.results.append(result)
    if any(not r.skipped and not r.passed for r in report.results):
        nudged = frames + np.float32(1e-7) * np.where(frames < 0, -1, 1).astype(np.float32)
        report.sensitivity = float(np.abs(backend(model, "reference").process(nudged) - truth).max())
    return report
