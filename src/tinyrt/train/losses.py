"""Training losses in PyTorch: pre-emphasised ESR, DC, multi-resolution STFT and their weighted sum."""
from __future__ import annotations

import torch

from .config import LossConfig

_EPS = 1e-8


def pre_emphasis(x: torch.Tensor, coeff: float) -> torch.Tensor:
    """Return (batch, time) audio filtered by y[n] = x[n] - coeff x[n-1] along time."""
    if not coeff:
        return x
    return torch.cat([x[:, :1], x[:, 1:] - coeff * x[:, :-1]], dim=1)


def esr_loss(output: torch.Tensor, target: torch.Tensor, coeff: float = 0.0) -> torch.Tensor:
    """Return the error-to-signal ratio over the batch, pre-emphasised with coeff."""
    o, t = pre_emphasis(output, coeff), pre_emphasis(target, coeff)
    return torch.sum((t - o) ** 2) / (torch.sum(t * t) + _EPS)


def dc_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the squared difference of the sequences' means over the target's mean energy."""
    d = torch.mean(target - output, dim=1)
    return torch.mean(d * d) / (torch.mean(target * target) + _EPS)


def stft_loss(output: torch.Tensor, target: torch.Tensor, sizes=(256, 512, 1024)) -> torch.Tensor:
    """Return the multi-resolution STFT loss: spectral convergence plus log-magnitude L1, averaged."""
    total = output.new_zeros(())
    used = 0
    for n in sizes:
        if output.shape[1] < n:
            continue
        win = torch.hann_window(n, device=output.device, dtype=output.dtype)
        so = torch.stft(output, n, n // 4, window=win, return_complex=True).abs()
        st = torch.stft(target, n, n // 4, window=win, return_complex=True).abs()
        sc = torch.linalg.norm(st - so) / (torch.linalg.norm(st) + _EPS)
        mag = torch.mean(torch.abs(torch.log(st + 1e-5) - torch.log(so + 1e-5)))
        total = total + sc + mag
        used += 1
    return total / max(used, 1)


class EffectLoss:
    """The weighted sum the config asks for; call it on (batch, time) output and target audio."""

    def __init__(self, cfg: LossConfig):
        self.cfg = cfg

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the weighted loss of output against target."""
        c = self.cfg
        loss = output.new_zeros(())
        if c.esr:
            loss = loss + c.esr * esr_loss(output, target, c.pre_emphasis)
        if c.dc:
            loss = loss + c.dc * dc_loss(output, target)
        if c.stft:
            loss = loss + c.stft * stft_loss(output, target)
        return loss
