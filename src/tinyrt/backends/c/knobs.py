"""The knob API of a generated model with knob inputs: set a knob, and process audio alone.

For a model whose samples carry knob values after the audio (``model.params``), ``generate`` adds:

- ``<NAME>_N_PARAMS``, an enum ``<NAME>_PARAM_<KNOB>`` of knob indices, and the const table
  ``<name>_params[]`` of {name, minimum, maximum, default_value};
- ``<name>_param_count()``, ``<name>_set_param(state, index, value)`` (clamped to the range; a bad
  index or a NaN is ignored) and ``<name>_get_param(state, index)``;
- ``<name>_process_audio(state, in, out, n_samples)``: mono audio in, the knob channels of every frame
  filled from a one-pole smoother per knob (time constant KNOB_SMOOTH_MS at the model's rate, or
  48 kHz), so a knob step becomes a smooth glide (no zipper noise). It allocates nothing.

The state gains the knobs' targets and smoothed values; ``<name>_reset`` returns every knob to its
default and the first ``process_audio`` call after it starts at the values set (no glide), as the
processor does. ``<name>_process`` with the knob values in the frames is unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .trees import c_comment

KNOB_SMOOTH_MS = 10.0


@dataclass
class KnobCode:
    """The pieces generate() adds for a model with knobs: state members, reset lines, header and source text."""

    state: list = field(default_factory=list)
    reset: list = field(default_factory=list)
    header: str = ""
    source: str = ""


def _f(v: float) -> str:
    return f"{float(v)!r}f" if math.isfinite(v) else "0.0f"


def smoothing_coefficient(model) -> float:
    """Return the knob smoother's per-sample coefficient: 1 - exp(-1 / (time constant * rate))."""
    rate = model.sample_rate or 48000.0
    return 1.0 - math.exp(-1000.0 / (KNOB_SMOOTH_MS * rate))


def knob_code(model, ident: str) -> KnobCode | None:
    """Return the knob API pieces of the generated model, or None for a model without knobs."""
    knobs = model.params
    if not knobs:
        return None
    up, n = ident.upper(), len(knobs)
    B, ch = model.block_size, model.in_channels
    enum = ",\n".join(f"    {up}_PARAM_{k.name.upper()} = {k.index}" for k in knobs)
    header = f"""
{c_comment(f"Knobs: each sample of a frame holds the audio, then the {n} knob value(s) in this order. "
           f"{ident}_set_param sets a knob (clamped to its range); {ident}_process_audio takes mono audio "
           f"and fills the knob values from a one-pole smoother per knob ({KNOB_SMOOTH_MS:g} ms), so a "
           f"knob change glides instead of stepping. {ident}_reset returns the knobs to their defaults; the "
           f"first {ident}_process_audio after it starts at the values set since.")}#define {up}_N_PARAMS {n}

enum {{
{enum}
}};

typedef struct {{
    const char *name;
    float minimum;
    float maximum;
    float default_value;
}} {ident}_param_info;

/* name, range and default of each knob, by index */
extern const {ident}_param_info {ident}_params[{up}_N_PARAMS];

/* Return {up}_N_PARAMS. */
int {ident}_param_count(void);

/* Set knob index to value (clamped to its range); a bad index or a NaN is ignored. */
void {ident}_set_param({ident}_state *s, int index, float value);

/* Return the value knob index was set to (0 for a bad index). */
float {ident}_get_param(const {ident}_state *s, int index);

/* Process n_samples mono samples (a multiple of {up}_BLOCK_SIZE; a trailing partial frame is not
 * processed): out receives n_samples / {up}_BLOCK_SIZE * {up}_OUTPUT_SIZE floats. The knob values
 * come from the smoothers. Allocates nothing; in and out must not overlap. */
void {ident}_process_audio({ident}_state *s, const float *in, float *out, int n_samples);
"""
    table = ",\n".join(f'    {{"{k.name}", {_f(k.minimum)}, {_f(k.maximum)}, {_f(k.default)}}}' for k in knobs)
    coef = smoothing_coefficient(model)
    source = f"""
const {ident}_param_info {ident}_params[{up}_N_PARAMS] = {{
{table}
}};

int {ident}_param_count(void)
{{
    return {up}_N_PARAMS;
}}

void {ident}_set_param({ident}_state *s, int index, float value)
{{
    if (index < 0 || index >= {up}_N_PARAMS || !(value == value))
        return;
    if (value < {ident}_params[index].minimum)
        value = {ident}_params[index].minimum;
    if (value > {ident}_params[index].maximum)
        value = {ident}_params[index].maximum;
    s->knob_target[index] = value;
}}

float {ident}_get_param(const {ident}_state *s, int index)
{{
    return index >= 0 && index < {up}_N_PARAMS ? s->knob_target[index] : 0.0f;
}}

void {ident}_process_audio({ident}_state *restrict s, const float *restrict in, float *restrict out, int n_samples)
{{
    /* one frame: {B} sample(s) of {ch} values (the audio, then the knobs) */
    float frame[{up}_INPUT_SIZE];
    const int n_frames = n_samples / {up}_BLOCK_SIZE;
    int t, i, j;
    if (s->knob_snap) {{
        for (j = 0; j < {up}_N_PARAMS; j++)
            s->knob_value[j] = s->knob_target[j];
        s->knob_snap = 0;
    }}
    for (t = 0; t < n_frames; t++) {{
        for (i = 0; i < {up}_BLOCK_SIZE; i++) {{
            frame[i * {ch}] = in[(size_t)t * {up}_BLOCK_SIZE + i];
            for (j = 0; j < {up}_N_PARAMS; j++) {{
                /* one-pole smoother, {KNOB_SMOOTH_MS:g} ms; lands on the target once within 1e-7 (no denormals) */
                const float d = s->knob_target[j] - s->knob_value[j];
                s->knob_value[j] = d > 1e-7f || d < -1e-7f ? s->knob_value[j] + {coef!r}f * d : s->knob_target[j];
                frame[i * {ch} + 1 + j] = s->knob_value[j];
            }}
        }}
        {ident}_process(s, frame, out + (size_t)t * {up}_OUTPUT_SIZE, 1);
    }}
}}
"""
    state = [f"float knob_target[{n}]; /* knob values set */",
             f"float knob_value[{n}]; /* knob values smoothed toward them */",
             "int knob_snap; /* set by reset: the next process_audio starts at the targets */"]
    reset = [f"s->knob_target[{k.index}] = {_f(k.default)}; /* {k.name} default */" for k in knobs]
    reset += ["memcpy(s->knob_value, s->knob_target, sizeof s->knob_value);", "s->knob_snap = 1;"]
    return KnobCode(state, reset, header, source)
