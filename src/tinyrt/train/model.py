"""The guitar-effect network: LSTM or GRU layers, a dense head and an optional input skip.

With model block size B the network reads B audio samples per step and writes B samples (the
Bela study's block-16 models); B = 1 is the classic sample-by-sample model. It is an ordinary
``nn.Module`` that ``tinyrt.from_torch`` imports, so a trained model runs on every engine.

With ``n_knobs`` > 0 (one sample per step) each step reads ``[audio, knob values...]`` and the
skip adds only the audio; ``to_ir`` writes that model as IR directly.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig


class EffectModel(nn.Module):
    """Recurrent cell + dense head (+ input skip) over frames of ``block_size`` samples."""

    def __init__(self, cfg: ModelConfig, n_knobs: int = 0):
        super().__init__()
        cell = nn.LSTM if cfg.cell == "lstm" else nn.GRU
        self.block_size, self.skip, self.n_knobs, self.cell = cfg.block_size, cfg.skip, n_knobs, cfg.cell
        self.rec = cell(cfg.block_size + n_knobs, cfg.hidden_size, cfg.num_layers, batch_first=True)
        self.lin = nn.Linear(cfg.hidden_size, cfg.block_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the output frames (batch, steps, block) for input frames of the same shape."""
        y, _ = self.rec(x)
        y = self.lin(y)
        if self.skip:
            y = y + x
        return y

    def stream(self, audio: torch.Tensor, state=None):
        """Return (output audio, state) for (batch, samples) audio, or (batch, samples, 1 + knobs) frames."""
        b = self.block_size
        if self.n_knobs:
            x = audio
            y, state = self.rec(x, state)
            y = self.lin(y)
            if self.skip:
                y = y + x[..., :1]
            return y.reshape(audio.shape[0], -1), state
        x = audio.reshape(audio.shape[0], -1, b)
        y, state = self.rec(x, state)
        y = self.lin(y)
        if self.skip:
            y = y + x
        return y.reshape(audio.shape[0], -1), state

    def to_ir(self, name: str, sample_rate: float, params: list):
        """Return the IR of a knob-conditioned network: recurrent stack, dense head, audio skip."""
        from ..ir import Layer, Model
        n_in = 1 + self.n_knobs
        weights = {k: v.detach().numpy() for k, v in self.rec.named_parameters()}
        body = [Layer(self.cell, {"input_size": n_in, "hidden_size": self.rec.hidden_size,
                                  "num_layers": self.rec.num_layers}, weights),
                Layer("dense", {"in_features": self.rec.hidden_size, "out_features": 1},
                      {"weight": self.lin.weight.detach().numpy(), "bias": self.lin.bias.detach().numpy()})]
        layers = [Layer("residual", {"features": n_in}, layers=body)] if self.skip else body
        return Model(layers, input_size=n_in, sample_rate=sample_rate, name=name, metadata={"params": list(params)})


def detach(state):
    """Return the recurrent state cut from the autograd graph (truncated backprop)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
