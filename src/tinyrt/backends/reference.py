"""The NumPy reference runner behind the Backend interface (float64: the numerical truth)."""
from __future__ import annotations

import numpy as np

from .base import Backend


class ReferenceBackend(Backend):
    """Runs the IR with the clear float64 NumPy implementation of every layer."""

    name = "reference"
    dtype = np.float64

    def __init__(self, model):
        super().__init__(model)
        self.runner = model.reference()

    def _reset(self) -> None:
        self.runner.reset()

    def _process(self, frames: np.ndarray) -> np.ndarray:
        return self.runner.process(frames)
