"""Prove a model on every engine: same numbers as the reference, split invariance, real-time safety.

The tolerance follows the model. Every engine agreeing within TOLERANCE (1e-5, absolute) passes. When
one does not, ``verify`` measures how much the model itself amplifies float32 rounding: the float64
reference's largest output change when every input value moves by one float32 rounding step at unit
scale (float32 eps, random signs), the scale of the rounding a float32 engine makes in its state. An
engine passes when it stays within ROUNDING_MARGIN times that (a high-gain amp model whose rounding
reaches 1.35e-5 is fine), but never beyond MAX_RELATIVE of the output's RMS (-80 dB): a wrong weight
moves the output far more than that, so the relative tolerance cannot hide a real bug. A model whose
rounding response alone exceeds that ceiling is explained as such (prove it on its own audio).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DependencyError, InputError
from . import backend

TOLERANCE = 1e-5         # absolute: always enough
ROUNDING_MARGIN = 8.0    # times the model's own response to float32 rounding of its input
MAX_RELATIVE = 1e-4      # the tolerance never exceeds this fraction of the reference output's RMS
EPS32 = float(np.finfo(np.float32).eps)


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
    tolerance: float = TOLERANCE

    @property
    def passed(self) -> bool:
        """Return True when the engine agrees with the reference and keeps the real-time rules."""
        if self.skipped:
            return False
        ok = self.max_abs_error <= self.tolerance and self.split_difference <= self.tolerance
        if self.realtime is not None:
            ok = ok and self.realtime["passed"]
        return ok


@dataclass
class Report:
    """The verdict of ``verify`` for one model."""

    model: str
    frames: int
    results: list = field(default_factory=list)
    sensitivity: float | None = None  # reference output change for float32 rounding of the input, when measured
    output_rms: float | None = None
    tolerance: float = TOLERANCE

    @property
    def capped(self) -> bool:
        """Return True when the model's rounding response needed more than the MAX_RELATIVE ceiling."""
        return self.sensitivity is not None and ROUNDING_MARGIN * self.sensitivity > self.tolerance
    @property
    def passed(self) -> bool:
        """Return True when every engine that could run passed (and at least one ran)."""
        ran = [r for r in self.results if not r.skipped]
        return bool(ran) and all(r.passed for r in ran)

    def table(self) -> str:
        """Return the report as a text table."""
        how = "" if self.tolerance == TOLERANCE else (
            f" ({ROUNDING_MARGIN:g} x the model's float32 rounding response {self.sensitivity:.2e}"
            + (f", capped at {MAX_RELATIVE:g} x output RMS {self.output_rms:.3g}" if self.capped else "") + ")")
        lines = [f"{self.model}: {self.frames} frames, tolerance {self.tolerance:.3g}{how} max abs vs the NumPy "
                 f"reference",
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
        if self.capped:
            lines.append(f"note: the model itself amplifies rounding on this input: changing each input value by "
                         f"{EPS32:.1e} moves the float64 reference's output by up to {self.sensitivity:.1e}, so no "
                         f"float32 engine can match it here; prove it on the audio it is meant for "
                         f"(tinyrt check --audio).")
        return "\n".join(lines)

    def advice(self) -> str:
        """Return what to do about a failed check, in one sentence (empty when it passed)."""
        failed = [r for r in self.results if not r.skipped and not r.passed]
        if self.passed or not failed:
            return "" if self.passed else "no engine could run here; install one (see the table) and check again."
        worst = max(failed, key=lambda r: r.max_abs_error)
        if worst.realtime is not None and not worst.realtime["passed"] and worst.max_abs_error <= self.tolerance:
            return (f"the {worst.engine} engine broke the real-time rules (heap, lock or forbidden calls in its "
                    f"process call): that is a tinyrt bug; report it with the model file.")
        if self.capped:
            return ("the model amplifies float32 rounding on the built-in signal beyond what a check can tell from "
                    "a bug: prove it on the audio it is for with --audio FILE.wav (knobs with --param).")
        return (f"the {worst.engine} engine differs from the reference by {worst.max_abs_error:.2e}, more than "
                f"{ROUNDING_MARGIN:g} times what float32 rounding explains for this model ({self.tolerance:.2e}): "
                f"that is a real disagreement (a tinyrt bug or a damaged build cache: retry with TINYRT_CACHE set "
                f"to an empty folder), so report it with the model file and the --json report.")

    def to_json(self) -> dict:
        """Return the report as JSON-ready data."""
        return {"model": self.model, "frames": self.frames, "tolerance": self.tolerance, "passed": self.passed,
                "tolerance_floor": TOLERANCE, "rounding_margin": ROUNDING_MARGIN, "max_relative": MAX_RELATIVE,
                "sensitivity": self.sensitivity, "output_rms": self.output_rms,
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
    if any(not r.skipped and not r.passed for r in report.results):  # a tolerance that follows the model
        report.sensitivity, report.output_rms = rounding_response(model, frames, truth, seed)
        report.tolerance = max(TOLERANCE, min(ROUNDING_MARGIN * report.sensitivity,
                                              MAX_RELATIVE * report.output_rms))
        for r in report.results:
            r.tolerance = report.tolerance
    return report


def rounding_response(model, frames: np.ndarray, truth: np.ndarray, seed: int = 0) -> tuple:
    """Return (largest reference output change when each input value moves by float32 eps, output RMS)."""
    signs = np.random.default_rng(seed + 2).choice([-1.0, 1.0], size=frames.shape)
    nudged = frames.astype(np.float64) + EPS32 * signs
    moved = backend(model, "reference").process(nudged)
    return float(np.abs(moved - truth).max()), float(np.sqrt(np.mean(np.square(truth, dtype=np.float64))))
