"""IR -> C99 that processes frames in chunks: graphs (a NAM WaveNet) and stacks of stateless or conv1d layers.

``generate_block(model, ...)`` writes the same ``<name>.h`` / ``<name>.c`` API as the frame-by-frame
generator (codegen.py) but ``<name>_process`` cuts its call into chunks of up to ``frames`` frames
(64 by default) and runs every layer over a whole chunk with the kernels of trt_block.h:

- dense and conv1d are matrix products over the chunk (per conv tap: Y[c][t] += W_k[i][c] X[i][t - delay]);
- a conv1d's input tensor lives in a long linear history buffer per layer (``L`` past frames, then room
  for ``max(L, 2 * frames)`` new ones); when the next chunk would not fit, its last ``L`` frames are copied
  to the front: one copy every many chunks instead of a ring index per frame;
- every other tensor lives in one of a few scratch buffers, assigned by liveness (a WaveNet has ~140
  tensors, a handful live at once); elementwise layers write in place over an input that dies there;
- fusions that keep the frame engine's summation order: conv + input mixin summed into one product
  (``add`` of two products read nowhere else), a 1x1 accumulated onto the residual stream (``add`` of a
  product and a tensor: the tensor is added to the product's sum), a gain after a product applied to its
  sum, ``mul`` of two activations in one pass (a gated activation); layers whose output nothing reads are
  pruned.

Buffers live in the state struct, not on the stack (audio threads and microcontroller main stacks are
small): ``<NAME>_STATE_BYTES`` counts histories and scratch, ``<NAME>_STACK_BYTES`` the few locals.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedError
from ...ir.layers import INPUT
from ...ir.model import Model
from ...version import __version__
from .codegen import CCode, _float, _header, array_bytes, locals_bytes, struct_bytes
from .trees import c_comment, wrap_call

BLOCK_FRAMES = 64

_FUNCTIONS = {"identity": "TRT_BLK_IDENTITY", "tanh": "TRT_BLK_TANH", "sigmoid": "TRT_BLK_SIGMOID",
              "relu": "TRT_BLK_RELU", "softsign": "TRT_BLK_SOFTSIGN", "elu": "TRT_BLK_ELU",
              "prelu": "TRT_BLK_PRELU", "silu": "TRT_BLK_SILU", "gelu": "TRT_BLK_GELU"}
_LAYERS = ("dense", "conv1d", "activation", "add", "mul", "slice", "gain", "batchnorm")


def block_reason(model: Model) -> str | None:
    """Return why the block engine cannot run the model (one phrase), or None when it can."""
    for i, layer in enumerate(model.layers):
        if layer.type not in _LAYERS:
            return f"layer {i} is {layer.type}"
        if layer.type == "conv1d" and layer.params["groups"] != 1:
            return f"layer {i} is a grouped conv1d"
        if layer.type == "activation" and layer.params["function"] not in _FUNCTIONS:
            return f"layer {i} is a {layer.params['function']} activation"
    return None


@dataclass(eq=False)
class _T:
    """A tensor: `rows` channels per frame; stored in a scratch slot, a history buffer, or as a view."""

    rows: int
    base: _T | None = None      # a view (slice) of base, from row `offset`
    offset: int = 0
    history: int = 0            # past frames a conv reads (0: no history buffer)
    store: tuple = ()           # ("slot", k, row) or ("hist", k, row)

    def root(self) -> tuple:
        """Return (the tensor owning the storage, the first row of this tensor in it)."""
        t, off = self, 0
        while t.base is not None:
            t, off = t.base, off + t.offset
        return t, off


@dataclass(eq=False)
class _Op:
    kind: str                   # load, linear, unary, gated, binary, affine, view, store
    out: _T | None
    ins: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    terms: list = field(default_factory=list)      # linear: (weight (n_in, c_out), tensor, delay)
    bias: np.ndarray | None = None
    addend: _T | None = None
    scale: float | None = None
    fn: str = ""
    fns: tuple = ()
    alpha: float = 0.0
    slopes: np.ndarray | None = None
    shift: np.ndarray | None = None
    binop: str = ""

    def reads(self) -> list:
        return self.ins + [t for _, t, _ in self.terms] + ([self.addend] if self.addend is not None else [])


def _ops_of(model: Model) -> list:
    """Return the model as block ops (one per layer, plus load and store), dead layers pruned."""
    x_in = _T(model.input_size)
    ops = [_Op("load", x_in, paths=["input"])]
    named, prev = {INPUT: x_in}, x_in
    for i, layer in enumerate(model.layers):
        srcs = [named[n] for n in layer.inputs] or [prev]
        p, w, path = layer.params, layer.weights, str(i)
        out = _T(layer.out_features)
        if layer.type == "dense":
            op = _Op("linear", out, paths=[path], terms=[(w["weight"].T, srcs[0], 0)],
                     bias=w["bias"] if p["bias"] else None)
        elif layer.type == "conv1d":
            K, d = p["kernel_size"], p["dilation"]
            op = _Op("linear", out, paths=[path], terms=[(w["weight"][:, :, k].T, srcs[0], (K - 1 - k) * d)
                                                         for k in range(K)],
                     bias=w["bias"] if p["bias"] else None)
        elif layer.type == "activation":
            fn = p["function"]
            op = _Op("unary", out, [srcs[0]], [path], fn=fn, alpha=float(p.get("alpha", 0.0)),
                     slopes=w.get("weight") if fn == "prelu" else None)
        elif layer.type in ("add", "mul"):
            op = _Op("binary", out, list(srcs), [path], binop=layer.type)
        elif layer.type == "slice":
            out = _T(p["stop"] - p["start"], base=srcs[0], offset=p["start"])
            op = _Op("view", out, [srcs[0]], [path])
        elif layer.type == "gain":
            op = _Op("affine", out, [srcs[0]], [path], slopes=np.array([p["gain"]], dtype=np.float64))
        else:  # batchnorm, folded as the frame engine folds it
            f = {k: v.astype(np.float64) for k, v in w.items()}
            scale = f["weight"] / np.sqrt(f["running_var"] + p["eps"])
            op = _Op("affine", out, [srcs[0]], [path], slopes=scale, shift=f["bias"] - f["running_mean"] * scale)
        ops.append(op)
        if layer.output:
            named[layer.output] = out
        prev = out
    ops.append(_Op("store", None, [prev], ["output"]))
    return _prune(ops)


def _prune(ops: list) -> list:
    """Drop ops whose output nothing reads (the last WaveNet layer's 1x1 and its residual sum)."""
    while True:
        read = {id(t) for op in ops for t in op.reads()}
        keep = [op for op in ops if op.kind in ("store", "load") or id(op.out) in read]
        if len(keep) == len(ops):
            return ops
        ops = keep


def _uses(ops: list) -> dict:
    count: dict = {}
    for op in ops:
        for t in op.reads():
            count[id(t)] = count.get(id(t), 0) + 1
    return count


def _fuse(ops: list) -> list:
    """Fuse products, sums, gains and gated activations where the summation order stays the frame engine's."""
    changed = True
    while changed:
        changed = False
        uses = _uses(ops)
        producer = {id(op.out): op for op in ops if op.out is not None}
        for op in ops:
            srcs = [producer.get(id(t)) for t in op.ins]
            once = [s is not None and uses[id(s.out)] == 1 and s.out.base is None for s in srcs]
            plain = [once[j] and srcs[j].kind == "linear" and srcs[j].addend is None and srcs[j].scale is None
                     for j in range(len(srcs))]
            if op.kind == "binary" and op.binop == "add" and len(op.ins) == 2 and any(plain):
                if all(plain):  # conv + mixin: one product of all their terms
                    a, b = srcs
                    bias = None if a.bias is None and b.bias is None else \
                        (np.zeros(op.out.rows) if a.bias is None else a.bias.astype(np.float64)) + \
                        (0.0 if b.bias is None else b.bias.astype(np.float64))
                    new = _Op("linear", op.out, paths=a.paths + b.paths + op.paths, terms=a.terms + b.terms,
                              bias=bias)
                    drop = (a, b)
                else:           # a product accumulated onto a stream: the stream is added to its sum
                    j = plain.index(True)
                    a = srcs[j]
                    new = _Op("linear", op.out, paths=a.paths + op.paths, terms=a.terms, bias=a.bias,
                              addend=op.ins[1 - j])
                    drop = (a,)
            elif op.kind == "affine" and op.shift is None and len(op.slopes) == 1 and plain[0]:
                a = srcs[0]
                new = _Op("linear", op.out, paths=a.paths + op.paths, terms=a.terms, bias=a.bias, addend=a.addend,
                          scale=float(op.slopes[0]))
                drop = (a,)
            elif (op.kind == "binary" and op.binop == "mul" and all(once)
                  and all(s.kind == "unary" and s.slopes is None and s.fn != "elu" for s in srcs)):
                new = _Op("gated", op.out, [s.ins[0] for s in srcs], paths=[p for s in srcs for p in s.paths]
                          + op.paths, fns=tuple(s.fn for s in srcs))
                drop = tuple(srcs)
            else:
                continue
            ops = [new if o is op else o for o in ops if all(o is not d for d in drop)]
            changed = True
            break
    return ops


def _plan(ops: list, frames: int) -> tuple:
    """Place every tensor: history buffers for conv inputs, scratch slots by liveness. Return (ops, slots, hists)."""
    need: dict = {}
    for op in ops:
        for _, t, delay in op.terms:
            if delay:
                need[id(t)] = max(need.get(id(t), 0), delay)
    # a delayed read of a view (a slice) gets a copy of its own with the history
    out: list = []
    copies: dict = {}
    for op in ops:
        out.append(op)
        if op.out is not None and id(op.out) in need and op.out.base is not None:
            copy = _T(op.out.rows, history=need[id(op.out)])
            copies[id(op.out)] = copy
            out.append(_Op("unary", copy, [op.out], op.paths, fn="identity"))
    for op in out:
        op.terms = [(w, copies.get(id(t), t), d) if d else (w, t, d) for w, t, d in op.terms]
        if op.out is not None and id(op.out) in need and op.out.base is None:
            op.out.history = need[id(op.out)]
    ops = out
    last: dict = {}
    for i, op in enumerate(ops):
        for t in op.reads():
            r = t.root()[0]
            last[id(r)] = i
    hists: list = []   # (rows, L, row length)
    slots: list = []   # rows of each scratch slot
    owner: dict = {}   # slot -> the root tensors in it (an output written in place joins its input)
    for i, op in enumerate(ops):
        for k, roots in list(owner.items()):
            if all(last.get(id(r), -1) < i for r in roots):
                del owner[k]
        t = op.out
        if t is None:
            continue
        if op.kind == "view":
            root, off = t.root()
            kind, k, row = root.store
            t.store = (kind, k, row + off)
            continue
        if t.history:
            L = t.history
            hists.append((t.rows, L, -(-(L + max(L, 2 * frames)) // 16) * 16))
            t.store = ("hist", len(hists) - 1, 0)
            continue
        spot = _in_place(op, last, i)
        if spot is not None:
            t.store = spot
            owner[spot[1]].append(t)
            continue
        free = [k for k in range(len(slots)) if k not in owner]
        fits = [k for k in free if slots[k] >= t.rows]
        k = min(fits, key=lambda k: slots[k]) if fits else (max(free, key=lambda k: slots[k]) if free else None)
        if k is None:
            slots.append(0)
            k = len(slots) - 1
        slots[k] = max(slots[k], t.rows)
        owner[k] = [t]
        t.store = ("slot", k, 0)
    return ops, slots, hists


def _in_place(op: _Op, last: dict, i: int):
    """Return the storage of an input the op may overwrite (a scratch tensor read last here), or None."""
    if op.kind == "gated":
        candidates = op.ins[:1]  # trt_blk_gated runs in place over its first input only
    elif op.kind in ("unary", "affine", "binary"):
        candidates = op.ins
    elif op.kind == "linear" and op.addend is not None:
        candidates = [op.addend]
        if any(t.root()[0] is op.addend.root()[0] for _, t, _ in op.terms):
            return None
    else:
        return None
    for c in candidates:
        root, off = c.root()
        if root.store[0] != "slot" or last.get(id(root)) != i or c.rows != op.out.rows:
            continue
        others = [t for t in op.reads() if t is not c]
        if any(t.root()[0] is root and _overlap(t, c) for t in others):
            continue
        return c.store
    return None


def _overlap(a: _T, b: _T) -> bool:
    (_, ra), (_, rb) = a.root(), b.root()
    return ra < rb + b.rows and rb < ra + a.rows


class _Emitter:
    def __init__(self, frames: int, fast: bool):
        self.frames, self.fast = frames, fast
        self.consts: list = []
        self.body: list = []
        self.regions: list = []
        self.locals: list = []
        self.rows = 0
        self.hists: list = []

    def const(self, ident: str, values, note: str) -> str:
        items = [_float(v) for v in np.asarray(values, dtype=np.float32).ravel()]
        rows = [", ".join(items[j:j + 8]) for j in range(0, len(items), 8)]
        self.consts.append(f"{c_comment(note)}static const float TRT_ALIGN(64) {ident}[{len(items)}] = {{\n    "
                           + ",\n    ".join(rows) + "\n};")
        return ident

    def ptr(self, t: _T, delay: int = 0) -> tuple:
        """Return (C expression of the tensor's first row at this chunk's first frame - delay, row stride)."""
        kind, k, row = t.store
        if kind == "slot":
            return f"s->blk_s{k}" + (f" + {row * self.frames}" if row else ""), str(self.frames)
        length = self.hists[k][2]
        return (f"s->blk_h{k}" + (f" + {row * length}" if row else "") + f" + s->blk_p{k}"
                + (f" - {delay}" if delay else "")), str(length)

    def op(self, op: _Op, index: int) -> None:
        tag = f"b{index}"
        what = "layer" + ("s " if len(op.paths) > 1 else " ") + ", ".join(op.paths)
        if op.kind == "view":
            return
        k = len(self.regions)
        self.regions.append(op.paths[0])
        self.body.append(f"TRT_PROF_BEGIN({k}); /* {what}: {op.kind} */")
        getattr(self, "_" + op.kind)(op, tag, what)
        self.body.append(f"TRT_PROF_END({k});")

    def _load(self, op, tag, what):
        y, ys = self.ptr(op.out)
        self.body.append(f"trt_blk_load({y}, {ys}, in, {op.out.rows}, n);")

    def _store(self, op, tag, what):
        x, xs = self.ptr(op.ins[0])
        self.body.append(f"trt_blk_store(out, {op.ins[0].rows}, {x}, {xs}, n);")

    def _linear(self, op, tag, what):
        c_out = op.out.rows
        n_rows = sum(w.shape[0] for w, _, _ in op.terms)
        parts, gathers, row = [], [], 0
        for w, t, delay in op.terms:
            x, xs = self.ptr(t, delay)
            gathers.append(f"    trt_blk_gather(xr{f' + {row}' if row else ''}, {x}, {w.shape[0]}, {xs});")
            parts.append(f"{w.shape[0]} of {t.rows} channels " + (f"{delay} frames back" if delay else "now"))
            row += w.shape[0]
        weight = self.const(f"{tag}_w", np.concatenate([w for w, _, _ in op.terms]),
                            f"{what}: weight of {n_rows} input rows x {c_out} outputs, input-major; the rows: "
                            + ", ".join(parts))
        bias = "TRT_NO_BIAS" if op.bias is None else self.const(f"{tag}_b", op.bias, f"{what}: bias ({c_out})")
        addend, a_s = self.ptr(op.addend) if op.addend is not None else ("NULL", "0")
        y, ys = self.ptr(op.out)
        scale, scaled = (_float(op.scale), "1") if op.scale is not None else ("1.0f", "0")
        self.rows = max(self.rows, n_rows)
        self.body += ["{", f"    const float *xr[{n_rows}]; /* the input row of each weight row */", *gathers,
                      f"    trt_blk_linear({y}, {ys}, {weight}, {bias}, {addend}, {a_s}, xr, {n_rows}, {c_out}, "
                      f"{scale}, {scaled}, n);", "}"]

    def _fast(self) -> str:
        return "TRT_ACT_FAST" if self.fast else "TRT_ACT_PRECISE"

    def _unary(self, op, tag, what):
        x, xs = self.ptr(op.ins[0])
        y, ys = self.ptr(op.out)
        fn, rows = _FUNCTIONS[op.fn], op.out.rows
        slopes, n_slopes = "NULL", "0"
        if op.slopes is not None:
            slopes = self.const(f"{tag}_a", op.slopes, f"{what}: prelu slopes ({len(op.slopes)})")
            n_slopes = str(len(op.slopes))
        alpha = _float(op.alpha)
        if op.out.store == op.ins[0].store:
            self.body.append(f"trt_blk_unary_ip({y}, {ys}, {rows}, span, {fn}, {self._fast()}, {alpha}, "
                             f"{slopes}, {n_slopes});")
        else:
            self.body.append(f"trt_blk_unary({y}, {ys}, {x}, {xs}, {rows}, span, {fn}, {self._fast()}, {alpha}, "
                             f"{slopes}, {n_slopes});")

    def _gated(self, op, tag, what):
        (a, a_s), (b, bs) = self.ptr(op.ins[0]), self.ptr(op.ins[1])
        y, ys = self.ptr(op.out)
        fa, fb = (_FUNCTIONS[f] for f in op.fns)
        self.body.append(f"trt_blk_gated({y}, {ys}, {a}, {a_s}, {b}, {bs}, {op.out.rows}, span, {fa}, {fb}, "
                         f"{self._fast()});")

    def _binary(self, op, tag, what):
        y, ys = self.ptr(op.out)
        code = "1" if op.binop == "mul" else "0"
        ins = list(op.ins)
        if op.out.store != ins[0].store and op.out.store == ins[1].store:
            ins[0], ins[1] = ins[1], ins[0]  # in place over the second input: a + b = b + a, a * b = b * a
        if len(ins) > 2 and any(op.out.store == t.store for t in ins[1:]):
            raise AssertionError("an add of several inputs is never planned in place over a later one")
        a, a_s = self.ptr(ins[0])
        b, bs = self.ptr(ins[1])
        self.body.append(f"trt_blk_binary({y}, {ys}, {a}, {a_s}, {b}, {bs}, {op.out.rows}, span, {code});")
        for t in ins[2:]:
            b, bs = self.ptr(t)
            self.body.append(f"trt_blk_binary({y}, {ys}, {y}, {ys}, {b}, {bs}, {op.out.rows}, span, 0);")

    def _affine(self, op, tag, what):
        x, xs = self.ptr(op.ins[0])
        y, ys = self.ptr(op.out)
        scale = self.const(f"{tag}_g", op.slopes, f"{what}: scale ({len(op.slopes)})")
        shift = "NULL" if op.shift is None else self.const(f"{tag}_h", op.shift, f"{what}: shift ({len(op.shift)})")
        self.body.append(f"trt_blk_affine({y}, {ys}, {x}, {xs}, {op.out.rows}, span, {scale}, {len(op.slopes)}, "
                         f"{shift});")


def generate_block(model: Model, ident: str, activations: str = "precise", frames: int = BLOCK_FRAMES) -> CCode:
    """Return the C99 header and source of a block engine for the model (see the module docstring)."""
    reason = block_reason(model)
    if reason is not None:
        raise UnsupportedError(f"{model.name}: the block C engine runs dense, conv1d, activation, add, mul, slice, "
                               f"gain and batchnorm layers and {reason}; generate it with block=False.")
    if frames < 16 or frames % 16:
        raise UnsupportedError(f"the block C engine's chunk must be a positive multiple of 16 frames, got {frames}.")
    ops, slots, hists = _plan(_fuse(_ops_of(model)), frames)
    e = _Emitter(frames, activations == "fast")
    e.hists = hists
    for i, op in enumerate(ops):
        e.op(op, i)
    state = [f"float blk_h{k}[{rows * length}]; /* history of {rows} channels: {L} past frames, "
             f"then room for {length - L} */" for k, (rows, L, length) in enumerate(hists)]
    state += [f"float blk_s{k}[{rows * frames}]; /* scratch: {rows} channels x {frames} frames */"
              for k, rows in enumerate(slots)]
    state += [f"int blk_p{k}; /* where this chunk's frames go in blk_h{k} */" for k in range(len(hists))]
    rewind = [f"if (s->blk_p{k} + {frames} > {length}) {{ /* rewind: the last {L} frames to the front */\n"
              f"        trt_blk_rewind(s->blk_h{k}, {rows}, {length}, s->blk_p{k}, {L});\n"
              f"        s->blk_p{k} = {L};\n    }}" for k, (rows, L, length) in enumerate(hists)]
    advance = [f"s->blk_p{k} += n;" for k in range(len(hists))]
    reset = [f"s->blk_p{k} = {L};" for k, (_, L, _) in enumerate(hists)]
    chunk_locals = ["const int span = TRT_BLK_SPAN(n); /* frames the elementwise kernels compute: whole vectors */"] \
        if any("span" in line for line in e.body) else []
    # the chunk's locals, the largest row table, the chunk call's three pointer arguments
    stack = locals_bytes(["int t;", "int n;", *chunk_locals, f"const float *xr[{e.rows}];"]) + 8 * 3
    sizes = (array_bytes("\n".join(e.consts)), struct_bytes(state or ["char unused;"]), stack)
    return CCode(ident, _header(model, ident, state or ["char unused; /* the model keeps no state */"], sizes),
                 _source(ident, model, e, frames, rewind, advance, reset, chunk_locals, bool(state)),
                 tuple(e.regions))


def _source(ident, model, e, frames, rewind, advance, reset, chunk_locals, stateful) -> str:
    body = "\n".join(f"    {wrap_call(line, 4)}" for line in [*chunk_locals, *rewind, *e.body, *advance])
    reset_lines = "".join(f"    {line}\n" for line in reset)
    unused = "" if stateful else "    (void)s;\n"
    return f"""/* {ident}.c - generated by tinyrt {__version__}; do not edit.
 *
 * Block engine (trt_block.h): {ident}_process cuts its call into chunks of up to {frames} frames and runs
 * each layer over a whole chunk; every buffer lives in {ident}_state.
 */
#include "{ident}.h"
#include "trt_block.h"

#ifdef TRT_PROFILE
/* Instrumented build: the program defines these hooks (tinyrt's C harness does); region k times the
 * k-th block operation over a chunk. Without TRT_PROFILE they are no code. */
void trt_prof_begin(int region);
void trt_prof_end(int region);
#define TRT_PROF_BEGIN(k) trt_prof_begin(k)
#define TRT_PROF_END(k) trt_prof_end(k)
#else
#define TRT_PROF_BEGIN(k) ((void)0)
#define TRT_PROF_END(k) ((void)0)
#endif

{chr(10).join(e.consts)}

void {ident}_reset({ident}_state *s)
{{
    memset(s, 0, sizeof *s);
{reset_lines}}}

/* One chunk of n <= {frames} frames. */
static void {ident}_chunk({ident}_state *restrict s, const float *restrict in, float *restrict out, int n)
{{
{unused}{body}
}}

void {ident}_process({ident}_state *restrict s, const float *restrict in, float *restrict out, int n_frames)
{{
    int t, n;
    for (t = 0; t < n_frames; t += n) {{
        n = n_frames - t < {frames} ? n_frames - t : {frames};
        {ident}_chunk(s, in + (size_t)t * {model.input_size}, out + (size_t)t * {model.output_size}, n);
    }}
}}

size_t {ident}_state_size(void)
{{
    return sizeof({ident}_state);
}}
"""


def block_engine(model: Model, ident: str, activations: str, weights: str, block) -> CCode | None:
    """Return the block engine codegen.generate asked for (see its ``block``), or None for the frame engine."""
    asked = block is not None
    if not asked and not (model.is_graph and weights == "float32" and block_reason(model) is None):
        return None
    if weights != "float32":
        raise UnsupportedError(f"the block C engine stores float32 weights, not {weights}; generate "
                               f"{model.name} with block=False for {weights} weights.")
    frames = BLOCK_FRAMES if block is None or block is True else block
    if isinstance(frames, bool) or not isinstance(frames, int):
        raise UnsupportedError(f"block must be None, True, False or a chunk size in frames, got {block!r}.")
    return generate_block(model, ident, activations, frames)
