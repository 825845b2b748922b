"""Mapping whole PyTorch models to IR layers: nn.Sequential stacks and torch.fx graphs of custom modules.

A custom module's forward() is traced with torch.fx, keeping layer modules, nn.Sequential and
tinyrt's modules as leaves. The traced graph may chain layers, take ``output[0]`` of an LSTM/GRU,
apply activation functions, multiply or divide by a constant (a gain), transpose axes, slice
frames or leading features, and add a tensor to one computed from it (a residual: the skip
branch is that tensor, or a leading slice of its features, e.g. the CoreAudioML SimpleRNN's
``self.lin(y) + x[:, :, 0:1]``). Anything else is refused with a message naming the op.
"""
from __future__ import annotations

import inspect
import operator
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import UnsupportedError
from ..ir import Layer
from .torch_layers import (
    AXIS_WORDS,
    LayoutError,
    Mapper,
    Value,
    describe,
    is_custom,
    is_plain_sequential,
    preserved,
    words,
)

OPS = ("activation functions (tanh, sigmoid, relu, elu, gelu, silu, softsign, softmax), "
       "x * constant, x / constant, out[0] of an LSTM/GRU, leading feature or frame slices, "
       "transpose/permute, and adding a tensor back to one computed from it")

_FUNCTIONS = {
    torch.tanh: "tanh", F.tanh: "tanh", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
    torch.relu: "relu", F.relu: "relu", F.silu: "silu", F.softsign: "softsign", F.elu: "elu",
    F.gelu: "gelu", F.softmax: "softmax", torch.softmax: "softmax",
    operator.add: "add", torch.add: "add", operator.mul: "mul", torch.mul: "mul",
    operator.truediv: "div", torch.div: "div", operator.getitem: "getitem",
    torch.transpose: "transpose", torch.permute: "permute",
}
_METHODS = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "softmax": "softmax", "add": "add",
            "mul": "mul", "div": "div", "transpose": "transpose", "permute": "permute",
            "contiguous": "contiguous"}
_ACTIVATIONS = ("tanh", "sigmoid", "relu", "silu", "softsign", "elu", "gelu", "softmax")


class _Attr:
    """A tensor forward() reads from the module directly (not through a layer)."""

    def __init__(self, name: str):
        self.name = name


def _flat(args):
    if isinstance(args, (tuple, list)):
        return [a for item in args for a in _flat(item)]
    if isinstance(args, dict):
        return _flat(list(args.values()))
    return [args]


class _Tracer(fx.Tracer):
    """Keeps torch layers, nn.Sequential and tinyrt modules as leaves; traces custom modules through."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        """Return True for modules the importer maps itself rather than tracing into."""
        return isinstance(m, nn.Sequential) or not is_custom(m)


def trace(module: nn.Module, who: str) -> fx.Graph:
    """Return the torch.fx graph of a custom module's forward(), leaving the module as it was."""
    params = [p for p in inspect.signature(module.forward).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not params:
        raise UnsupportedError(f"{who}.forward() takes no input; tinyrt models take one tensor.")
    required = [p.name for p in params[1:] if p.default is p.empty]
    if required:
        raise UnsupportedError(f"{who}.forward() also needs {', '.join(required)}; tinyrt models take one "
                               f"tensor, so give the other arguments defaults.")
    concrete = {p.name: p.default for p in params[1:]}
    try:
        with preserved(module):  # forward() may store proxies on self while being traced
            return _Tracer().trace(module, concrete_args=concrete or None)
    except Exception as exc:  # any failure of user code under tracing is a model tinyrt cannot read
        raise UnsupportedError(f"torch.fx cannot trace {who}.forward() ({type(exc).__name__}: {exc}); tinyrt "
                               f"imports forward() methods without data-dependent control flow.") from None


def _op_name(node: fx.Node) -> str:
    if node.op == "call_method":
        return f"Tensor.{node.target}()"
    module = getattr(node.target, "__module__", None) or "torch"
    module = {"_operator": "operator", "torch._C._nn": "torch.nn.functional"}.get(module, module)
    return f"{module}.{getattr(node.target, '__name__', node.target)}()"


class GraphMapper(Mapper):
    """A Mapper that also walks nn.Sequential stacks and traced custom modules."""

    def __init__(self, layout: str, graphs: dict):
        super().__init__(layout)
        self.graphs = graphs  # module -> traced graph, shared between the layouts tried

    def apply(self, module: nn.Module, name: str, v: Value) -> Value:
        """Return the value after any supported module is applied to v."""
        if is_plain_sequential(module):
            return self.sequential(module, name, v)
        if is_custom(module):
            who = describe(module, name)
            if module not in self.graphs:
                self.graphs[module] = trace(module, who)
            return self.graph(self.graphs[module], module, name, v)
        return self.module(module, name, v)

    def sequential(self, module: nn.Sequential, name: str, v: Value) -> Value:
        """Return v after each child in turn; an (output, state) tuple passes on as output[0]."""
        for child_name, child in module.named_children():
            v = self.apply(child, f"{name}.{child_name}" if name else child_name, replace(v, pair=""))
        return v

    def graph(self, graph: fx.Graph, root: nn.Module, name: str, v0: Value) -> Value:
        """Return the value a traced forward() computes from v0."""
        nodes = list(graph.nodes)
        out = next(n for n in nodes if n.op == "output")
        needed, todo = set(), [out]
        while todo:
            node = todo.pop()
            if node not in needed:
                needed.add(node)
                todo.extend(node.all_input_nodes)
        first = next(n for n in nodes if n.op == "placeholder")
        env = {}
        for node in nodes:
            if node in needed and node is not out:
                env[node] = self.node(node, root, name, first, v0, env)
        result = fx.node.map_arg(out.args[0], lambda n: env[n])
        if isinstance(result, (tuple, list)) and result:
            result = result[0]
        if not isinstance(result, Value):
            raise UnsupportedError(f"{describe(root, name)}.forward() returns {type(result).__name__}, "
                                   f"not a tensor computed from its input.")
        return result

    def node(self, node: fx.Node, root: nn.Module, name: str, first: fx.Node, v0: Value, env: dict):
        """Return the value of one graph node."""
        who = describe(root, name)
        if node.op == "placeholder":
            if node is not first:
                raise UnsupportedError(f"{who}.forward() uses its argument '{node.target}'; tinyrt models "
                                       f"take one tensor.")
            return v0
        if node.op == "get_attr":
            return _Attr(str(node.target))
        args = fx.node.map_arg(node.args, lambda n: env[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        attrs = [a for a in _flat((args, kwargs)) if isinstance(a, _Attr)]
        if node.op == "call_module":
            sub = root.get_submodule(node.target)
            sub_name = f"{name}.{node.target}" if name else str(node.target)
            if attrs and isinstance(sub, (nn.LSTM, nn.GRU)):
                raise UnsupportedError(f"{describe(sub, sub_name)} is given a stored state tensor (such as "
                                       f"self.hidden from an earlier call); tinyrt starts recurrent layers from "
                                       f"zero, so reset that state to None before importing.")
        if attrs:
            raise UnsupportedError(f"{who}.forward() uses the tensor '{attrs[0].name}' directly; tinyrt imports "
                                   f"tensors only as parameters of supported layers.")
        if node.op == "call_module":
            return self.call_module(sub, sub_name, args, kwargs)
        op = (_METHODS.get(node.target) if node.op == "call_method" else _FUNCTIONS.get(node.target))
        if op is None or not args or not isinstance(args[0], Value) and op not in ("add", "mul"):
            raise UnsupportedError(f"{who}.forward() calls {_op_name(node)}, which tinyrt cannot import; "
                                   f"supported: {OPS}.")
        return self.op(op, f"{_op_name(node)} in {who}.forward()", args, kwargs)

    def call_module(self, module: nn.Module, name: str, args: tuple, kwargs: dict) -> Value:
        """Return the value of calling a submodule; only an RNN may get a second argument, and it must be None."""
        who = describe(module, name)
        extra = list(args[1:]) + list(kwargs.values())
        if not args or not isinstance(args[0], Value):
            raise UnsupportedError(f"{who} is called without a tensor computed from the model's input.")
        if extra and not (isinstance(module, (nn.LSTM, nn.GRU)) and all(a is None for a in extra)):
            raise UnsupportedError(f"{who} is called with more than its input; tinyrt starts recurrent "
                                   f"layers from their own state, so pass only the input.")
        return self.apply(module, name, args[0])

    def op(self, op: str, who: str, args: tuple, kwargs: dict) -> Value:
        """Return the value of a function or method call in forward()."""
        v = args[0]
        if op in _ACTIVATIONS:
            return self.function(op, who, v, args[1:], kwargs)
        if op == "add":
            if len(args) != 2 or kwargs or not all(isinstance(a, Value) for a in args):
                raise UnsupportedError(f"{who} adds something other than two tensors; tinyrt only adds a "
                                       f"tensor back to one computed from it.")
            return self.add(args[0], args[1], who)
        if op in ("mul", "div"):
            return self.gain(op, who, args, kwargs)
        if op == "getitem":
            return self.getitem(v, args[1], who)
        v = self.tensor(v, who)
        self.progress += 1
        if op == "contiguous":
            return v
        dims = args[1] if op == "permute" and len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
        if not all(isinstance(d, int) for d in dims) or (op == "transpose" and len(dims) != 2):
            raise UnsupportedError(f"{who} has axes given as {dims!r}; tinyrt needs constant integer axes.")
        n = len(v.axes)
        dims = [d % n if -n <= d < n else n for d in dims]
        if n in dims or (op == "permute" and sorted(dims) != list(range(n))):
            raise LayoutError(f"{who} names axes {args[1:]!r} that a {n}-axis tensor does not have.", self.progress)
        axes = list(v.axes)
        if op == "transpose":
            axes[dims[0]], axes[dims[1]] = axes[dims[1]], axes[dims[0]]
        else:
            axes = [v.axes[d] for d in dims]
        return replace(v, axes="".join(axes))

    def function(self, op: str, who: str, v: Value, args: tuple, kwargs: dict) -> Value:
        """Return v after an activation function such as torch.tanh or F.elu."""
        def arg(key, default):
            """Return the function's first argument after the tensor, given by position or by key."""
            return args[0] if args else kwargs.get(key, default)
        if op == "elu":
            return self.activation(v, "elu", who, alpha=arg("alpha", 1.0))
        if op == "gelu" and arg("approximate", "none") != "none":
            raise UnsupportedError(f"{who} uses the {arg('approximate', 'none')!r} approximation; tinyrt "
                                   f"computes the exact erf form, so use approximate='none'.")
        if op == "softmax":
            self.feature_dim(v, arg("dim", None), who)
        return self.activation(v, op, who)

    def gain(self, op: str, who: str, args: tuple, kwargs: dict) -> Value:
        """Return the tensor argument scaled by the constant one (a gain layer)."""
        values = [a for a in args if isinstance(a, Value)]
        consts = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        divisor_first = op == "div" and args[0] is not (values or [None])[0]
        if kwargs or len(args) != 2 or len(values) != 1 or len(consts) != 1 or divisor_first:
            raise UnsupportedError(f"{who} is not a tensor multiplied or divided by a constant number, "
                                   f"which is all tinyrt imports of it.")
        v, c = self.tensor(values[0], who), float(consts[0])
        if op == "div":
            if c == 0:
                raise UnsupportedError(f"{who} divides by zero.")
            c = 1.0 / c
        return self.then(v, Layer("gain", {"features": v.features, "gain": c}), v.features)

    def getitem(self, v: Value, index, who: str) -> Value:
        """Return output[0] of an (output, state) tuple, or a slice of frames or leading features."""
        if v.pair:
            if index == 0:
                return replace(v, pair="")
            raise UnsupportedError(f"{who} uses item {index!r} of the (output, state) tuple of {v.pair}; tinyrt "
                                   f"keeps recurrent state itself, so use only output[0].")
        items = index if isinstance(index, tuple) else (index,)
        n = len(v.axes)
        if items.count(Ellipsis) == 1:
            at = items.index(Ellipsis)
            items = items[:at] + (slice(None),) * (n + 1 - len(items)) + items[at + 1:]
        if not all(isinstance(s, slice) and s.step in (None, 1) for s in items):
            raise UnsupportedError(f"{who} indexes with {index!r}; tinyrt imports only slices of frames or of "
                                   f"leading features.")
        if len(items) > n:
            raise LayoutError(f"{who} indexes {len(items)} axes of a {n}-axis tensor.", self.progress)
        for axis, s in enumerate(items):
            if s == slice(None):
                continue
            kind = v.axes[axis]
            if kind == "t" and (s.start is None or isinstance(s.start, int) and s.start >= 0):
                v = replace(v, offset=v.offset + (s.start or 0))
            elif kind == "f" and s.start in (None, 0) and isinstance(s.stop, int) and s.stop > 0:
                have = self.n(v)
                if have is None or s.stop < have:
                    v = replace(v, features=s.stop, sliced=True, base=v.base if v.sliced else v.features)
            else:
                raise LayoutError(f"{who} slices the {AXIS_WORDS[kind]} axis with {s!r}; tinyrt imports only "
                                  f"frame slices starting at 0 or later and leading feature slices.",
                                  self.progress)
        return v

    def add(self, a: Value, b: Value, who: str) -> Value:
        """Return a + b where one is computed from the other: a residual layer with that body."""
        for body, skip in ((a, b), (b, a)):
            prefix = len(skip.layers)
            if (not skip.pair and not body.sliced and prefix < len(body.layers)
                    and all(x is y for x, y in zip(skip.layers, body.layers))):
                break
        else:
            raise UnsupportedError(f"{who} adds two tensors neither of which is computed from the other; "
                                   f"tinyrt imports only skip connections (a tensor added back to one computed "
                                   f"from it).")
        body = self.tensor(body, who)
        if body.axes != skip.axes:
            raise LayoutError(f"{who} adds a tensor laid out as {words(body.axes)} to one laid out as "
                              f"{words(skip.axes)}.", self.progress)
        if body.offset != skip.offset:
            raise UnsupportedError(f"{who} adds tensors whose frames do not line up (one is {body.offset} frames "
                                   f"behind the input, the other {skip.offset}); crop the skip to match.")
        n_body, n_skip = self.n(body), self.n(skip)
        if n_body is None or n_skip is None:
            self.input_size = n_body if n_skip is None else n_skip
        elif n_body != n_skip:
            raise UnsupportedError(f"{who} adds {n_body} features to {n_skip}; tinyrt adds a body's output to "
                                   f"the same number of leading input features, so slice the skip to match.")
        features = skip.base if skip.sliced else skip.features
        layer = Layer("residual", {"features": features}, layers=list(body.layers[len(skip.layers):]))
        return self.then(skip, layer, body.features)
