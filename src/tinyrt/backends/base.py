"""The Backend interface every engine implements, and the audio-level call on top of it.

A backend loads a Model, keeps its streaming state, and processes frames:
``process(frames)`` maps (T, input_size) float32 to (T, output_size). ``reset()`` returns
the state to its initial value. An output that is not finite (a model that blew up) resets the
state, is zeroed from the first bad frame and counted in ``nonfinite_resets``. Any split of a signal
into calls gives the same output as one call. ``backend(audio, sample_rate)`` works on audio
samples (pedalboard style): it checks the sample rate and the values, groups samples into frames of ``block_size``, and
returns as many samples as it was given, delayed by ``latency`` = block_size - 1 samples.

Knobs: a model with knob inputs (``model.params``) reads, per sample, the audio then one value per
knob. Every engine keeps a value per knob (its default until ``set_param(name, value)``) and fills the
knob channels with it whenever it is given audio only: mono audio to the audio call, or frames of
``block_size`` values to ``process``. Audio with the knob values as extra channels (or full frames)
is used as given. The value is held constant from the call after ``set_param`` on (no smoothing:
the generated C's ``<name>_process_audio`` and the processor glide instead).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..ir.knobs import listing, resolve


class Backend:
    """Base class: subclasses implement ``_reset`` and ``_process`` on checked float32 frames."""

    name = "backend"
    dtype = np.float32

    def __init__(self, model):
        self.model = model.validate()
        self.latency = model.block_size - 1
        self.nonfinite_resets = 0  # calls whose output was not finite: state reset, output zeroed from there
        self._knob_values = np.array([k.default for k in model.params], dtype=np.float64)
        self._clear_adapter()

    @property
    def params(self) -> list:
        """Return the model's knobs (ir.knobs.Knob: index, name, minimum, maximum, default)."""
        return self.model.params

    def _knob_index(self, param) -> int:
        ks = self.model.params
        match = [k.index for k in ks if k.name == param] if isinstance(param, str) else \
            [int(param)] if isinstance(param, (int, np.integer)) and not isinstance(param, bool) \
            and 0 <= param < len(ks) else []
        if not match:
            raise InputError(f"{self.model.name} has no knob {param!r}; its knobs are "
                             f"{listing(self.model) or 'none'} (set them with set_param(name, value)).")
        return match[0]

    def set_param(self, param, value: float) -> None:
        """Set a knob (by name or index) to a value in its range; audio-only input then carries it."""
        index = self._knob_index(param)
        self._knob_values[index] = resolve(self.model, {self.model.params[index].name: value})[index]

    def get_param(self, param) -> float:
        """Return the value a knob (by name or index) holds."""
        return float(self._knob_values[self._knob_index(param)])

    def _with_knobs(self, audio: np.ndarray) -> np.ndarray:
        """Return (n, 1 + n_knobs) samples: the audio (n, 1) and the knob values in every row."""
        knobs = np.broadcast_to(self._knob_values.astype(audio.dtype), (len(audio), len(self._knob_values)))
        return np.concatenate([audio, knobs], axis=1)

    def _reset(self) -> None:
        raise NotImplementedError

    def _process(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def reset(self) -> None:
        """Return the model and the sample-to-frame adapter to their initial state."""
        self._reset()
        self._clear_adapter()

    def process(self, frames) -> np.ndarray:
        """Return output frames (T, output_size) for input frames (T, input_size), keeping state."""
        x = np.asarray(frames)
        m = self.model
        n_in, B, n_k = m.input_size, m.block_size, len(self._knob_values)
        if x.ndim == 1 and (n_in == 1 or (n_k and B == 1)):
            x = x[:, None]
        if n_k and x.ndim == 2 and x.shape[1] == B and x.dtype.kind in "iuf":  # audio only: add the knobs
            x = self._with_knobs(np.asarray(x, dtype=self.dtype).reshape(-1, 1)).reshape(len(x), n_in)
        if x.ndim != 2 or x.shape[1] != n_in:
            raise InputError(f"{self.model.name} expects frames of shape (T, {n_in}), got {x.shape}.")
        if x.dtype.kind not in "iuf":
            raise InputError(f"{self.model.name} expects real numbers, got an array of {x.dtype}.")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.isfinite(x).all():
            raise InputError(f"the input to {self.model.name} contains NaN or infinite values.")
        if len(x) == 0:
            return np.zeros((0, self.model.output_size), dtype=self.dtype)
        y = self._process(x)
        bad = ~np.isfinite(y).all(axis=1)
        if bad.any():  # a model that blew up: start it again from its initial state rather than poison every call
            y[int(np.argmax(bad)):] = 0.0
            self._reset()
            self.nonfinite_resets += 1
        return y

    def _clear_adapter(self) -> None:
        m = self.model
        self._pending = np.zeros((0, m.in_channels), dtype=self.dtype)
        self._queue = np.zeros((self.latency, m.out_channels), dtype=self.dtype)

    def __call__(self, audio, sample_rate=None, reset: bool = False) -> np.ndarray:
        """Return processed audio, as many samples as given: (n,) for mono, else (n, channels)."""
        m = self.model
        if sample_rate is not None and m.sample_rate is not None and float(sample_rate) != m.sample_rate:
            raise InputError(f"{m.name} runs at {m.sample_rate:g} Hz but the audio is at {float(sample_rate):g} Hz; "
                             f"resample the audio first (tinyrt.audio.resample(audio, {float(sample_rate):g}, "
                             f"{m.sample_rate:g})).")
        a = np.asarray(audio)
        if a.dtype.kind not in "iuf":
            raise InputError(f"{m.name} takes audio as real numbers, got {a.dtype} values.")
        if a.ndim == 1:
            a = a[:, None]
        if self._knob_values.size and a.ndim == 2 and a.shape[1] == 1:
            a = self._with_knobs(a.astype(self.dtype))
        if self._knob_values.size and (a.ndim != 2 or a.shape[1] != m.in_channels):
            where = "channel 2" if m.in_channels == 2 else f"channels 2..{m.in_channels}"
            raise InputError(f"{m.name} takes mono audio shaped (samples,) with its knobs ({listing(m)}) set by "
                             f"set_param(name, value) or keywords (model(audio, sr, name=value)), or "
                             f"(samples, {m.in_channels}) with the knob values as {where}; "
                             f"got shape {np.shape(audio)}.")
        if a.ndim != 2 or a.shape[1] != m.in_channels:
            raise InputError(f"{m.name} takes {m.in_channels}-channel audio shaped (samples,) or "
                             f"(samples, {m.in_channels}), got {np.shape(audio)}.")
        if not np.all(np.isfinite(a)):
            raise InputError(f"the audio given to {m.name} contains NaN or infinite values.")
        if reset:
            self.reset()
        n, B = len(a), m.block_size
        buf = np.concatenate([self._pending, a.astype(self.dtype)], axis=0)
        n_frames = len(buf) // B
        self._pending = buf[n_frames * B:]
        if n_frames:
            y = self.process(buf[:n_frames * B].reshape(n_frames, m.input_size))
            self._queue = np.concatenate([self._queue, y.reshape(n_frames * B, m.out_channels)], axis=0)
        out, self._queue = self._queue[:n], self._queue[n:]
        return out[:, 0].copy() if m.out_channels == 1 else out.copy()


def audio_call(model, audio, sample_rate=None, engine: str = "reference", knobs=None) -> np.ndarray:
    """Return the model's output for audio on an engine with knob values, latency removed (Model.__call__)."""
    from . import backend
    resolve(model, knobs or {})  # an unknown knob or a value out of range, in the keywords' terms
    runner = backend(model, engine)
    for name, value in (knobs or {}).items():
        runner.set_param(name, value)
    a = np.asarray(audio)
    if a.dtype.kind not in "iuf":
        raise InputError(f"{model.name} takes audio as real numbers, got {a.dtype} values.")
    tail = np.zeros((runner.latency,) + a.shape[1:], dtype=a.dtype)
    return runner(np.concatenate([a, tail]), sample_rate)[runner.latency:]
