"""What run, check, bench and eval share about audio going into a model: knob values (--param), knob
tracks read from the file's channels (--knobs-from-channels), mixing down and resampling (--strict).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..ir.knobs import listing, resolve


def add_knob_arguments(parser, channels: bool = True) -> None:
    """Add --param (repeatable) and, for verbs reading a WAV, --knobs-from-channels."""
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a knob of a model with knob inputs to a constant (repeatable; the others "
                             "stay at their defaults; tinyrt info lists them)")
    if channels:
        parser.add_argument("--knobs-from-channels", action="store_true",
                            help="read the knob values per sample from channels 2.. of the WAV instead")


def param_values(model, items) -> dict:
    """Return {knob name: value} of --param NAME=VALUE options, refusing an unknown knob or a value out of range."""
    values = {}
    for item in items or ():
        name, sep, text = str(item).partition("=")
        if not sep or not name.strip():
            raise InputError(f"--param takes NAME=VALUE, got {item!r}; {_knobs_sentence(model)}")
        values[name.strip()] = text.strip()
    resolve(model, values, flag="--param")
    return {name: float(v) for name, v in values.items()}


def knob_channels(model) -> str:
    """Return "channel 2" or "channels 2..3": where a file's knob tracks are."""
    return "channel 2" if model.in_channels == 2 else f"channels 2..{model.in_channels}"


def _knobs_sentence(model) -> str:
    return f"{model.name}'s knobs are {listing(model)}." if model.params else f"{model.name} has no knobs."


def knob_track(model, audio: np.ndarray, values: dict) -> np.ndarray:
    """Return (n, 1 + n_knobs) samples: mono audio and each knob's value (given, else its default) per sample."""
    knobs = [values.get(k.name, k.default) for k in model.params]
    return np.concatenate([audio.reshape(-1, 1), np.tile(np.asarray(knobs, np.float32), (len(audio), 1))],
                          axis=1).astype(np.float32)


def model_audio(model, audio, path, values: dict, from_channels: bool = False, strict: bool = False,
                say=print) -> np.ndarray:
    """Return the WAV's samples as the model's audio: (n,) mono, or (n, channels) with the file's knob tracks.

    A model with knobs takes mono audio (``with_knobs`` adds its knob values, given or defaults), or
    with ``from_channels`` the file's channels as audio and knob tracks. A file with more channels than a
    model reads is mixed down (said in one line; refused with ``strict``), except into a model with
    knobs when no knob is given: that file probably carries a knob track, so it is refused.
    """
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    channels = 1 if a.ndim == 1 else a.shape[1]
    knobs = model.params
    if from_channels:
        if not knobs:
            raise InputError(f"{model.name} has no knob inputs, so --knobs-from-channels does not apply.")
        if values:
            raise InputError("give the knobs either with --param or with --knobs-from-channels, not both.")
        if channels != model.in_channels:
            raise InputError(f"{path} has {channels} channel(s) but --knobs-from-channels needs "
                             f"{model.in_channels}: the audio, then {listing(model)}.")
        return a
    if channels > 1 and knobs and not values:
        raise InputError(f"{path} has {channels} channels and {model.name} takes knob inputs ({listing(model)}); "
                         f"give the knobs with --param NAME=VALUE (the file is then mixed down to mono), or "
                         f"--knobs-from-channels to read them from {knob_channels(model)} of the file.")
    if channels > 1 and (knobs or model.in_channels == 1):
        if strict:
            raise InputError(f"{path} has {channels} channels but {model.name} takes mono audio; mix it down "
                             f"first, or leave out --strict to have tinyrt mix it down.")
        say(f"mixed {channels} channels of {path} down to mono (their mean) for {model.name}")
        a = a.mean(axis=1, dtype=np.float64).astype(np.float32)
    if knobs and not values:
        say(f"knobs at their defaults: {', '.join(f'{k.name}={k.default:g}' for k in knobs)} "
            f"(set them with --param NAME=VALUE)")
    return a


def with_knobs(model, audio: np.ndarray, values: dict) -> np.ndarray:
    """Return audio with the knob tracks added for a model with knobs given mono audio, else audio unchanged."""
    a = np.asarray(audio, dtype=np.float32)
    return knob_track(model, a.reshape(-1), values) if model.params and a.ndim == 1 else a


def to_model_rate(model, audio: np.ndarray, rate: float, path, strict: bool = False, say=print):
    """Return (audio at the model's rate, the rate it is at): resampled when the model states another rate."""
    if not model.sample_rate or float(rate) == model.sample_rate:
        return audio, float(rate)
    if strict:
        raise InputError(f"{path} is at {rate:g} Hz but {model.name} runs at {model.sample_rate:g} Hz; "
                         f"resample it first, or leave out --strict to have tinyrt resample it.")
    from ..audio import resample
    say(f"resampled {path} from {rate:g} Hz to {model.sample_rate:g} Hz for {model.name} "
        f"(tinyrt.audio.resample); the output goes back to {rate:g} Hz")
    return resample(audio, rate, model.sample_rate), model.sample_rate


def constant_knobs(model, frames: np.ndarray, values: dict) -> np.ndarray:
    """Return a copy of (T, input_size) frames with the knobs in values held at those values."""
    out = np.array(frames, dtype=np.float32).reshape(len(frames), model.block_size, model.in_channels)
    for k in model.params:
        if k.name in values:
            out[:, :, 1 + k.index] = values[k.name]
    return out.reshape(len(frames), model.input_size)
