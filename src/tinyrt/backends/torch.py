"""The PyTorch back end: an IR model as one streaming nn.Module, a TorchScript exporter and an engine.

``to_torch(model)`` returns a ``TorchModel`` built from the layer modules in ``torch_modules``;
``export(model, path)`` writes it as TorchScript (``torch.jit.script``, which compiles every layer,
including the one-frame fast path and the optional state argument that tracing would freeze), and
``TorchBackend`` runs it behind the Backend interface on one thread.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..errors import DependencyError, InputError
from ..files import atomic_path
from ..ir import Model
from .base import Backend

try:
    import torch
    from torch import Tensor, nn
except ImportError:
    raise DependencyError("the torch back end needs PyTorch; install it with pip install 'tinyrt[torch]'.") from None

from .torch_modules import (
    Activation,
    BatchNorm,
    CausalConv1d,
    Dense,
    Gain,
    GRULayer,
    LSTMLayer,
    Residual,
    build,
    build_node,
)

INFO_FILE = "tinyrt.json"  # the extra file in an exported TorchScript archive holding the model's description


class TorchModel(nn.Module):
    """An IR model as a PyTorch module: frames [B, T, input_size] in, [B, T, output_size] out.

    ``forward(x, state=None)`` returns ``(y, new_state)``; ``state`` is the list of tensors a previous
    call returned (None: start from the initial state), so feeding it back streams a signal in any
    split. ``run(x)`` is the stateless call that returns only ``y``.
    """

    __jit_ignored_attributes__ = ["info"]

    def __init__(self, layers: list, input_size: int, block_size: int = 1, sample_rate: float | None = None,
                 name: str = "model", metadata: dict | None = None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.input_size, self.output_size = input_size, layers[-1].out_features
        self.info = {"name": name, "block_size": block_size, "sample_rate": sample_rate,
                     "metadata": dict(metadata or {})}

    def ir_model(self) -> Model:
        """Return the IR model this module computes, with identical float32 weights."""
        i = self.info
        return Model([m.ir_layer() for m in self.layers], input_size=self.input_size,
                     block_size=i["block_size"], sample_rate=i["sample_rate"], name=i["name"],
                     metadata=dict(i["metadata"]))

    @torch.jit.export
    def initial_state(self, x: Tensor) -> list[Tensor]:
        """Return the state a reset starts from, for the batch size of x: [B, T, input_size]."""
        out: list[Tensor] = []
        for layer in self.layers:
            out.extend(layer.initial_state(x))
        return out

    def forward(self, x: Tensor, state: list[Tensor] | None = None) -> tuple[Tensor, list[Tensor]]:
        """Return (y, new_state) for frames x: [B, T, input_size], continuing from state (None: reset)."""
        old = self.initial_state(x) if state is None else state
        new: list[Tensor] = []
        i = 0
        for layer in self.layers:
            x, s = layer.forward(x, old[i:i + layer.n_state])
            new.extend(s)
            i += layer.n_state
        return x, new

    @torch.jit.export
    def run(self, x: Tensor) -> Tensor:
        """Return the output frames for x: [B, T, input_size] from the initial state."""
        return self.forward(x, None)[0]


class TorchGraphModel(TorchModel):
    """A graph model (layers naming their inputs and output, as a WaveNet) as a PyTorch module.

    The same calls as TorchModel; each layer reads the tensors it names ("input": the model's input
    frames), its conv1d layers keep their history in the state as in a stack.
    """

    def forward(self, x: Tensor, state: list[Tensor] | None = None) -> tuple[Tensor, list[Tensor]]:
        """Return (y, new_state) for frames x: [B, T, input_size], continuing from state (None: reset)."""
        old = self.initial_state(x) if state is None else state
        new: list[Tensor] = []
        named: dict[str, Tensor] = {"input": x}
        i = 0
        for layer in self.layers:
            xs: list[Tensor] = [x]
            if len(layer.inputs) > 0:
                xs = [named[n] for n in layer.inputs]
            x, s = layer.forward_graph(xs, old[i:i + layer.n_state])
            new.extend(s)
            i += layer.n_state
            if layer.output != "":
                named[layer.output] = x
        return x, new


def to_torch(model: Model) -> TorchModel:
    """Return the model as a float32 TorchModel (TorchGraphModel for a graph) in eval mode."""
    model.validate()
    if model.is_graph:
        net = TorchGraphModel([build_node(layer) for layer in model.layers], model.input_size, model.block_size,
                              model.sample_rate, model.name, model.metadata)
    else:
        net = TorchModel([build(layer) for layer in model.layers], model.input_size, model.block_size,
                         model.sample_rate, model.name, model.metadata)
    return net.float().eval()


def export(model: Model, path) -> Path:
    """Write the model as a TorchScript file (torch.jit.script of its TorchModel) and return the path.

    ``torch.jit.load(path)`` gives a module with the TorchModel calls (``forward(x, state=None)``,
    ``run(x)``, ``initial_state(x)``); the archive's extra file ``tinyrt.json`` describes the model.
    """
    path = Path(path)
    scripted = script(model)
    info = {"name": model.name, "input_size": model.input_size, "output_size": model.output_size,
            "block_size": model.block_size, "sample_rate": model.sample_rate, "metadata": model.metadata,
            "state_floats": model.state_floats}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        extra = {INFO_FILE: json.dumps(info, default=str)}
        try:
            with atomic_path(path, "TorchScript file") as tmp:  # a failed save leaves any earlier file untouched
                torch.jit.save(scripted, str(tmp), _extra_files=extra)
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot write the TorchScript file {path} ({exc}); check that its folder "
                             f"exists and is writable.") from None
    return path


def script(model: Model):
    """Return the model's TorchModel compiled by torch.jit.script (eval mode, float32)."""
    with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export; this is TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(to_torch(model))


class TorchBackend(Backend):
    """Runs the model with PyTorch (eager TorchModel, float32, one thread), keeping state between calls.

    ``torch.set_num_threads(1)`` is applied (process-wide) before each call, as every engine is
    measured single-threaded.
    """

    name = "torch"

    def __init__(self, model: Model):
        super().__init__(model)
        self.net = self._network(model)
        self._reset()

    @staticmethod
    def _network(model: Model):
        return to_torch(model)

    def _reset(self) -> None:
        with torch.inference_mode():
            self.state = self.net.initial_state(torch.zeros(1, 0, self.model.input_size))

    def _process(self, frames: np.ndarray) -> np.ndarray:
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        with torch.inference_mode():
            y, self.state = self.net.forward(torch.from_numpy(frames[None]), self.state)
            return y.numpy()[0].copy()  # a copy: an identity layer would hand back the caller's array


class TorchScriptBackend(TorchBackend):
    """Runs the model as TorchScript (the scripted TorchModel that ``export`` writes), one thread."""

    name = "torchscript"

    @staticmethod
    def _network(model: Model):
        return script(model)


__all__ = ["TorchModel", "TorchGraphModel",
           "TorchBackend", "TorchScriptBackend", "script", "to_torch", "export", "build", "Dense",
           "LSTMLayer", "GRULayer", "CausalConv1d", "Activation", "BatchNorm", "Gain", "Residual"]
