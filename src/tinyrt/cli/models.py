"""Verbs on model files: info, convert, export, check, run."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..backends import EXPORTERS
from ..errors import InputError
from ..files import write_json
from .common import engine_list, load_model, positive_float, positive_int
from .knobs import add_knob_arguments, constant_knobs, model_audio, param_values, to_model_rate, with_knobs


def cmd_info(args) -> int:
    """Print a model's layers, sizes and metadata."""
    model = load_model(args.model)
    print(model.summary())
    if model.metadata:
        print("metadata:", json.dumps(model.metadata, default=str))
    return 0


def cmd_convert(args) -> int:
    """Import any supported model file and save it as .tinyrt (or, with --to, as a plugin's model file)."""
    model = load_model(args.model)
    out = Path(args.output)
    if args.to != "tinyrt":
        from ..backends import export
        print(f"wrote {export(model, args.to, out)}")
        return 0
    if out.suffix != ".tinyrt":
        raise InputError(f"the output file must end in .tinyrt, got '{out.name}'.")
    model.save(out)
    print(f"wrote {out} ({model.n_params} parameters)")
    return 0


def cmd_export(args) -> int:
    """Write a model in one of the registered export formats (C sources, ONNX, RTNeural JSON, ...)."""
    from ..backends import export
    model = load_model(args.model)
    options = {
        "c": {"name": args.name, "activations": args.activations, "weights": args.weights},
        "classic": {"name": args.name, "features": args.features, "form": args.form},
        "rtneural": {"skip": args.skip} if args.skip else {},
        "onnx": {"opset": args.opset} if args.opset else {},
    }.get(args.to, {})
    print(f"wrote {export(model, args.to, args.output, **options)}")
    return 0


def cmd_check(args) -> int:
    """Run the model on every engine against the reference; exit 1 if any disagrees."""
    from ..backends.verify import verify
    model = load_model(args.model)
    engines = engine_list(args.engines)
    frames, values = None, param_values(model, args.param)
    if args.audio:
        from ..audio import read_wav
        audio, rate = read_wav(args.audio)
        if model.sample_rate and rate != model.sample_rate:
            raise InputError(f"{args.audio} is at {rate} Hz but {model.name} runs at {model.sample_rate:g} Hz; "
                             f"resample it first.")
        if model.params or args.knobs_from_channels:  # mono audio and the knobs, or the file's knob tracks
            audio = with_knobs(model, model_audio(model, audio, args.audio, values, args.knobs_from_channels),
                               values)
        audio = audio.reshape(len(audio), -1)
        if audio.shape[1] != model.in_channels:
            raise InputError(f"{args.audio} has {audio.shape[1]} channel(s) but {model.name} reads "
                             f"{model.in_channels}.")
        n = min(len(audio), int(args.seconds * rate)) // model.block_size * model.block_size
        if n == 0:
            raise InputError(f"{args.audio} is shorter than one model block of {model.block_size} samples.")
        frames = audio[:n].reshape(-1, model.input_size)
    elif values:  # the built-in signal with these knobs held constant
        from ..backends.verify import signal_frames
        frames = constant_knobs(model, signal_frames(model, args.seconds, args.seed), values)
    report = verify(model, engines, seconds=args.seconds, seed=args.seed, frames=frames)
    print(report.table())
    if args.json:
        write_json(args.json, report.to_json())
    if not report.passed:
        failed = ", ".join(r.engine for r in report.results if not r.passed and not r.skipped) or "every engine"
        print(f"tinyrt: check failed for {failed}: {report.advice()}", file=sys.stderr)
        return 1
    return 0


def cmd_run(args) -> int:
    """Process a WAV file with a model on one engine and write the result at the file's sample rate.

    Audio at another rate than the model's is resampled to it and the output back (tinyrt.audio.resample),
    more channels than a mono model reads are mixed down, each said in one line (--strict refuses
    instead); knobs come from --param (or their defaults), or from the file with --knobs-from-channels.
    """
    import numpy as np

    from ..audio import read_wav, resample, write_wav
    from ..backends import backend
    model = load_model(args.model)
    values = param_values(model, args.param)
    audio, rate = read_wav(args.input)
    a = model_audio(model, audio, args.input, values, args.knobs_from_channels, args.strict)
    a, model_rate = to_model_rate(model, a, rate, args.input, args.strict)
    engine = backend(model, engine_list(args.engine)[0])
    for name, value in values.items():
        engine.set_param(name, value)
    tail = np.zeros((engine.latency,) + a.shape[1:], dtype=a.dtype)
    out = engine(np.concatenate([a, tail]), model_rate)[engine.latency:]
    if model_rate != rate:
        out = resample(out, model_rate, rate)[:len(audio)]
    write_wav(args.output, out, rate)
    print(f"wrote {args.output} ({len(out)} samples at {rate} Hz, engine {engine.name})")
    return 0


def add_parsers(sub) -> None:
    """Add the model-file verbs to the command's subparsers."""
    s = sub.add_parser("info", help="show a model's layers and sizes")
    s.add_argument("model", help=".tinyrt, .nam, RTNeural or CoreAudioML JSON file")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("convert", help="import a model file into a .tinyrt file")
    s.add_argument("model")
    s.add_argument("-o", "--output", required=True, help="the .tinyrt file to write")
    s.add_argument("--to", default="tinyrt", choices=("tinyrt", "nam", "aidax", "coreaudioml", "rtneural"),
                   help="write this model file format instead (as `export --to`)")
    s.set_defaults(func=cmd_convert)

    s = sub.add_parser("export", help="write a model for an engine or plugin (C, ONNX, RTNeural, TorchScript, "
                                      "NAM, AIDA-X, CoreAudioML)")
    s.add_argument("model")
    s.add_argument("--to", required=True, choices=tuple(EXPORTERS))
    s.add_argument("-o", "--output", required=True, help="folder (c) or file to write")
    s.add_argument("--name", help="C identifier prefix for the generated functions (c)")
    s.add_argument("--activations", default="precise", choices=("precise", "fast"), help="(c)")
    s.add_argument("--weights", default="float32", choices=("float32", "bf16"), help="(c)")
    s.add_argument("--skip", choices=("strip",), help="(rtneural) export the body of a whole-model skip")
    s.add_argument("--opset", type=positive_int, help="(onnx) ONNX opset")
    s.add_argument("--features", default="float32", choices=("float32", "int16"),
                   help="(classic) input type of the C library: float32, or int16 fixed point")
    s.add_argument("--form", default="nodes", choices=("nodes", "inline"),
                   help="(classic) trees as compact node arrays or inline if/else code")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("check", help="prove parity of every engine with the reference, and C real-time safety")
    s.add_argument("model")
    s.add_argument("--engines", default="c,onnxruntime,torch")
    s.add_argument("--seconds", type=positive_float, default=1.0, help="seconds of test audio (default 1)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--audio", help="prove on this WAV (the kind of audio the model is for) instead of the "
                                   "built-in test signal")
    s.add_argument("--json", help="also write the report as JSON here")
    add_knob_arguments(s)
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("run", help="process a WAV file with a model")
    s.add_argument("model")
    s.add_argument("input", help="input WAV file")
    s.add_argument("output", help="output WAV file (32-bit float)")
    s.add_argument("--engine", default="c")
    s.add_argument("--strict", action="store_true",
                   help="refuse audio at another rate or with more channels than the model's instead of "
                        "resampling it (the output back to the file's rate) or mixing it down")
    add_knob_arguments(s)
    s.set_defaults(func=cmd_run)
