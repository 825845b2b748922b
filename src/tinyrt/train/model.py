"""The guitar-effect network: LSTM or GRU layers, a dense head and an optional input skip.

With model block size B the network reads B audio samples per step and writes B samples (the
Bela study's block-16 models); B = 1 is the classic sample-by-sample model. It is an ordinary
``nn.Module`` that ``tinyrt.from_torch`` imports, so a trained model runs on every engine.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig


class EffectModel(nn.Module):
    """Recurrent cell + dense head (+ input skip) over frames of ``block_size`` samples."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cell = nn.LSTM if cfg.cell == "lstm" else nn.GRU
        self.block_size, self.skip = cfg.block_size, cfg.skip
        self.rec = cell(cfg.block_size, cfg.hidden_size, cfg.num_layers, batch_first=True)
        self.lin = nn.Linear(cfg.hidden_size, cfg.block_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the output frames (batch, steps, block) for input frames of the same shape."""
        y, _ = self.rec(x)
        y = self.lin(y)
        if self.skip:
            y = y + x
        return y

    def stream(self, audio: torch.Tensor, state=None):
        """Return (output audio, state) for (batch, samples) audio continuing from state."""
        b = self.block_size
        x = audio.reshape(audio.shape[0], -1, b)
        y, state = self.rec(x, state)
        y = self.lin(y)
        if self.skip:
            y = y + x
        return y.reshape(audio.shape[0], -1), state


def detach(state):
    """Return the recurrent state cut from the autograd graph (truncated backprop)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
