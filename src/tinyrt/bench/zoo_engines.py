"""Engines for zoo blocks: Backends running the non-IR blocks, and a TorchScript engine for IR models.

The non-IR runners (NumPy reference, torch, TorchScript, ONNX Runtime) share one base that keeps
the stream position (frames processed since reset, modulo the sampler's noise period) and hands
it to the block's computation; every other block ignores it. All run on one thread.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..backends.base import Backend
from ..errors import DependencyError
from .zoo_blocks import EPS_PERIOD, REFERENCES


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        raise DependencyError("the torch and torchscript engines need PyTorch; install it with "
                              "pip install 'tinyrt[torch]'.") from None


def script(net):
    """Return torch.jit.script of a module (TorchScript's deprecation warning silenced: this is the engine)."""
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(net)


class BlockBackend(Backend):
    """Base of the non-IR runners: ``_run(frames)`` computes a call at ``self.position``."""

    def __init__(self, block):
        super().__init__(block)
        self.block = block
        self.position = 0

    def _run(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _reset(self) -> None:
        self.position = 0

    def _process(self, frames: np.ndarray) -> np.ndarray:
        y = self._run(frames)
        self.position = (self.position + len(frames)) % EPS_PERIOD
        return y


class NumpyBlock(BlockBackend):
    """The float64 NumPy reference of a non-IR block (the numerical truth the others are held to)."""

    name = "reference"
    dtype = np.float64

    def _run(self, frames: np.ndarray) -> np.ndarray:
        return REFERENCES[self.block.kind](self.block, frames, self.position)


class TorchBlock(BlockBackend):
    """A non-IR block's PyTorch module, eager (``torch``) or compiled with torch.jit.script (``torchscript``)."""

    name = "torch"

    def __init__(self, block, scripted: bool = False):
        super().__init__(block)
        self.torch = _torch()
        from .zoo_torch import module
        self.net = script(module(block)) if scripted else module(block)
        if scripted:
            self.name = "torchscript"

    def _run(self, frames: np.ndarray) -> np.ndarray:
        torch = self.torch
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        with torch.inference_mode():
            return self.net(torch.from_numpy(frames), self.position).numpy().copy()


class OrtBlock(BlockBackend):
    """A non-IR block's ONNX graph in ONNX Runtime (one thread), inputs and outputs bound to NumPy buffers."""

    name = "onnxruntime"

    def __init__(self, block):
        super().__init__(block)
        try:
            import onnxruntime as ort

            from .zoo_onnx import to_onnx
        except ImportError:
            raise DependencyError("the onnxruntime engine needs the 'onnx' and 'onnxruntime' packages; "
                                  "run pip install 'tinyrt[onnx]'.") from None
        from ..backends.onnx import _session
        self.session = _session(ort, to_onnx(block), block.name)
        self.binding = self.session.io_binding()
        self._position = np.zeros((), dtype=np.int64)
        if block.kind == "gaussian":
            self.binding.bind_cpu_input("position", self._position)
        if block.kind == "matvec_sparse":
            w = block.weights
            shape = np.array([block.output_size, block.input_size], dtype=np.int64)
            self._csr = ort.SparseTensor.sparse_csr_from_numpy(shape, w["data"], w["indices"], w["indptr"],
                                                               ort.OrtDevice.make("cpu", 0))
            self.binding.bind_ortvalue_input("weight", ort.OrtValue.ort_value_from_sparse_tensor(self._csr))
        self._x = self._y = np.zeros((0, 0), dtype=np.float32)

    def _run(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) != len(self._x):
            self._x = np.zeros((len(frames), self.block.input_size), dtype=np.float32)
            self._y = np.zeros((len(frames), self.block.output_size), dtype=np.float32)
            self.binding.bind_cpu_input("x", self._x)
            self.binding.bind_output("y", "cpu", 0, np.float32, list(self._y.shape), self._y.ctypes.data)
        np.copyto(self._x, frames)
        self._position[()] = self.position
        self.session.run_with_iobinding(self.binding)
        return self._y.copy()


def scripted_ir(model) -> Backend:
    """Return a TorchBackend for an IR model whose TorchModel is compiled with torch.jit.script."""
    from ..backends.torch import TorchBackend

    engine = TorchBackend(model)
    engine.net = script(engine.net)
    engine.name = "torchscript"
    return engine


RUNNERS = {"reference": NumpyBlock, "torch": TorchBlock, "torchscript": lambda b: TorchBlock(b, scripted=True),
           "onnxruntime": OrtBlock}
