"""tree_ensemble layers in trt_trees.h's form: split-node tables, int16 thresholds, and their C text.

Node-array form: split nodes first (float32 or int16 threshold, uint8 or uint16 feature, two int16
children), then one self-looping entry per unique float64 leaf row, so a walk needs no leaf test.
Inline form: one if/else function per tree returning its leaf row.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import numpy as np

from ...errors import UnsupportedError
from ...ir.reference_classic import join64

MAX_NODES = 32767      # TRT_TREES_MAX_NODES: split nodes plus leaf rows, int16 node indices
Q_MAX = 32767          # int16 features are clipped to [-Q_MAX, Q_MAX]
SCALE_HEADROOM = 1.0625  # default scale: the largest |threshold| of a feature maps to Q_MAX / 1.0625


@dataclass
class TreeTables:
    """One tree_ensemble as trt_trees.h evaluates it."""

    n_features: int
    n_outputs: int
    leaf_width: int
    combine: str
    denominator: float
    max_depth: int
    feature: np.ndarray      # (splits,) int64
    threshold: np.ndarray    # (splits,) float32
    children: np.ndarray     # (splits, 2) int64: split index, or splits + leaf row
    roots: np.ndarray        # (trees,) int64, coded like children
    outputs: np.ndarray      # (trees,) int64
    leaf_values: np.ndarray  # (rows, leaf_width) float64, unique rows
    bias: np.ndarray         # (n_outputs,) float64

    @property
    def n_trees(self) -> int:
        """Return the number of trees."""
        return len(self.roots)

    @property
    def n_splits(self) -> int:
        """Return the number of split nodes."""
        return len(self.feature)

    def check_node_limits(self, what: str) -> None:
        """Raise UnsupportedError if the int16 node indices of ``what`` cannot hold this ensemble."""
        total = self.n_splits + len(self.leaf_values)
        if total > MAX_NODES:
            raise UnsupportedError(f"the ensemble has {self.n_splits} split nodes and {len(self.leaf_values)} distinct "
                                   f"leaves, {total} nodes, more than the {MAX_NODES} that {what}'s int16 node "
                                   f"indices hold; use form='inline', or fewer or shallower trees.")

    def node_arrays(self, threshold_q=None) -> tuple:
        """Return (threshold, feature, children) over split nodes then one self-looping entry per leaf row."""
        rows, n = len(self.leaf_values), self.n_splits
        threshold = self.threshold if threshold_q is None else threshold_q
        own = np.repeat(n + np.arange(rows), 2).reshape(rows, 2)
        return (np.concatenate([threshold, np.zeros(rows, threshold.dtype)]),
                np.concatenate([self.feature, np.zeros(rows, np.int64)]),
                np.concatenate([self.children, own]).ravel())


def tree_tables(layer) -> TreeTables:
    """Return the split-node tables of a tree_ensemble layer, leaf rows de-duplicated exactly."""
    w, p = layer.weights, layer.params
    feature, left, right, leaf, root, output = (w[k].astype(np.int64) for k in
                                                ("feature", "left", "right", "leaf", "root", "output"))
    split = left >= 0
    split_index = np.where(split, np.cumsum(split) - 1, -1)
    values = join64(w["value"], w["value_lo"])
    unique: dict = {}
    row_of = np.array([unique.setdefault(v.tobytes(), len(unique)) for v in values], dtype=np.int64)
    table = np.frombuffer(b"".join(unique), dtype=np.float64).reshape(len(unique), p["leaf_width"])
    ref = np.where(split, split_index, split.sum() + row_of[np.maximum(leaf, 0)])
    depth = np.zeros(len(left), dtype=np.int64)
    for n in np.flatnonzero(split):  # children come after their parent
        depth[left[n]] = depth[right[n]] = depth[n] + 1
    return TreeTables(
        n_features=p["features"], n_outputs=p["outputs"], leaf_width=p["leaf_width"], combine=p["combine"],
        denominator=p["denominator"], max_depth=int(depth[~split].max()),
        feature=feature[split], threshold=w["threshold"][split].astype(np.float32),
        children=np.stack([ref[left[split]], ref[right[split]]], axis=1).reshape(-1, 2),
        roots=ref[root], outputs=output, leaf_values=table, bias=join64(w["bias"], w["bias_lo"]))


def default_scale(tables: TreeTables) -> np.ndarray:
    """Return per-feature int16 scales: the largest |threshold| of each feature maps just inside the int16 range."""
    reach = np.zeros(tables.n_features)
    np.maximum.at(reach, tables.feature, np.abs(tables.threshold.astype(np.float64)))
    reach[reach == 0] = 1.0
    return (Q_MAX / (reach * SCALE_HEADROOM)).astype(np.float32)


def quantize(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Return int16 features as trt_trees_quantize makes them (float32 x * scale, rounded half away, clipped)."""
    v = np.asarray(x, dtype=np.float32) * scale.astype(np.float32)
    v = np.clip(v, np.float32(-Q_MAX), np.float32(Q_MAX))
    half = np.float32(0.5)
    return np.where(v < 0, v - half, v + half).astype(np.int16)


def quantized_thresholds(tables: TreeTables, scale: np.ndarray) -> np.ndarray:
    """Return int16 thresholds Q: x_q goes left iff x_q <= Q iff float32(x_q / scale) <= the float32 threshold.

    Q = floor(t * scale) (exact: the float64 product of two float32 numbers), raised while the next
    integer still divides back to a float32 not above t, then clipped: Q >= 32767 always goes left,
    Q = -32768 always right (quantised inputs lie in [-32767, 32767]).
    """
    s = scale[tables.feature].astype(np.float32)
    t = tables.threshold
    q = np.clip(np.floor(t.astype(np.float64) * s.astype(np.float64)), -Q_MAX - 1, Q_MAX)
    while True:
        nxt = q + 1
        ok = (nxt <= Q_MAX) & (nxt.astype(np.float32) / s <= t)
        if not ok.any():
            return q.astype(np.int16)
        q = np.where(ok, nxt, q)


def c_float(v) -> str:
    """Return a C float literal that reads back as exactly the float32 value v."""
    f = np.float32(v)
    if f == 0 or 1e-4 <= abs(f) < 1e7:
        return np.format_float_positional(f, unique=True, trim="0") + "f"
    return np.format_float_scientific(f, unique=True, trim="0") + "f"


def c_double(v) -> str:
    """Return a C double literal that reads back as exactly the float64 value v."""
    text = repr(float(v))
    return text if any(c in text for c in ".en") else text + ".0"


def c_comment(text: str, width: int = 100) -> str:
    """Return text as a C comment of lines up to width characters (text must not contain a comment end)."""
    lines = textwrap.wrap(text, width - 3)
    return "/* " + "\n * ".join(lines) + " */\n"


def wrap_call(statement: str, indent: int, width: int = 100) -> str:
    """Return a one-line C call statement wrapped after commas, continuation lines under its first argument.

    ``indent`` is the column the statement starts at; a trailing comment stays on the last line, and a
    statement already on several lines is left as it is.
    """
    code, _, comment = statement.partition(" /* ")
    if indent + len(code) <= width or "(" not in code or "\n" in statement:
        return statement
    head = code[:code.index("(") + 1]
    pieces = re.split(r"(?<=,) ", code[len(head):])
    lines, line, column = [], head + pieces[0], indent + len(head) + len(pieces[0])
    for piece in pieces[1:]:
        if column + 1 + len(piece) > width:
            lines.append(line)
            line, column = " " * (indent + len(head)) + piece, indent + len(head) + len(piece)
        else:
            line, column = f"{line} {piece}", column + 1 + len(piece)
    lines.append(line + (f" /* {comment}" if comment else ""))
    return "\n".join(lines)


def c_array(ctype: str, ident: str, items: list, per_line: int = 12, note: str = "") -> str:
    """Return a static const C array definition of already formatted items, under a comment when note is given."""
    rows = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    comment = c_comment(note) if note else ""
    return f"{comment}static const {ctype} {ident}[{len(items)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def weight_note(layer, key: str, where: str) -> str:
    """Return the comment of a float64 table made from IR tensors key and key_lo: where, layer type, key, shape."""
    shape = layer.weights[key].shape
    order = ", row-major" if len(shape) > 1 else ""
    return f"{where} {layer.type} {key} + {key}_lo ({' x '.join(str(n) for n in shape)}) joined to float64{order}"


def c_tables(prefix: str, tables: TreeTables, threshold_q=None, scale=None, nodes: bool = True) -> tuple:
    """Return (C array definitions, {struct field: C expression}) for a model's tables."""
    text, fields = [], {}
    splits, rows = tables.n_splits, len(tables.leaf_values)
    unused = f"{splits} split nodes, then {rows} zeros for the leaf rows"

    def add(field, ctype, items, note, per_line=12):
        text.append(c_array(ctype, f"{prefix}_{field}", items, per_line, note))
        fields[field] = f"{prefix}_{field}"

    if nodes:
        threshold, feature, children = tables.node_arrays(threshold_q)
        if threshold_q is None:
            add("threshold", "float", [c_float(v) for v in threshold],
                f"x[feature] <= threshold goes left; {unused}")
        else:
            add("threshold_q", "int16_t", [str(int(v)) for v in threshold],
                f"x_q[feature] <= threshold_q goes left; {unused}")
        kind = ("feature8", "uint8_t") if tables.n_features <= 256 else ("feature", "uint16_t")
        add(*kind, [str(int(v)) for v in feature], f"the feature each split tests; {unused}")
        add("children", "int16_t", [str(int(v)) for v in children],
            f"left, right child of the {splits} split nodes, then of the {rows} leaf rows (leaf row r is node "
            f"{splits} + r, its own child)")
        add("roots", "int16_t", [str(int(v)) for v in tables.roots], "first node of each tree")
    if scale is not None:
        add("scale", "float", [c_float(v) for v in scale], "int16 features: x_q = round(x * scale), per feature")
    if tables.outputs.any():
        add("outputs", "uint16_t", [str(int(v)) for v in tables.outputs], "first output column of each tree")
    add("leaf_values", "double", [c_double(v) for v in tables.leaf_values.ravel()],
        f"the {rows} distinct leaf rows, {tables.leaf_width} float64 values each", 4)
    if tables.bias.any():
        add("bias", "double", [c_double(v) for v in tables.bias], "float64 starting value of each output", 4)
    return "".join(text), fields


def c_struct(ident: str, tables: TreeTables, fields: dict, *, predict: str = "value", proba: str = "none",
             n_classes: int = 0, offset: float = 0.0, proba_scale: float = 1.0, nodes: bool = True) -> str:
    """Return the static const trt_trees definition of a model (predict, proba: trt_trees.h kinds, lower case)."""
    combine = f"TRT_TREES_{tables.combine.upper()}"
    predict = f"TRT_TREES_{predict.upper()}"
    proba = f"TRT_TREES_PROBA_{proba.upper()}"
    values = {
        "n_features": tables.n_features, "n_outputs": tables.n_outputs, "n_trees": tables.n_trees,
        "n_nodes": tables.n_splits if nodes else 0, "n_leaves": len(tables.leaf_values),
        "leaf_width": tables.leaf_width, "max_depth": tables.max_depth if nodes else 0, "n_classes": n_classes,
        "combine": combine, "predict": predict, "proba": proba, "denominator": c_double(tables.denominator),
        "offset": c_double(offset), "proba_scale": c_double(proba_scale), **fields}
    body = ",\n    ".join(f".{k} = {v}" for k, v in values.items())
    return f"/* the model as trt_trees.h walks it: counts, kinds and the tables above */\n" \
           f"static const trt_trees {ident} = {{\n    {body}\n}};\n"


def inline_trees(prefix: str, tables: TreeTables, threshold_q=None) -> str:
    """Return one C function per tree, ``int <prefix>_tree<t>(const float *x)``, returning its leaf row."""
    ctype = "float" if threshold_q is None else "int16_t"
    out = []
    for t, root in enumerate(tables.roots):
        lines = [f"static inline int {prefix}_tree{t}(const {ctype} *x)", "{"]
        if root >= tables.n_splits:
            lines.append("    (void)x;")
        stack = [(int(root), 1)]  # a node to open, or a line of text to emit
        while stack:
            item, depth = stack.pop()
            pad = "    " * depth
            if isinstance(item, str):
                lines.append(pad + item)
            elif item >= tables.n_splits:
                lines.append(f"{pad}return {item - tables.n_splits};")
            else:
                t_c = c_float(tables.threshold[item]) if threshold_q is None else str(int(threshold_q[item]))
                lines.append(f"{pad}if (x[{tables.feature[item]}] <= {t_c}) {{")
                stack += [("}", depth), (int(tables.children[item, 1]), depth + 1), ("} else {", depth),
                          (int(tables.children[item, 0]), depth + 1)]
        out.append("\n".join(lines + ["}", ""]))
    return "\n".join(out)


def emit_tree_ensemble(writer, layer, tag: str, src: str, n_in: int, dst) -> str:
    """Write a tree_ensemble layer into a generated model file (codegen's writer); return its output buffer."""
    tables = tree_tables(layer)
    tables.check_node_limits("the C engine")
    arrays, fields = c_tables(tag, tables)
    writer.includes.add("trt_trees.h")
    writer.consts.append(arrays + c_struct(f"{tag}_trees", tables, fields))
    n_out = layer.out_features
    writer.locals.append(f"double {tag}_raw[{n_out}];")
    out = writer.tmp(n_out, dst)
    writer.body.append(f"trt_trees_raw(&{tag}_trees, {src}, {tag}_raw);")
    writer.body.append(f"trt_trees_value(&{tag}_trees, {tag}_raw, {out});")
    return out
