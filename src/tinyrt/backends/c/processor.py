"""The generated processor: several effect models behind one mono audio call (trt_proc.h), written once
for every live front door (the JACK host, the LV2 plugin's run(), Bela's render(), a firmware loop).

``generate_processor(models, name)`` returns the C of ``<name>.h``/``<name>.c`` with every model's
generated files and the parameter table; ``Processor`` compiles it and runs it through ctypes (for
tests, offline rendering and benchmarks). The processor's conventions are stated in trt_proc.h.
"""
from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field

import numpy as np

from ...c.build import build
from ...errors import InputError, ModelError, UnsupportedError
from .codegen import CCode, c_identifier, generate
from .engine import load_compiled

MAX_KNOBS = 8          # trt_proc.h's TRT_PROC_MAX_KNOBS
MAX_MODELS = 64
FIXED = ("effect", "bypass", "input_gain", "output_gain")


@dataclass
class Param:
    """One processor parameter: its index, name, range, default, unit and kind ("int", "toggle", "float")."""

    index: int
    name: str
    minimum: float
    maximum: float
    default: float
    unit: str = ""
    kind: str = "float"
    model: int | None = None  # the model a knob belongs to

    def to_json(self) -> dict:
        """Return the parameter as a JSON-ready dict."""
        return {"index": self.index, "name": self.name, "min": self.minimum, "max": self.maximum,
                "default": self.default, "unit": self.unit, "kind": self.kind, "model": self.model}


@dataclass
class ProcessorCode:
    """The generated processor: its C name, files, parameters, latency and the models behind it."""

    name: str
    header: str
    source: str
    models: list
    model_codes: list
    params: list
    latency: int
    sample_rate: float | None
    knob_counts: list = field(default_factory=list)

    def files(self) -> dict:
        """Return {file name: text} of the processor and every model's generated files."""
        out = {}
        for code in self.model_codes:
            out.update(code.files())
        out[f"{self.name}.h"] = self.header
        out[f"{self.name}.c"] = self.source
        return out


def _knobs(model, k: int) -> list:
    """Return the knob parameters of a model: from metadata "params" when it names them, else param1.."""
    n = model.in_channels - 1
    given = model.metadata.get("params") if isinstance(model.metadata.get("params"), list) else []
    knobs = []
    for j in range(n):
        spec = given[j] if j < len(given) and isinstance(given[j], dict) else {}
        lo, hi = float(spec.get("min", 0.0)), float(spec.get("max", 1.0))
        default = float(spec.get("default", (lo + hi) / 2))
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and lo <= default <= hi):
            raise ModelError(f"{model.name}: knob {j + 1} has range {lo:g}..{hi:g} and default {default:g}; "
                             f"the range must be finite, increasing and hold the default.")
        label = c_identifier(str(spec.get("name", f"param{j + 1}")))
        knobs.append((f"{c_identifier(model.name)}_{label}", lo, hi, default))
    return knobs


def _check(models: list, name: str) -> None:
    if not models:
        raise InputError("a processor needs at least one model.")
    if len(models) > MAX_MODELS:
        raise InputError(f"a processor holds at most {MAX_MODELS} models, got {len(models)}.")
    for m in models:
        if m.out_channels != 1 or m.output_size != m.block_size:
            raise UnsupportedError(f"{m.name} gives {m.output_size} values per {m.block_size}-sample frame; the "
                                   f"processor runs audio effects (one output sample per input sample).")
    rates = {m.sample_rate for m in models if m.sample_rate}
    if len(rates) > 1:
        raise InputError(f"the models run at different sample rates ({', '.join(f'{r:g}' for r in sorted(rates))} "
                         f"Hz); a processor runs at one rate.")
    idents = [c_identifier(m.name) for m in models]
    if len(set(idents)) != len(idents) or c_identifier(name) in idents:
        clash = next(i for i in idents if idents.count(i) > 1 or i == c_identifier(name))
        raise InputError(f"two parts of the processor would both be named '{clash}' in C; rename a model "
                         f"or choose another processor name.")


def generate_processor(models: list, name: str = "processor", **codegen_options) -> ProcessorCode:
    """Return the generated processor of the models (effects of one output sample per input sample)."""
    models = [m.validate() for m in models]
    _check(models, name)
    ident = c_identifier(name)
    up = ident.upper()
    latency = max(m.block_size - 1 for m in models)
    params = [Param(0, "effect", 0, len(models) - 1, 0, "", "int"), Param(1, "bypass", 0, 1, 0, "", "toggle"),
              Param(2, "input_gain", -60.0, 24.0, 0.0, "dB"), Param(3, "output_gain", -60.0, 24.0, 0.0, "dB")]
    knob0, counts = [], []
    for k, m in enumerate(models):
        knob0.append(len(params))
        knobs = _knobs(m, k)
        counts.append(len(knobs))
        params += [Param(len(params), n, lo, hi, d, "", "float", k) for n, lo, hi, d in knobs]
    if len(params) - len(FIXED) > MAX_KNOBS:
        raise UnsupportedError(f"the models have {len(params) - len(FIXED)} knobs together; a processor takes at "
                               f"most {MAX_KNOBS}.")
    codes: list[CCode] = [generate(m, c_identifier(m.name), **codegen_options) for m in models]
    rate = next((m.sample_rate for m in models if m.sample_rate), None)
    header = _header(ident, up, models, codes, params, latency, rate)
    source = _source(ident, up, models, codes, params, latency, knob0)
    return ProcessorCode(ident, header, source, models, codes, params, latency, rate, counts)


def _comment(text: str) -> str:
    """Return text safe inside a C block comment (no comment end, no line break)."""
    return " ".join(str(text).replace("*/", "* /").split())


def _header(ident, up, models, codes, params, latency, rate) -> str:
    includes = "\n".join(f'#include "{c.name}.h"' for c in codes)
    names = _comment(", ".join(m.name for m in models))
    members = []
    for k, (m, c) in enumerate(zip(models, codes)):
        delay = latency
        members += [f"{c.name}_state m{k}; /* model {k}: {_comment(m.name)}, block {m.block_size} */",
                    f"float m{k}_in[(TRT_PROC_CHUNK + {m.block_size}) * {m.in_channels}];",
                    f"float m{k}_fifo[{delay} + TRT_PROC_CHUNK + {m.block_size}];"]
    enum = "\n".join(f"    {up}_PARAM_{p.name.upper()} = {p.index}," for p in params)
    rate_c = f"{rate:.1f}f" if rate else "0.0f"
    body = "\n".join("    " + s for s in members)
    return f"""/* {ident}.h - a tinyrt processor of {len(models)} model(s): {names}.
 * Generated by tinyrt; do not edit. The conventions (parameters, latency, fades, bypass, non-finite
 * recovery, denormals) are those of trt_proc.h. Real-time contract: {ident}_process allocates nothing,
 * takes no lock, does no I/O and never waits; the caller owns {ident}_state (do not copy it: it
 * points into itself) and calls {ident}_init once before anything else.
 */
#ifndef TRT_PROCESSOR_{up}_H
#define TRT_PROCESSOR_{up}_H

#include <stddef.h>
#include "trt_proc.h"
{includes}

#define {up}_N_MODELS {len(models)}
#define {up}_N_PARAMS {len(params)}
#define {up}_LATENCY {latency} /* samples the output lags the input, every model padded to it */
#define {up}_SAMPLE_RATE {rate_c} /* the models' rate; 0: any */

enum {{
{enum}
}};

/* one mono sample in and out per frame (the engine-style API of the C harness) */
enum {{ {ident}_input_size = 1, {ident}_output_size = 1 }};

typedef struct {{
    trt_proc proc;
    trt_proc_model models[{len(models)}];
    float target[{len(params)}];
    float current[{len(params)}];
    float dry[{latency} + TRT_PROC_CHUNK];
{body}
}} {ident}_state;

/* Wire and reset the processor for a host running at sample_rate Hz; every parameter takes its
 * default. Return 0, or -1 when the models were trained at another rate (nothing is set up then). */
int {ident}_init({ident}_state *s, float sample_rate);

/* Return to the initial state, keeping the parameter values (the next call starts at them). On a
 * zeroed state that {ident}_init never saw, initialise it at the models' rate (48 kHz if any). */
void {ident}_reset({ident}_state *s);

/* Set parameter index (a {up}_PARAM_* value) to value; see trt_proc.h for units and ranges. */
void {ident}_set_param({ident}_state *s, int index, float value);

/* Return the value parameter index was last set to. */
float {ident}_get_param(const {ident}_state *s, int index);

/* Process n mono samples; in and out may be the same buffer. */
void {ident}_process({ident}_state *s, const float *in, float *out, int n);

/* Return the counters of calls, samples, replaced inputs, model resets and switches. */
const trt_proc_stats *{ident}_stats(const {ident}_state *s);

/* Return the index of the parameter called name, or -1. Not for the audio thread (it compares strings). */
int {ident}_param_index(const char *name);

/* Return the name of parameter index, or 0. */
const char *{ident}_param_name(int index);

/* Return sizeof({ident}_state), for callers that allocate the state without this header. */
size_t {ident}_state_size(void);

#endif /* TRT_PROCESSOR_{up}_H */
"""


def _source(ident, up, models, codes, params, latency, knob0) -> str:
    glue, wire = [], []
    for k, (m, c) in enumerate(zip(models, codes)):
        glue.append(f"static void m{k}_reset(void *s) {{ {c.name}_reset(({c.name}_state *)s); }}\n"
                    f"static void m{k}_process(void *s, const float *in, float *out, int n)\n"
                    f"{{\n    {c.name}_process(({c.name}_state *)s, in, out, n);\n}}\n")
        wire.append(f"    s->models[{k}].state = &s->m{k};\n"
                    f"    s->models[{k}].reset = m{k}_reset;\n"
                    f"    s->models[{k}].process = m{k}_process;\n"
                    f"    s->models[{k}].block = {m.block_size};\n"
                    f"    s->models[{k}].channels = {m.in_channels};\n"
                    f"    s->models[{k}].knob0 = {knob0[k]};\n"
                    f"    s->models[{k}].delay = {latency};\n"
                    f"    s->models[{k}].in = s->m{k}_in;\n"
                    f"    s->models[{k}].fifo = s->m{k}_fifo;\n")
    defaults = "\n".join(f"    s->target[{p.index}] = {float(p.default)!r}f; /* {_comment(p.name)} */" for p in params)
    names = ", ".join(f'"{p.name}"' for p in params)
    rate = next((m.sample_rate for m in models if m.sample_rate), None)
    rate_check = (f"    if (sample_rate != {rate:.1f}f)\n        return -1;\n" if rate else "")
    init_rate = f"{rate:.1f}f" if rate else "48000.0f"
    return f"""/* {ident}.c - generated by tinyrt; do not edit. */
#include <string.h>
#include "{ident}.h"

static const char *const param_names[{len(params)}] = {{{names}}};

{chr(10).join(glue)}
int {ident}_init({ident}_state *s, float sample_rate)
{{
{rate_check}    memset(s, 0, sizeof *s);
{''.join(wire)}    s->proc.models = s->models;
    s->proc.n_models = {len(models)};
    s->proc.n_params = {len(params)};
    s->proc.latency = {latency};
    s->proc.target = s->target;
    s->proc.current = s->current;
    s->proc.dry = s->dry;
    s->proc.smooth = 1.0f - expf(-1000.0f / (TRT_PROC_SMOOTH_MS * sample_rate));
    s->proc.fade_step = 1000.0f / (TRT_PROC_FADE_MS * sample_rate);
{defaults}
    trt_proc_reset(&s->proc);
    return 0;
}}

void {ident}_reset({ident}_state *s)
{{
    if (s->proc.models != s->models) {{
        (void){ident}_init(s, {init_rate});
        return;
    }}
    trt_proc_reset(&s->proc);
}}

void {ident}_set_param({ident}_state *s, int index, float value)
{{
    trt_proc_set_param(&s->proc, index, value);
}}

float {ident}_get_param(const {ident}_state *s, int index)
{{
    return index >= 0 && index < {len(params)} ? s->target[index] : 0.0f;
}}

void {ident}_process({ident}_state *s, const float *in, float *out, int n)
{{
    trt_proc_process(&s->proc, in, out, n);
}}

const trt_proc_stats *{ident}_stats(const {ident}_state *s)
{{
    return &s->proc.stats;
}}

int {ident}_param_index(const char *name)
{{
    int i;
    for (i = 0; i < {len(params)}; i++)
        if (strcmp(param_names[i], name) == 0)
            return i;
    return -1;
}}

const char *{ident}_param_name(int index)
{{
    return index >= 0 && index < {len(params)} ? param_names[index] : 0;
}}

size_t {ident}_state_size(void)
{{
    return sizeof({ident}_state);
}}
"""


class _Stats(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulong) for n in ("calls", "samples", "nonfinite_inputs", "model_resets", "switches")]


class Processor:
    """The generated processor compiled as a shared library and called through ctypes.

    ``process(audio)`` runs mono float32 audio through it (any length; state kept between calls);
    ``set_param(name_or_index, value)`` sets a parameter as a host would between two calls.
    """

    def __init__(self, models, name: str = "processor", sample_rate: float | None = None, *,
                 profile: str = "portable", **codegen_options):
        self.code = generate_processor(list(models), name, **codegen_options)
        self.sample_rate = float(sample_rate or self.code.sample_rate or 48000.0)
        self.library = build(self.code.files(), f"lib{self.code.name}_proc.so", profile=profile)
        n = self.code.name
        lib, self._buf, address = load_compiled(self.library, n, "processor")
        self._lib = lib
        self._state = ctypes.c_void_p(address)
        self._init = getattr(lib, f"{n}_init")
        self._init.argtypes = [ctypes.c_void_p, ctypes.c_float]
        self._set = getattr(lib, f"{n}_set_param")
        self._set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_float]
        self._get = getattr(lib, f"{n}_get_param")
        self._get.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self._get.restype = ctypes.c_float
        self._process = getattr(lib, f"{n}_process")
        self._process.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self._reset = getattr(lib, f"{n}_reset")
        self._reset.argtypes = [ctypes.c_void_p]
        self._stats = getattr(lib, f"{n}_stats")
        self._stats.argtypes = [ctypes.c_void_p]
        self._stats.restype = ctypes.POINTER(_Stats)
        if self._init(self._state, self.sample_rate) != 0:
            raise InputError(f"the models run at {self.code.sample_rate:g} Hz, not {self.sample_rate:g} Hz; "
                             f"resample the audio or run the host at the models' rate.")

    @property
    def params(self) -> list:
        """Return the parameters (Param) in index order."""
        return self.code.params

    @property
    def latency(self) -> int:
        """Return the samples the output lags the input."""
        return self.code.latency

    def _index(self, param) -> int:
        if isinstance(param, str):
            match = [p.index for p in self.code.params if p.name == param]
            if not match:
                raise InputError(f"the processor has no parameter {param!r}; it has "
                                 f"{', '.join(p.name for p in self.code.params)}.")
            return match[0]
        if not 0 <= int(param) < len(self.code.params):
            raise InputError(f"parameter index {param} is out of range 0..{len(self.code.params) - 1}.")
        return int(param)

    def set_param(self, param, value: float) -> None:
        """Set a parameter (by name or index) before the next process call."""
        self._set(self._state, self._index(param), float(value))

    def get_param(self, param) -> float:
        """Return the value a parameter was last set to."""
        return float(self._get(self._state, self._index(param)))

    def reset(self) -> None:
        """Return to the initial state, keeping the parameter values."""
        self._reset(self._state)

    def process(self, audio) -> np.ndarray:
        """Return the processed copy of mono audio (1-D float32), keeping state for the next call."""
        x = np.ascontiguousarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise InputError(f"the processor takes mono audio shaped (samples,), got {x.shape}.")
        out = np.empty_like(x)
        if len(x):
            self._process(self._state, x.ctypes.data, out.ctypes.data, len(x))
        return out

    def stats(self) -> dict:
        """Return the processor's counters (calls, samples, nonfinite_inputs, model_resets, switches)."""
        s = self._stats(self._state).contents
        return {name: int(getattr(s, name)) for name, _ in _Stats._fields_}
