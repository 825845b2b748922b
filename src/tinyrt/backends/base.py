"""The Backend interface every engine implements, and the audio-level call on top of it.

A backend loads a Model, keeps its streaming state, and processes frames:
``process(frames)`` maps (T, input_size) float32 to (T, output_size). ``reset()`` returns
the state to its initial value. An output that is not finite (a model that blew up) resets the
state, is zeroed from the first bad frame and counted in ``nonfinite_resets``. Any split of a signal
into calls gives the same output as one call. ``backend(audio, sample_rate)`` works on audio
samples (pedalboard style): it checks the sample rate and the values, groups samples into frames of ``block_size``, and
returns as many samples as it was given, delayed by ``latency`` = block_size - 1 samples.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError


class Backend:
    """Base class: subclasses implement ``_reset`` and ``_process`` on checked float32 frames."""

    name = "backend"
    dtype = np.float32

    def __init__(self, model):
        self.model = model.validate()
        self.latency = model.block_size - 1
        self.nonfinite_resets = 0  # calls whose output was not finite: state reset, output zeroed from there
        self._clear_adapter()

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
        n_in = self.model.input_size
        if x.ndim == 1 and n_in == 1:
            x = x[:, None]
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
                             f"resample the audio first.")
        a = np.asarray(audio)
        if a.dtype.kind not in "iuf":
            raise InputError(f"{m.name} takes audio as real numbers, got {a.dtype} values.")
        if a.ndim == 1:
            a = a[:, None]
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
