"""PyTorch modules for the zoo blocks the IR cannot express, built from the block's own weights.

Every module reads frames ``x: [T, input_size]`` (float32) and the stream ``position`` (frames
processed since reset; only the sampler uses it) and returns ``[T, output_size]``. All of them
compile with ``torch.jit.script``.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .zoo_blocks import LN_EPS


def _t(a) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


class Int8Matvec(nn.Module):
    """``y = (x Q^T) s``: int8 weights Q [out, in] widened to float32 in each call, float32 row scales s.

    (PyTorch's weight-only int8 kernel, torch._weight_int8pack_mm, computes the same but took 256 us
    per 64-frame call at 64 x 64 here against 11 us for this, so the zoo measures this.)
    """

    def __init__(self, block):
        super().__init__()
        self.register_buffer("weight", _t(block.weights["weight"]))
        self.register_buffer("scale", _t(block.weights["scale"]))

    def forward(self, x: Tensor, position: int) -> Tensor:
        """Return the int8-weight product for frames x: [T, in]."""
        return F.linear(x, self.weight.to(x.dtype)) * self.scale


class SparseMatvec(nn.Module):
    """``y = x A^T`` with A a sparse CSR tensor (torch.mm of CSR by dense)."""

    def __init__(self, block):
        super().__init__()
        w = block.weights
        with warnings.catch_warnings():  # "sparse CSR support is in beta": this is what the zoo measures
            warnings.simplefilter("ignore", UserWarning)
            a = torch.sparse_csr_tensor(_t(w["indptr"]), _t(w["indices"]), _t(w["data"]),
                                        size=(block.output_size, block.input_size), check_invariants=True)
        self.register_buffer("weight", a)

    def forward(self, x: Tensor, position: int) -> Tensor:
        """Return the sparse product for frames x: [T, in]."""
        return torch.mm(self.weight, x.t()).t()


_TRANSFORMER_NAMES = {"in_proj_weight": "self_attn.in_proj_weight", "in_proj_bias": "self_attn.in_proj_bias",
                      "out_proj_weight": "self_attn.out_proj.weight", "out_proj_bias": "self_attn.out_proj.bias"}


class Transformer(nn.Module):
    """PyTorch's own pre-norm TransformerEncoderLayer (GELU, no dropout) over the T frames of a call."""

    def __init__(self, block):
        super().__init__()
        s, w = block.sizes, block.weights
        self.layer = nn.TransformerEncoderLayer(s["d_model"], s["heads"], s["ff"], dropout=0.0, activation="gelu",
                                                layer_norm_eps=LN_EPS, batch_first=True, norm_first=True)
        params = dict(self.layer.named_parameters())
        with torch.no_grad():
            for name, value in w.items():
                params[_TRANSFORMER_NAMES.get(name, name.replace("_", "."))].copy_(_t(value))

    def forward(self, x: Tensor, position: int) -> Tensor:
        """Return the encoder block's output for the tokens x: [T, d_model]."""
        return self.layer(x.unsqueeze(0)).squeeze(0)


class MixtureDensity(nn.Module):
    """A dense layer split into softmax mixture weights, means and exp (or softplus) scales."""

    def __init__(self, block):
        super().__init__()
        s = block.sizes
        self.k, self.kd, self.softplus = s["mixtures"], s["mixtures"] * s["dims"], s["scale"] == "softplus"
        self.linear = nn.Linear(block.input_size, block.output_size)
        with torch.no_grad():
            self.linear.weight.copy_(_t(block.weights["weight"]))
            self.linear.bias.copy_(_t(block.weights["bias"]))

    def forward(self, x: Tensor, position: int) -> Tensor:
        """Return [weights | means | scales] for frames x: [T, in]."""
        z = self.linear(x)
        raw = z[:, self.k + self.kd:]
        scales = F.softplus(raw) if self.softplus else torch.exp(raw)
        return torch.cat([torch.softmax(z[:, :self.k], dim=1), z[:, self.k:self.k + self.kd], scales], dim=1)


class GaussianSampler(nn.Module):
    """``[mu | logvar] -> [mu + exp(logvar/2) * eps | KL]`` with eps read from the fixed noise table."""

    def __init__(self, block):
        super().__init__()
        self.latent = block.sizes["latent"]
        self.register_buffer("eps", _t(block.weights["eps"]))

    def forward(self, x: Tensor, position: int) -> Tensor:
        """Return samples and per-frame KL for frames x: [T, 2 * latent] starting at stream position."""
        mu, logvar = x[:, :self.latent], x[:, self.latent:]
        rows = torch.remainder(torch.arange(x.size(0)) + position, self.eps.size(0))
        z = mu + torch.exp(0.5 * logvar) * self.eps.index_select(0, rows)
        kl = 0.5 * (torch.exp(logvar) + mu * mu - 1.0 - logvar).sum(dim=1, keepdim=True)
        return torch.cat([z, kl], dim=1)


MODULES = {"matvec_int8": Int8Matvec, "matvec_sparse": SparseMatvec, "transformer": Transformer,
           "mdn": MixtureDensity, "gaussian": GaussianSampler}


def module(block) -> nn.Module:
    """Return the float32 eval-mode PyTorch module computing a non-IR zoo block."""
    return MODULES[block.kind](block).eval()
