"""The ``lv2`` target: the generated processor as a mono LV2 plugin bundle any LV2 host loads.

``DIR/<name>.lv2/`` holds ``manifest.ttl``, ``<name>.ttl`` (ports: audio in and out, one control
input per processor parameter, a ``latency`` control output) and ``<name>.so``: the generated
processor (``generate_processor``) plus a thin wrapper written here, built against Debian's lv2-dev
headers for the host or cross-built for an ARM board (``arch`` "aarch64": Raspberry Pi 4 / Elk
Audio OS, "armhf": Bela). The wrapper's run() reads the control ports, passes the values that
changed to ``<name>_set_param``, makes one ``<name>_process`` call and writes the latency; it
allocates nothing, takes no lock and does no I/O. A host running at another rate than the models'
gets no instance (instantiate returns NULL).
"""
from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

from ..backends.c import c_identifier
from ..backends.c.processor import generate_processor
from ..c.build import build as host_build
from ..c.cross import cross_build
from ..errors import InputError, UnsupportedError
from ..files import write_text
from . import Deployment

ARCHES = ("host", "aarch64", "armhf")
FLAGS = ("-fvisibility=hidden",)  # only lv2_descriptor leaves the library
FIXED_PORTS = 2  # audio in 0, audio out 1; parameters from 2; latency last
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|\\^`\x7f]+")
_LABELS = {"effect": "Effect", "bypass": "Bypass", "input_gain": "Input gain", "output_gain": "Output gain"}


def check_uri(uri: str) -> str:
    """Return the URI when it is a valid absolute URI that Turtle can hold, else raise InputError."""
    if not isinstance(uri, str) or not _URI.fullmatch(uri):
        raise InputError(f"{uri!r} is not a valid absolute URI for the plugin; give one like "
                         f"urn:tinyrt:pedal or https://example.com/plugins/pedal (no spaces, quotes or <>).")
    return uri


def turtle_string(text: str) -> str:
    """Return text as a quoted Turtle string literal (every special character escaped)."""
    out = []
    for ch in str(text):
        if ch in "\\\"":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7f or 0xd800 <= ord(ch) <= 0xdfff:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def c_string(text: str) -> str:
    """Return text as a C99 string literal (ASCII only: other bytes as octal escapes)."""
    out = []
    for byte in str(text).encode("utf-8"):
        ch = chr(byte)
        if ch in "\\\"":
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7f and ch != "?":  # '?' escaped: no trigraphs
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _number(value: float) -> str:
    """Return a float as a Turtle decimal/double literal."""
    text = repr(float(value))
    return text if ("e" in text or "." in text) else text + ".0"


def port_labels(code) -> list:
    """Return the lv2:name of each processor parameter, in index order (also Sushi's parameter names)."""
    labels = []
    for p in code.params:
        if p.name in _LABELS:
            labels.append(_LABELS[p.name])
        else:
            model = code.models[p.model].name
            labels.append(f"{model}: {p.name[len(c_identifier(model)) + 1:] or p.name}")
    return labels


def _ttl(code, uri: str, title: str) -> str:
    labels = port_labels(code)
    ports = ["""[
        a lv2:AudioPort , lv2:InputPort ;
        lv2:index 0 ;
        lv2:symbol "in" ;
        lv2:name "In"
    ]""", """[
        a lv2:AudioPort , lv2:OutputPort ;
        lv2:index 1 ;
        lv2:symbol "out" ;
        lv2:name "Out"
    ]"""]
    for p, label in zip(code.params, labels):
        lines = ["a lv2:ControlPort , lv2:InputPort", f"lv2:index {FIXED_PORTS + p.index}",
                 f"lv2:symbol {turtle_string(p.name)}", f"lv2:name {turtle_string(label)}"]
        maximum = p.maximum
        if p.kind == "int":
            maximum = max(p.maximum, 1)  # a one-model plugin still gets a non-empty range
            points = " ,\n            ".join(
                f"[ rdfs:label {turtle_string(m.name)} ; rdf:value {k} ]" for k, m in enumerate(code.models))
            lines += ["lv2:portProperty lv2:integer , lv2:enumeration", f"lv2:scalePoint {points}"]
        elif p.kind == "toggle":
            lines += ["lv2:portProperty lv2:toggled"]
        if p.unit == "dB":
            lines += ["units:unit units:db"]
        lines += [f"lv2:default {_number(p.default)}", f"lv2:minimum {_number(p.minimum)}",
                  f"lv2:maximum {_number(maximum)}"]
        ports.append("[\n        " + " ;\n        ".join(lines) + "\n    ]")
    ports.append(f"""[
        a lv2:ControlPort , lv2:OutputPort ;
        lv2:index {FIXED_PORTS + len(code.params)} ;
        lv2:symbol "latency" ;
        lv2:name "Latency" ;
        lv2:designation lv2:latency ;
        lv2:portProperty lv2:reportsLatency , lv2:integer ;
        units:unit units:frame ;
        lv2:minimum 0 ;
        lv2:maximum {max(code.latency, 1)}
    ]""")
    names = ", ".join(m.name for m in code.models)
    return f"""@prefix doap: <http://usefulinc.com/ns/doap#> .
@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix units: <http://lv2plug.in/ns/extensions/units#> .

<{uri}>
    a lv2:Plugin , lv2:SimulatorPlugin ;
    doap:name {turtle_string(title)} ;
    rdfs:comment {turtle_string(f"tinyrt processor of {len(code.models)} model(s): {names}")} ;
    lv2:optionalFeature lv2:hardRTCapable ;
    lv2:port {" , ".join(ports)} .
"""


def _manifest(uri: str, ident: str) -> str:
    return f"""@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

<{uri}>
    a lv2:Plugin ;
    lv2:binary <{ident}.so> ;
    rdfs:seeAlso <{ident}.ttl> .
"""


def _wrapper(code, uri: str) -> str:
    n, up = code.name, code.name.upper()
    return f"""/* {n}_lv2.c - the LV2 wrapper of the tinyrt processor {n}. Generated by tinyrt; do not edit.
 * Ports: 0 audio in, 1 audio out, 2 .. 2 + {up}_N_PARAMS - 1 the processor's parameters in index
 * order, then the latency output. run() is the audio path: it reads the control ports, passes the
 * values that changed to {n}_set_param, makes one {n}_process call and writes the latency;
 * it allocates nothing, takes no lock and does no I/O. */
#define _POSIX_C_SOURCE 200112L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lv2/core/lv2.h>
#include "{n}.h"

#define PLUGIN_URI {c_string(uri)}
#define PORT_PARAM0 {FIXED_PORTS}
#define PORT_LATENCY ({FIXED_PORTS} + {up}_N_PARAMS)

typedef struct {{
    {n}_state state; /* first: the allocation is 64-byte aligned */
    const float *in;
    float *out;
    float *latency;
    const float *params[{up}_N_PARAMS];
    float last[{up}_N_PARAMS];
    int fresh; /* set by activate: the next run passes every parameter */
}} plugin;

static LV2_Handle instantiate(const LV2_Descriptor *descriptor, double rate, const char *bundle_path,
                              const LV2_Feature *const *features)
{{
    void *memory = 0;
    plugin *self;
    (void)descriptor;
    (void)bundle_path;
    (void)features;
    if (posix_memalign(&memory, 64, sizeof(plugin)) != 0)
        return 0;
    self = (plugin *)memory;
    memset(self, 0, sizeof *self);
    if ({n}_init(&self->state, (float)rate) != 0) {{ /* the models run at another rate */
        free(self);
        return 0;
    }}
    self->fresh = 1;
    return (LV2_Handle)self;
}}

static void connect_port(LV2_Handle instance, uint32_t port, void *data)
{{
    plugin *self = (plugin *)instance;
    if (port == 0)
        self->in = (const float *)data;
    else if (port == 1)
        self->out = (float *)data;
    else if (port == PORT_LATENCY)
        self->latency = (float *)data;
    else if (port >= PORT_PARAM0 && port < PORT_LATENCY)
        self->params[port - PORT_PARAM0] = (const float *)data;
}}

static void activate(LV2_Handle instance)
{{
    plugin *self = (plugin *)instance;
    {n}_reset(&self->state);
    self->fresh = 1;
}}

static void run(LV2_Handle instance, uint32_t n_samples)
{{
    plugin *self = (plugin *)instance;
    int i;
    for (i = 0; i < {up}_N_PARAMS; i++) {{
        if (self->params[i]) {{
            const float value = *self->params[i];
            if (self->fresh || value != self->last[i]) {{
                {n}_set_param(&self->state, i, value);
                self->last[i] = value;
            }}
        }}
    }}
    self->fresh = 0;
    if (self->in && self->out)
        {n}_process(&self->state, self->in, self->out, (int)n_samples);
    if (self->latency)
        *self->latency = (float){up}_LATENCY;
}}

static void cleanup(LV2_Handle instance)
{{
    free(instance);
}}

static const void *extension_data(const char *uri)
{{
    (void)uri;
    return 0;
}}

static const LV2_Descriptor descriptor = {{
    PLUGIN_URI, instantiate, connect_port, activate, run, 0, cleanup, extension_data
}};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{{
    return index == 0 ? &descriptor : 0;
}}
"""


def plugin_code(models: list, name: str = "models", uri: str | None = None, **codegen_options) -> tuple:
    """Return (processor code, uri, {file name: C text}) of the plugin: processor, models and wrapper."""
    ident = c_identifier(name)
    uri = check_uri(uri if uri is not None else f"urn:tinyrt:{ident}")
    # the processor writes model names into C comments: give it their C names, keep the real ones for the TTL
    safe = []
    for m in models:
        m = copy.copy(m)
        m.name = c_identifier(m.name)
        safe.append(m)
    code = generate_processor(safe, ident, **codegen_options)
    code.models = list(models)
    symbols = [p.name for p in code.params] + ["in", "out", "latency"]
    clash = sorted({s for s in symbols if symbols.count(s) > 1})
    if clash:
        raise InputError(f"two plugin ports would both have the symbol '{clash[0]}'; rename the model or the "
                         f"knob behind it.")
    files = code.files()
    files[f"{ident}_lv2.c"] = _wrapper(code, uri)
    return code, uri, files


def build_plugin(files: dict, ident: str, arch: str = "host") -> Path:
    """Compile the plugin's C files into ``<ident>.so`` for the host or a cross target; return the cached file."""
    if arch not in ARCHES:
        raise UnsupportedError(f"unknown architecture {arch!r} for the plugin; choose one of {', '.join(ARCHES)}.")
    if arch == "host":
        return host_build(files, f"{ident}.so", kind="shared", extra_flags=FLAGS)
    return cross_build(files, f"{ident}.so", arch, kind="shared", extra_flags=FLAGS)


def write_bundle(models: list, out: Path, name: str = "models", uri: str | None = None, arch: str = "host",
                 **codegen_options) -> tuple:
    """Write and build ``out/<name>.lv2``; return (bundle path, uri, processor code)."""
    if arch not in ARCHES:
        raise UnsupportedError(f"unknown architecture {arch!r} for the plugin; choose one of {', '.join(ARCHES)}.")
    code, uri, files = plugin_code(models, name, uri, **codegen_options)
    ident = code.name
    library = build_plugin(files, ident, arch)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder to deploy into.")
    bundle = out / f"{ident}.lv2"
    bundle.mkdir(parents=True, exist_ok=True)
    write_text(bundle / "manifest.ttl", _manifest(uri, ident))
    write_text(bundle / f"{ident}.ttl", _ttl(code, uri, str(name)))
    shutil.copyfile(library, bundle / f"{ident}.so")
    return bundle, uri, code


def deploy(models: list, out: Path, name: str = "models", build: bool = True, uri: str | None = None,
           arch: str = "host", **codegen_options) -> Deployment:
    """Write the LV2 bundle ``out/<name>.lv2`` of the models (the plugin is always built: a bundle needs it)."""
    bundle, uri, code = write_bundle(models, out, name, uri, arch, **codegen_options)
    result = Deployment("lv2", out, sorted(str(p.relative_to(out)) for p in bundle.iterdir()))
    result.built.append(f"{bundle.name}/{code.name}.so ({arch})")
    rate = f"{code.sample_rate:g} Hz" if code.sample_rate else "any rate"
    result.notes.append(f"plugin {uri}: {len(code.models)} model(s), {len(code.params)} parameters, "
                        f"latency {code.latency} samples, {rate}")
    result.notes.append(f"try it: LV2_PATH={out.resolve()} lv2apply -i in.wav -o out.wav {uri}")
    if not build:
        result.notes.append("the plugin was built anyway: an LV2 bundle is of no use without its library")
    return result
