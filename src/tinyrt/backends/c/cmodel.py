"""CModel: a classic model's generated C library, compiled and called through ctypes, one C call per batch."""
from __future__ import annotations

import ctypes
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ...c.build import WARNINGS, build, cache_root, section_sizes
from ...errors import BuildError, InputError, UnsupportedError
from ...files import write_bytes, write_text
from .chain import chain_header, chain_spec, is_chain
from .classic import ClassicSpec, header, spec_for
from .codegen import c_identifier

CORTEX_M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-Os"]
PTR, INT = ctypes.c_void_p, ctypes.c_int


def _shim(ident: str, spec: ClassicSpec) -> str:
    """Return a C file exporting batch versions of the header's functions, for ctypes."""
    x = "float" if spec.scale is None else "int16_t"
    nf, no, up = spec.n_features, spec.n_outputs, ident.upper()
    task, methods = spec.info["task"], spec.info["methods"]
    row = f"const {x} *r = x + (size_t)i * {nf};"

    def batch(fn: str, out_type: str, body: str) -> str:
        return (f"void trt_shim_{fn}(const {x} *x, int n, {out_type} *out)\n{{\n    int i;\n"
                f"    for (i = 0; i < n; i++) {{\n        {row}\n        {body}\n    }}\n}}\n")

    parts = [batch("raw", "double", f"{ident}_raw(r, out + (size_t)i * {no});")]
    if task in ("classifier", "outlier"):
        parts.append(batch("predict", "int", f"out[i] = {ident}_predict(r);"))
    elif no == 1:
        parts.append(batch("predict", "float", f"out[i] = {ident}_predict(r);"))
    else:
        parts.append(batch("predict", "float", f"{ident}_predict(r, out + (size_t)i * {no});"))
    if "predict_proba" in methods:
        parts.append(batch("predict_proba", "float", f"{ident}_predict_proba(r, out + (size_t)i * {up}_N_CLASSES);"))
    if "decision_function" in methods and task == "classifier":
        parts.append(batch("decision_function", "float", f"{ident}_decision_function(r, out + (size_t)i * {no});"))
    if task == "outlier":
        parts.append(batch("decision_function", "float", f"out[i] = {ident}_decision_function(r);"))
    if task == "outlier" or "score_samples" in methods:
        parts.append(batch("score_samples", "float", f"out[i] = {ident}_score_samples(r);"))
    if spec.scale is not None:
        parts.append(f"void trt_shim_quantize(const float *x, int n, int16_t *out)\n{{\n    int i;\n"
                     f"    for (i = 0; i < n; i++)\n        {ident}_quantize(x + (size_t)i * {nf}, "
                     f"out + (size_t)i * {nf});\n}}\n")
    return f'#include "{ident}.h"\n\n' + "\n".join(parts)


def _device_source(ident: str, spec: ClassicSpec) -> str:
    """Return a C file with one external predict function, to measure code and data size on a target."""
    x = "float" if spec.scale is None else "int16_t"
    if spec.info["task"] == "regressor" and spec.n_outputs > 1:
        return f'#include "{ident}.h"\n\nvoid {ident}_device_predict(const {x} *x, float *y)\n{{\n' \
               f'    {ident}_predict(x, y);\n}}\n'
    ret = "float" if spec.info["task"] == "regressor" else "int"
    return f'#include "{ident}.h"\n\n{ret} {ident}_device_predict(const {x} *x);\n' \
           f'{ret} {ident}_device_predict(const {x} *x)\n{{\n    return {ident}_predict(x);\n}}\n'


class CModel:
    """A converted model compiled to C: scikit-learn's methods, running the generated C library.

    ``model`` is the IR (save it with ``model.save("x.tinyrt")``); ``header()`` / ``save()`` give
    the single-header library; ``features="int16"`` models take float input and quantise it with
    the generated ``<name>_quantize`` (``scale`` per feature, default from the thresholds).
    """

    def __init__(self, model, name: str | None = None, *, features: str = "float32", form: str = "nodes",
                 scale=None, profile: str = "portable"):
        if is_chain(model):
            self.spec, self._header = chain_spec(model, form, features, scale), chain_header
        else:
            self.spec, self._header = spec_for(model, form, features, scale), header
        self.model, self.features, self.form, self.profile = model, features, form, profile
        self.name = c_identifier(name or model.name)
        self.info = self.spec.info
        self.scale = self.spec.scale
        self._text = self._header(self.name, self.spec)
        self.library = build({f"{self.name}.h": self._text, "trt_shim.c": _shim(self.name, self.spec)},
                             f"lib{self.name}_classic.so", profile=profile)
        try:
            self._lib = ctypes.CDLL(str(self.library))
        except OSError as exc:
            raise BuildError(f"the compiled model {self.library} could not be loaded ({exc}).") from None

    @property
    def classes(self):
        """Return the class labels (None for a regressor)."""
        return None if self.info["classes"] is None else np.asarray(self.info["classes"])

    def header(self, name: str | None = None) -> str:
        """Return the text of the single-header C99 library (named ``name`` if given)."""
        if name is None or c_identifier(name) == self.name:
            return self._text
        return self._header(c_identifier(name), self.spec)

    def save(self, path, name: str | None = None) -> Path:
        """Write the model to path and return the path.

        ``.h``: the single-header C99 library (prefix ``name``, default the file's stem); ``.bin``: the
        binary model file trt_trees_load reads; ``.csv``: the same model as text, one line per node.
        """
        from .loadable import to_binary, to_csv
        path = Path(path)
        # every form is built in memory first and written atomically: a failure leaves any earlier file untouched
        if path.suffix == ".h":
            write_text(path, self.header(name or path.stem), "C header")
        elif path.suffix in (".bin", ".csv") and not isinstance(self.spec, ClassicSpec):
            raise UnsupportedError(f"the loadable {path.suffix} format holds tree models; save "
                                   f"{self.info['estimator']} as a .h C library.")
        elif path.suffix == ".bin":
            write_bytes(path, to_binary(self.spec), "binary model")
        elif path.suffix == ".csv":
            write_text(path, to_csv(self.spec), "CSV model")
        else:
            raise InputError(f"cannot tell the format of {path.name}; save to a .h (C library), .bin (binary "
                             f"loadable model) or .csv (text loadable model) file.")
        return path

    def _rows(self, X) -> np.ndarray:
        """Return X checked and in the C input type (float32, or int16 after quantisation)."""
        x = np.asarray(X)
        n = self.spec.n_features
        if x.ndim != 2 or x.shape[1] != n:
            raise InputError(f"{self.name} expects X of shape (n_samples, {n}), got {x.shape}; reshape single "
                             f"samples with X.reshape(1, -1).")
        if x.dtype.kind not in "iuf":
            raise InputError(f"{self.name} expects numbers, got an array of {x.dtype}.")
        x = np.ascontiguousarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            raise InputError(f"X contains NaN or infinite values; {self.name} does not route missing values "
                             f"(impute them before predicting).")
        return x if self.scale is None else self.quantize(x)

    def quantize(self, X) -> np.ndarray:
        """Return the int16 features the C library computes from float X (int16 models only)."""
        if self.scale is None:
            raise UnsupportedError(f"{self.name} takes float32 features; quantize() is for features='int16'.")
        x = np.ascontiguousarray(X, dtype=np.float32)
        out = np.empty(x.shape, dtype=np.int16)
        self._lib.trt_shim_quantize(x.ctypes.data_as(PTR), INT(len(x)), out.ctypes.data_as(PTR))
        return out

    def _call(self, fn: str, X, dtype, width: int) -> np.ndarray:
        x = self._rows(X)
        out = np.empty((len(x), width), dtype=dtype)
        if len(x):
            getattr(self._lib, f"trt_shim_{fn}")(x.ctypes.data_as(PTR), INT(len(x)), out.ctypes.data_as(PTR))
        return out

    def _method(self, method: str) -> None:
        if method not in self.info["methods"]:
            raise UnsupportedError(f"{self.info['estimator']} has no {method}; it has "
                                   f"{', '.join(self.info['methods'])}.")

    def raw(self, X) -> np.ndarray:
        """Return the float64 raw outputs (n_samples, n_outputs) the C library computes (the IR's output)."""
        return self._call("raw", X, np.float64, self.spec.n_outputs)

    def predict(self, X) -> np.ndarray:
        """Return the predictions: class labels, +1/-1 for outlier detectors, or values for regressors."""
        if self.info["task"] == "regressor":
            y = self._call("predict", X, np.float32, self.spec.n_outputs)
            return y[:, 0] if y.shape[1] == 1 else y
        index = self._call("predict", X, np.int32, 1)[:, 0]
        return index if self.info["task"] == "outlier" else self.classes[index]

    def predict_proba(self, X) -> np.ndarray:
        """Return the class probabilities (n_samples, n_classes) as float32."""
        self._method("predict_proba")
        return self._call("predict_proba", X, np.float32, self.spec.n_classes)

    def decision_function(self, X) -> np.ndarray:
        """Return the decision values as float32, shaped as scikit-learn's decision_function."""
        self._method("decision_function")
        y = self._call("decision_function", X, np.float32,
                       1 if self.info["task"] == "outlier" else self.spec.n_outputs)
        return y[:, 0] if y.shape[1] == 1 else y

    def score_samples(self, X) -> np.ndarray:
        """Return the anomaly scores (lower is more abnormal) as float32."""
        self._method("score_samples")
        return self._call("score_samples", X, np.float32, 1)[:, 0]

    def agreement(self, estimator, X) -> dict:
        """Return how this C model agrees with the scikit-learn estimator on float inputs X.

        ``fraction``: share of samples with the same prediction (classes, +1/-1; for regressors, values
        within 2**-20 relative, a few float32 rounding steps); ``max_abs_error``: the largest difference in
        probabilities (classifiers; decision values for those without predict_proba), scores (outlier
        detectors) or predicted values (regressors).
        """
        ours, theirs = self.predict(X), estimator.predict(X)
        task = self.info["task"]
        if task == "regressor":
            theirs = np.asarray(theirs).reshape(ours.shape)
            same = np.abs(ours - theirs) <= 2.0 ** -20 * np.abs(theirs)
            error = np.abs(ours - theirs)
        else:
            same = ours == theirs
            method = "score_samples" if task == "outlier" else next(
                m for m in ("predict_proba", "decision_function", "predict") if m in self.info["methods"])
            a, b = getattr(self, method)(X), getattr(estimator, method)(X)
            if method == "predict":
                a, b = np.zeros(1), np.zeros(1)
            error = np.abs(a - b)
        same = same.reshape(len(same), -1).all(axis=1)
        return {"samples": len(same), "agree": int(same.sum()), "fraction": float(same.mean()),
                "max_abs_error": float(error.max()) if error.size else 0.0}

    def object_sizes(self, target: str = "host") -> dict:
        """Return the text/rodata/data/bss bytes of the model's predict compiled for "host" or "cortex-m4"."""
        files = {f"{self.name}.h": self._text, f"{self.name}_device.c": _device_source(self.name, self.spec)}
        if target == "host":
            return section_sizes(build(files, f"{self.name}_device.o", kind="object", profile=self.profile))
        if target != "cortex-m4":
            raise UnsupportedError(f"target must be 'host' or 'cortex-m4', got {target!r}.")
        return section_sizes(cross_compile(files, "arm-none-eabi-gcc", CORTEX_M4), "arm-none-eabi-size")


def export(model, path, name: str | None = None, features: str = "float32", form: str = "nodes") -> Path:
    """Write a classic model's C library (.h) or loadable model file (.bin, .csv); return the path."""
    return CModel(model, name, features=features, form=form).save(path, name)


def cross_compile(files: dict, cc: str, flags: list) -> Path:
    """Return the object compiled from the one .c file in files by a cross compiler (build.WARNINGS: C99, pedantic).

    Objects are cached by content in tinyrt's build cache, like tinyrt.c.build.build.
    """
    if shutil.which(cc) is None:
        raise BuildError(f"{cc} is not installed; `make install` installs the Cortex-M toolchain.")
    source = next(n for n in files if n.endswith(".c"))
    key = hashlib.sha256(json.dumps([sorted(files.items()), cc, flags]).encode()).hexdigest()[:20]
    work = cache_root() / f"cross-{key}"
    obj = work / (Path(source).stem + ".o")
    if obj.is_file():
        return obj
    work.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        (work / fname).write_text(text)
    proc = subprocess.run([cc, *WARNINGS, *flags, "-I", str(work), "-c", str(work / source), "-o", str(obj)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{cc} rejected the generated code ({proc.stderr.strip()[:300]}).")
    return obj
