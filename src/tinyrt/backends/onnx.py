"""The ONNX exporter and the ONNX Runtime engine.

``export(model, path)`` writes a streaming ONNX file: ``x`` [T, input_size] in, ``y``
[T, output_size] out, and one ``state_in_*`` / ``state_out_*`` pair per state tensor
(naming and shapes are described in ``tinyrt.backends.onnx_graph``). ``OnnxBackend`` runs
the same graph in ONNX Runtime on one thread and carries the state from call to call.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DependencyError, FormatError, ModelError, UnsupportedError
from ..files import atomic_path
from .base import Backend

DEFAULT_OPSET = 17  # runs on ONNX Runtime 1.13 and later
_INSTALL = "pip install 'tinyrt[onnx]'"


def _require(package: str, job: str):
    try:
        if package == "onnx":
            import onnx
            return onnx
        import onnxruntime
        return onnxruntime
    except ImportError:
        raise DependencyError(f"{job} needs the '{package}' package, which is not installed; "
                              f"run {_INSTALL}.") from None


def to_onnx(model, opset: int = DEFAULT_OPSET):
    """Return the model as a checked streaming onnx.ModelProto (x, y and state tensors)."""
    onnx = _require("onnx", "exporting to ONNX")
    from ..version import __version__
    from .onnx_graph import MIN_OPSET, build_graph

    model.validate()
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise UnsupportedError(f"ONNX opset {opset!r} is not supported; choose an opset from "
                               f"{MIN_OPSET} to {newest}.")
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(build_graph(model, opset), opset_imports=opsets,
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets),
                                   producer_name="tinyrt", producer_version=__version__,
                                   doc_string="tinyrt streaming model: feed state_out_* back as "
                                              "state_in_* on the next call.")
    props = {"name": model.name, "block_size": str(model.block_size),
             "input_size": str(model.input_size), "output_size": str(model.output_size)}
    if model.sample_rate is not None:
        props["sample_rate"] = f"{model.sample_rate:.17g}"
    if model.metadata:
        props["metadata"] = json.dumps(model.metadata, default=str)
    onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, path, opset: int = DEFAULT_OPSET) -> Path:
    """Write the model as a streaming ONNX file and return its path."""
    path = Path(path)
    proto = to_onnx(model, opset)
    data = proto.SerializeToString()
    try:
        with atomic_path(path, "ONNX file") as tmp:  # a failed write leaves any earlier file untouched
            tmp.write_bytes(data)
    except OSError as exc:
        raise FormatError(f"{path}: cannot be written ({exc.strerror}); choose a writable path.") from None
    return path


def _read(path: Path, onnx):
    from google.protobuf.message import DecodeError

    if not path.is_file():
        raise FormatError(f"{path}: no such ONNX file.")
    try:
        return onnx.load(str(path))
    except (DecodeError, ValueError, OSError) as exc:
        raise FormatError(f"{path}: is not a readable ONNX model ({exc}).") from None


def _streaming_io(proto, model, where: str) -> list:
    """Return [(state_in, state_out, initial)] after checking that the graph fits the model."""
    from onnx import numpy_helper

    from .onnx_graph import STATE_IN, STATE_OUT

    graph = proto.graph
    inputs = {v.name: v for v in graph.input}
    outputs = {v.name: v for v in graph.output}
    if "x" not in inputs or "y" not in outputs:
        raise FormatError(f"{where}: is not a tinyrt streaming export (it lacks the 'x' input or 'y' output).")
    for kind, value, expected in (("input", inputs["x"], model.input_size),
                                  ("output", outputs["y"], model.output_size)):
        width = value.type.tensor_type.shape.dim[-1].dim_value
        if width != expected:
            raise ModelError(f"{where}: has {kind} frames of {width} values but {model.name} has "
                             f"{kind}_size {expected}; export this model again.")
    initial = {t.name: numpy_helper.to_array(t) for t in graph.initializer if t.name.startswith(STATE_IN)}
    states = []
    for name in inputs:
        if name.startswith(STATE_IN):
            out = STATE_OUT + name[len(STATE_IN):]
            if name not in initial or out not in outputs:
                raise FormatError(f"{where}: state input '{name}' has no initial value or no '{out}' output; "
                                  f"export the model again with tinyrt.")
            states.append((name, out, np.ascontiguousarray(initial[name], dtype=np.float32)))
    return states


class OnnxBackend(Backend):
    """Runs a model in ONNX Runtime (one thread, sequential), carrying state between calls.

    The state tensors live in two sets of NumPy buffers bound to the session with two
    IOBindings, one reading set A and writing set B and one the other way round; each call
    runs one binding and flips, so state never passes through Python. ``x`` and ``y`` are
    bound buffers too, re-bound only when the number of frames per call changes.
    """

    name = "onnxruntime"

    def __init__(self, model, path=None, opset: int = DEFAULT_OPSET):
        super().__init__(model)
        ort = _require("onnxruntime", "the onnxruntime engine")
        onnx = _require("onnx", "the onnxruntime engine")
        where = str(path) if path is not None else model.name
        proto = _read(Path(path), onnx) if path is not None else to_onnx(self.model, opset)
        states = _streaming_io(proto, self.model, where)
        self._initial = [initial for _, _, initial in states]
        # without their initializers the state inputs are plain inputs, which IOBinding accepts
        state_names = {s_in for s_in, _, _ in states}
        kept = [t for t in proto.graph.initializer if t.name not in state_names]
        del proto.graph.initializer[:]
        proto.graph.initializer.extend(kept)
        self.session = _session(ort, proto, where)
        buffers = [[v.copy() for v in self._initial] for _ in range(2)]
        self._bindings = []
        for side in range(2):
            binding = self.session.io_binding()
            for (s_in, s_out, _), a, b in zip(states, buffers[side], buffers[1 - side]):
                binding.bind_cpu_input(s_in, a)
                binding.bind_output(s_out, "cpu", 0, np.float32, list(b.shape), b.ctypes.data)
            self._bindings.append(binding)
        self._buffers = buffers
        self._run = self.session.run_with_iobinding
        self._x = self._y = np.zeros((0, 0), dtype=np.float32)
        self._side = 0

    def _bind_frames(self, n: int) -> None:
        self._x = np.zeros((n, self.model.input_size), dtype=np.float32)
        self._y = np.zeros((n, self.model.output_size), dtype=np.float32)
        for binding in self._bindings:
            binding.bind_cpu_input("x", self._x)
            binding.bind_output("y", "cpu", 0, np.float32, list(self._y.shape), self._y.ctypes.data)

    def _reset(self) -> None:
        self._side = 0
        for buffer, initial in zip(self._buffers[0], self._initial):
            np.copyto(buffer, initial)

    def _process(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) != len(self._x):
            self._bind_frames(len(frames))
        np.copyto(self._x, frames)
        self._run(self._bindings[self._side])
        self._side ^= 1
        return self._y.copy()


def _session(ort, proto, where: str):
    """Return a single-threaded, sequential, fully optimised CPU InferenceSession for the proto."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime raises its own exception types with no common base
        raise UnsupportedError(f"{where}: ONNX Runtime {ort.__version__} cannot load the model "
                               f"({str(exc).splitlines()[0]}); export it with a lower opset.") from None
