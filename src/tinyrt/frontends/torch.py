"""The PyTorch importer: ``from_torch(module)`` returns the IR of a trained nn.Module.

It reads nn.Sequential stacks, tinyrt's own modules (a TorchModel round-trips exactly) and custom
modules whose forward() torch.fx traces into a chain of supported layers with skip connections
(see ``torch_layers`` and ``torch_graph``). Given ``example_input``, it runs the module and the
imported model on it and refuses a model that does not compute the same numbers.
"""
from __future__ import annotations

import numpy as np

from ..errors import DependencyError, Error, InputError, ModelError, UnsupportedError
from ..ir import Model, fold_batchnorm

try:
    import torch
    from torch import nn
except ImportError:
    raise DependencyError("importing PyTorch models needs PyTorch; install it with "
                          "pip install 'tinyrt[torch]'.") from None

from .torch_graph import GraphMapper
from .torch_layers import LayoutError, Value, is_plain_sequential, preserved, words

# the input layouts tried, in order: (batch, time, features), (time, batch, features),
# (batch, features, time) for Conv1d stacks, then unbatched (time, features) and (features, time)
LAYOUTS = ("btf", "tbf", "bft", "tf", "ft")
TOLERANCE = 1e-4  # largest |module - imported model| accepted on example_input, per unit of output above 1


def from_torch(module, example_input=None, *, sample_rate: float | None = None, block_size: int | None = None,
               name: str | None = None) -> Model:
    """Return the IR of a PyTorch module, checked against the module itself on example_input if given.

    Supported: nn.Linear; nn.LSTM and nn.GRU (any num_layers, batch_first either way, bias or not;
    inside nn.Sequential their (output, state) tuple passes on as output[0]); nn.Conv1d with stride
    1, read as a causal streaming convolution (padding 0 or up to (kernel_size-1)*dilation: the
    module's output frame t is the IR's frame t + (kernel_size-1)*dilation - padding); nn.Tanh,
    ReLU, Sigmoid, Softsign, ELU, PReLU, SiLU, GELU (exact), Softmax over features, Identity;
    nn.Dropout (dropped: the IR is for inference); nn.BatchNorm1d with running statistics (folded
    into a Linear/Conv1d before it, else a batchnorm layer); nested nn.Sequential; tinyrt's
    TorchModel and layer modules; custom modules traced with torch.fx (see ``torch_graph``).
    The module's input layout is inferred from its layers: (batch, time, features) unless its
    LSTMs are time-major or it starts with Conv1d (batch, channels, time).
    ``example_input`` is [B, T, features] or [T, features] in that frame layout whatever the
    module's own; the module runs on it in eval mode and a difference above 1e-4 (times the largest
    output magnitude when that exceeds 1) raises ModelError. Forward hooks are not imported: the
    example check is what catches a hook that changes the numbers.
    ``block_size`` and ``sample_rate`` default to a TorchModel's own, else 1 and None.
    """
    if isinstance(module, torch.jit.ScriptModule):
        raise UnsupportedError("from_torch reads nn.Module objects, not TorchScript; pass the Python module "
                               "(a .pt written by tinyrt comes from a .tinyrt model you can load instead).")
    if not isinstance(module, nn.Module):
        raise InputError(f"from_torch expects a torch.nn.Module, got {type(module).__name__}.")
    example = None if example_input is None else _example(example_input)
    cls = type(module).__name__
    if callable(getattr(module, "ir_model", None)):
        model = module.ir_model()
        layout, out = "btf", Value(tuple(model.layers), model.output_size, "btf")
        model.block_size = block_size or model.block_size
        model.sample_rate = sample_rate if sample_rate is not None else model.sample_rate
        model.name = name or model.name
    else:
        mapper, out, layout = _map(module)
        if out.sliced:
            raise UnsupportedError(f"{cls} returns a slice of a tensor without adding it to anything; tinyrt "
                                   f"has no slicing layer.")
        n_in = _input_size(cls, mapper.input_size, example)
        layers = list(out.layers)
        if not layers:
            raise UnsupportedError(f"{cls} has no layers tinyrt can import: it passes its input through.")
        for layer in (sub for top in layers for sub in top.walk()):
            if layer.params.get("features", 0) is None:
                layer.params["features"] = n_in
        metadata = {"source": "torch", "torch_class": f"{type(module).__module__}.{type(module).__qualname__}",
                    "torch_layout": words(layout)}
        if out.offset:
            metadata["torch_frame_offset"] = out.offset
        model = Model(fold_batchnorm(layers), input_size=n_in, block_size=block_size or 1,
                      sample_rate=sample_rate, name=name or cls, metadata=metadata)
    model.validate()
    if example is not None:
        _check(module, model, example, layout, out)
    return model


def _map(module: nn.Module):
    errors, graphs = [], {}
    for layout in LAYOUTS:
        mapper = GraphMapper(layout, graphs)
        try:
            return mapper, mapper.apply(module, "", Value((), None, layout)), layout
        except LayoutError as exc:
            errors.append(exc)
    raise UnsupportedError(str(max(errors, key=lambda e: e.progress))) from None


def _input_size(cls: str, n_in: int | None, example) -> int:
    if example is None:
        if n_in is None:
            raise InputError(f"{cls} does not say how many features per frame it reads; pass example_input.")
        return n_in
    if n_in is not None and n_in != example.shape[2]:
        raise InputError(f"example_input has {example.shape[2]} features per frame but {cls} reads {n_in}.")
    return example.shape[2]


def _example(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().to(torch.float64).numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"example_input must be an array of numbers, got {type(x).__name__}.") from None
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or 0 in a.shape:
        raise InputError(f"example_input must be shaped [batch, time, features] or [time, features], "
                         f"got shape {np.shape(x)}.")
    if not np.all(np.isfinite(a)):
        raise InputError("example_input contains NaN or infinite values.")
    return a


def _call(module: nn.Module, x):
    """Run a module the way the importer reads it: Sequential passes output[0] of tuples on."""
    if is_plain_sequential(module):
        for child in module:
            x = _call(child, x)
        return x
    y = module(x, module.initial_state(x)) if callable(getattr(module, "ir_layer", None)) else module(x)
    return y[0] if isinstance(y, (tuple, list)) else y


def _frames(y, axes: str, cls: str) -> np.ndarray:
    if not isinstance(y, torch.Tensor) or y.dim() != len(axes):
        got = f"{y.dim()} axes" if isinstance(y, torch.Tensor) else type(y).__name__
        raise ModelError(f"{cls} returns {got} where the importer expected {words(axes)}.")
    order = "btf" if len(axes) == 3 else "tf"
    return y.permute(*[axes.index(a) for a in order]).to(torch.float64).cpu().numpy()


def _run(module: nn.Module, example: np.ndarray, layout: str, axes: str) -> np.ndarray:
    """Return the module's output on example ([B, T, F]) as [B, T', F_out], run in eval mode.

    The module is left as it was: training flags and anything forward() stores on self are restored.
    """
    cls = type(module).__name__
    param = next((p for p in module.parameters() if p.is_floating_point()), None)
    x = torch.as_tensor(example, dtype=torch.float32 if param is None else param.dtype,
                        device=None if param is None else param.device)
    try:
        with preserved(module), torch.no_grad():
            module.eval()
            if len(layout) == 3:
                return _frames(_call(module, x.permute(*["btf".index(a) for a in layout])), axes, cls)
            return np.stack([_frames(_call(module, xb.permute(*["tf".index(a) for a in layout])), axes, cls)
                             for xb in x])
    except Error:
        raise
    except Exception as exc:  # the module's own forward() failing on the example is the user's to see
        raise ModelError(f"running {cls} on example_input laid out as {words(layout)} failed "
                         f"({type(exc).__name__}: {exc}).") from None


def _check(module: nn.Module, model: Model, example: np.ndarray, layout: str, out: Value) -> None:
    """Raise ModelError unless the module and the imported model agree on example within TOLERANCE."""
    cls = type(module).__name__
    T, offset = example.shape[1], out.offset
    if offset >= T:
        raise InputError(f"example_input has {T} frames but {cls}'s first output frame is frame {offset} of the "
                         f"imported model; give a longer example.")
    got = _run(module, example, layout, out.axes)
    runner = model.reference()
    ref = []
    for x in example:
        runner.reset()
        ref.append(runner.process(x))
    ref = np.stack(ref)
    n = min(got.shape[1], T - offset)
    if got.shape[2] != ref.shape[2]:
        raise ModelError(f"{cls} gives {got.shape[2]} features per frame but the imported model gives "
                         f"{ref.shape[2]}; the module does something tinyrt does not see.")
    err = float(np.max(np.abs(got[:, :n] - ref[:, offset:offset + n])))
    limit = TOLERANCE * max(1.0, float(np.max(np.abs(got[:, :n]))))
    if not err <= limit:
        raise ModelError(f"the imported model differs from {cls} on example_input by up to {err:.3g} (more than "
                         f"{limit:.3g}); the module computes something tinyrt does not see.")
