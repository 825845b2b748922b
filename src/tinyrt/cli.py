"""The `tinyrt` command: one verb per job, mirroring the Python API."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .backends import ENGINES
from .errors import Error, InputError

FORMATS = ("c", "classic", "onnx", "rtneural", "torch", "tinyrt")


def _load(path):
    from . import load
    return load(path)


def cmd_info(args) -> int:
    """Print a model's layers, sizes and metadata."""
    model = _load(args.model)
    print(model.summary())
    if model.metadata:
        print("metadata:", json.dumps(model.metadata, default=str))
    return 0


def cmd_convert(args) -> int:
    """Import any supported model file and save it as .tinyrt."""
    model = _load(args.model)
    out = Path(args.output)
    if out.suffix != ".tinyrt":
        raise InputError(f"the output file must end in .tinyrt, got '{out.name}'.")
    model.save(out)
    print(f"wrote {out} ({model.n_params} parameters)")
    return 0


def cmd_export(args) -> int:
    """Write a model for another engine: C sources, ONNX, RTNeural JSON, TorchScript or .tinyrt."""
    from . import export
    model = _load(args.model)
    options = {}
    if args.to == "c":
        options = {"name": args.name, "activations": args.activations, "weights": args.weights}
    elif args.to == "rtneural" and args.skip:
        options = {"skip": args.skip}
    elif args.to == "onnx" and args.opset:
        options = {"opset": args.opset}
    if args.to == "tinyrt":
        path = model.save(args.output)
    elif args.to == "classic":
        from .classic import CModel
        path = CModel(model, args.name, features=args.features, form=args.form).save(args.output, args.name)
    else:
        path = export(model, args.to, args.output, **options)
    print(f"wrote {path}")
    return 0


def _samples(path):
    """Return a samples x features float32 table read from a .npy or .csv file."""
    import numpy as np
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such samples file.")
    try:
        x = np.load(path, allow_pickle=False) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a samples table (.npy, or .csv of numbers: {exc}).") from None
    return np.asarray(x, dtype=np.float32)


def cmd_predict(args) -> int:
    """Run a converted classic model's C library on samples; optionally compare with the estimator."""
    import numpy as np

    from .classic import CModel
    from .frontends.sklearn import load_estimator
    cmodel = CModel(_load(args.model), features=args.features)
    x = _samples(args.samples)
    y = getattr(cmodel, args.method)(x)
    if args.output:
        out = Path(args.output)
        if out.suffix == ".npy":
            np.save(out, y)
        else:
            np.savetxt(out, np.asarray(y).reshape(len(y), -1), delimiter=",", fmt="%.9g")
        print(f"wrote {out} ({args.method} of {len(x)} samples, C library {cmodel.name})")
    else:
        print("\n".join(" ".join(f"{v:.9g}" if isinstance(v, float) else str(v) for v in np.ravel(row))
                        for row in np.asarray(y).reshape(len(y), -1).tolist()))
    if args.compare:
        a = cmodel.agreement(load_estimator(args.compare), x)
        print(f"agreement with {Path(args.compare).name}: {a['agree']}/{a['samples']} predictions, "
              f"largest difference in probabilities/scores/values {a['max_abs_error']:.3g}", file=sys.stderr)
        return 0 if a["agree"] == a["samples"] else 1
    return 0


def cmd_features(args) -> int:
    """Compute feature frames of a WAV file with the C feature library and save them (.npy or .csv)."""
    import numpy as np

    from .audio import read_wav
    from .dsp import FeatureExtractor
    audio, rate = read_wav(args.input)
    if audio.ndim == 2:
        if audio.shape[1] != 1:
            raise InputError(f"{args.input} has {audio.shape[1]} channels; features are computed on mono audio, "
                             f"mix it down first.")
        audio = audio[:, 0]
    if args.block < 1:
        raise InputError(f"--block must be at least 1 sample, got {args.block}.")
    names = [f.strip() for f in args.features.split(",") if f.strip()]
    fx = FeatureExtractor(rate, args.n_fft, args.hop, names, n_mels=args.n_mels, fmin=args.fmin, fmax=args.fmax,
                          htk=args.htk)
    frames = np.concatenate([fx.process(audio[i:i + args.block]) for i in range(0, len(audio), args.block)]
                            + [np.zeros((0, fx.n_features), np.float32)])
    out = Path(args.output)
    if out.suffix == ".npy":
        np.save(out, frames)
    elif out.suffix == ".csv":
        np.savetxt(out, frames, delimiter=",", fmt="%.9g", header=",".join(fx.names), comments="")
    else:
        raise InputError(f"the output file must end in .npy or .csv, got '{out.name}'.")
    print(f"wrote {out}: {len(frames)} frames x {fx.n_features} values ({', '.join(names)}; n_fft {fx.n_fft}, "
          f"hop {fx.hop} at {rate} Hz, fed in {args.block}-sample blocks)")
    return 0


def cmd_check(args) -> int:
    """Run the model on every engine against the reference; exit 1 if any disagrees."""
    from .backends.verify import verify
    model = _load(args.model)
    engines = _engine_list(args.engines)
    frames = None
    if args.audio:
        from .audio import read_wav
        audio, rate = read_wav(args.audio)
        if model.sample_rate and rate != model.sample_rate:
            raise InputError(f"{args.audio} is at {rate} Hz but {model.name} runs at {model.sample_rate:g} Hz; "
                             f"resample it first.")
        audio = audio.reshape(len(audio), -1)
        if audio.shape[1] != model.in_channels:
            raise InputError(f"{args.audio} has {audio.shape[1]} channel(s) but {model.name} reads {model.in_channels}.")
        n = min(len(audio), int(args.seconds * rate)) // model.block_size * model.block_size
        if n == 0:
            raise InputError(f"{args.audio} is shorter than one model block of {model.block_size} samples.")
        frames = audio[:n].reshape(-1, model.input_size)
    report = verify(model, engines, seconds=args.seconds, seed=args.seed, frames=frames)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=1))
    if not report.passed:
        failed = ", ".join(r.engine for r in report.results if not r.passed and not r.skipped) or "every engine"
        print(f"tinyrt: check failed for {failed}.", file=sys.stderr)
        return 1
    return 0


def _engine_list(text: str) -> list:
    engines = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise InputError(f"unknown engine '{unknown[0] if unknown else text}'; choose from {', '.join(ENGINES)}.")
    return engines


def cmd_run(args) -> int:
    """Process a WAV file with a model on one engine and write the result."""
    import numpy as np

    from . import backend
    from .audio import read_wav, write_wav
    model = _load(args.model)
    audio, rate = read_wav(args.input)
    engine = backend(model, _engine_list(args.engine)[0])
    if audio.ndim == 2 and audio.shape[1] == 1:
        audio = audio[:, 0]
    tail = np.zeros((engine.latency,) + audio.shape[1:], dtype=audio.dtype)
    out = engine(np.concatenate([audio, tail]), rate)[engine.latency:]
    write_wav(args.output, out, rate)
    print(f"wrote {args.output} ({len(out)} samples at {rate} Hz, engine {engine.name})")
    return 0


def cmd_demo(args) -> int:
    """Run the demo job."""
    from .demo import run_demo
    if args.minutes is not None and args.minutes <= 0:
        raise InputError(f"--minutes must be positive, got {args.minutes:g}.")
    return run_demo(Path(args.out), quick=args.quick, minutes=args.minutes)


def cmd_bench(args) -> int:
    """Time a model's callbacks on each engine against the audio budget; print a table, write JSON."""
    from .bench import bench, table
    model = _load(args.model)
    rate = args.sr or model.sample_rate
    given = {"audio": _bench_wav(args.input, rate, "input"), "target": _bench_wav(args.target, rate, "target"),
             "features": _npy(args.features, "features"), "labels": _npy(args.labels, "labels")}
    result = bench(model, _engine_list(args.engines), args.sr, args.block, args.seconds, args.mode,
                   warmup=args.warmup, **given)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.html:
        from .bench.report import write_bench_report
        print(f"wrote {write_bench_report([result], args.html, f'tinyrt bench: {model.name}')}")
    missed = [name for name, s in result["engines"].items() if s.get("deadline_misses")]
    if missed:
        print(f"tinyrt: deadline misses on {', '.join(missed)} at {args.block} samples / {result['sample_rate']:g} Hz.",
              file=sys.stderr)
        return 1
    return 0


def _bench_wav(path, rate, what: str):
    """Return the samples of a WAV file for bench, refusing one at another sample rate than the model's."""
    if path is None:
        return None
    from .audio import read_wav
    audio, file_rate = read_wav(path)
    if rate and file_rate != rate:
        raise InputError(f"the {what} file {path} is at {file_rate} Hz but the model runs at {rate:g} Hz; "
                         f"resample it first.")
    return audio


def _npy(path, what: str):
    """Return the array stored in a .npy file, refusing a missing or unreadable one in one sentence."""
    if path is None:
        return None
    import numpy as np
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the {what} file {path} as a NumPy .npy array ({exc}).") from None


def _ints(text: str, what: str) -> list:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{what} must be whole numbers separated by commas, got '{text}'.") from None
    if not values or min(values) < 1:
        raise InputError(f"{what} must be positive whole numbers, got '{text}'.")
    return values


def cmd_sweep(args) -> int:
    """Find the largest LSTM/GRU that meets the budget for each host and model block size."""
    from .bench.capacity import sweep, sweep_table
    result = sweep(args.cell, args.sr, _ints(args.blocks, "--blocks"), _ints(args.model_blocks, "--model-blocks"),
                   args.limit, args.max_hidden, log=lambda line: print(line, flush=True))
    print(sweep_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.plot:
        from .bench.plots import plot_capacity
        plot_capacity(result, args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_fit(args) -> int:
    """Say whether a model meets the callback budget here, with the margin, and what would fit if not."""
    from .bench.capacity import fit, fit_text
    result = fit(_load(args.model), args.sr, args.block, args.limit)
    print(fit_text(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if result["fits"] else 1


def cmd_profile(args) -> int:
    """Print per-layer time per callback on each engine; write JSON, speedscope and folded stacks if asked."""
    from .bench.profile import profile, profile_table, write_folded, write_speedscope
    model = _load(args.model)
    result = profile(model, _engine_list(args.engines), args.sr, args.block, args.seconds)
    print(profile_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json}")
    for path, write in ((args.speedscope, write_speedscope), (args.folded, write_folded)):
        if path:
            print(f"wrote {write(result, path)}")
    return 0


def cmd_zoo(args) -> int:
    """Check and time the model zoo's blocks on each engine; print the table, exit 1 if any engine disagreed."""
    from .bench.zoo import BLOCKS, bench_zoo, block_list, zoo_table
    if args.list:
        print(block_list())
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    result = bench_zoo(args.blocks or ";".join(BLOCKS), engines, args.sr, args.block, args.seconds,
                       log=lambda line: print(line, flush=True))
    print(zoo_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    failed = [f"{name} on {b['name']}" for b in result["blocks"] for name, cell in b["engines"].items()
              if "failed" in cell]
    if failed:
        print(f"tinyrt: output disagrees with the reference for {'; '.join(failed)}.", file=sys.stderr)
        return 1
    return 0


def cmd_train(args) -> int:
    """Train the model a TOML configuration describes."""
    from .train import load_config, train
    cfg = load_config(args.config)
    if args.minutes is not None:
        if args.minutes <= 0:
            raise InputError(f"--minutes must be positive, got {args.minutes:g}.")
        cfg.train.max_minutes = args.minutes
    out = Path(args.out) if args.out else Path("runs") / cfg.name
    print(f"training {cfg.name}: {cfg.model.cell.upper()}-{cfg.model.hidden_size}, block {cfg.model.block_size}, "
          f"{cfg.sample_rate} Hz -> {out}")
    result = train(cfg, out, resume=args.resume)
    t = result.metrics["test"]
    print(f"test ESR {t['esr']:.4f} (pre-emphasised {t['esr_pre_emphasis']:.4f}), MSE {t['mse']:.3e}: {t['verdict']}")
    print(f"wrote {result.model_path}, {out / 'metrics.json'}, {out / 'curves.png'}, {out / 'renders'}")
    return 0


def cmd_eval(args) -> int:
    """Measure a model on paired audio: ESR, pre-emphasised ESR, MSE and the verdict."""
    from .data.pairs import load_pairs
    from .train import evaluate, load_config
    from .train.trainer import load_data
    model = _load(args.model)
    if not model.sample_rate:
        raise InputError(f"{args.model} does not say its sample rate; eval needs it to read the audio.")
    if args.data:
        cfg = load_config(args.data)
        if cfg.sample_rate != model.sample_rate:
            raise InputError(f"{args.data} trains at {cfg.sample_rate} Hz but the model runs at {model.sample_rate:g} Hz.")
        dataset, *splits = load_data(cfg)
        pairs = dataset.pairs if args.split == "all" else dict(zip(("train", "valid", "test"), splits))[args.split]
        warmup = cfg.train.warmup
    elif args.clean and args.target:
        pairs = load_pairs({"kind": "fragments", "clean": args.clean, "target": args.target,
                            "fragment_seconds": args.fragment_seconds}, int(model.sample_rate)).pairs
        warmup = args.warmup
    else:
        raise InputError("give --data CONFIG.toml, or both --clean and --target WAV files.")
    m = evaluate(model, pairs, engine=_engine_list(args.engine)[0], warmup=warmup)
    print(f"{model.name} on {m['pairs']} pairs ({m['seconds_samples'] / model.sample_rate:.1f} s, engine {m['engine']}): "
          f"ESR {m['esr']:.4f}, pre-emphasised ESR {m['esr_pre_emphasis']:.4f}, MSE {m['mse']:.3e}: {m['verdict']}")
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `tinyrt` command."""
    p = argparse.ArgumentParser(prog="tinyrt", description="Small ML models into hard real-time audio loops.")
    p.add_argument("--version", action="version", version=f"tinyrt {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("info", help="show a model's layers and sizes")
    s.add_argument("model", help=".tinyrt, .nam, RTNeural or CoreAudioML JSON file")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("convert", help="import a model file into a .tinyrt file")
    s.add_argument("model")
    s.add_argument("-o", "--output", required=True, help="the .tinyrt file to write")
    s.set_defaults(func=cmd_convert)

    s = sub.add_parser("export", help="write a model for an engine (C, ONNX, RTNeural, TorchScript)")
    s.add_argument("model")
    s.add_argument("--to", required=True, choices=FORMATS)
    s.add_argument("-o", "--output", required=True, help="folder (c) or file to write")
    s.add_argument("--name", help="C identifier prefix for the generated functions (c)")
    s.add_argument("--activations", default="precise", choices=("precise", "fast"), help="(c)")
    s.add_argument("--weights", default="float32", choices=("float32", "bf16"), help="(c)")
    s.add_argument("--skip", choices=("strip",), help="(rtneural) export the body of a whole-model skip")
    s.add_argument("--opset", type=int, help="(onnx) ONNX opset")
    s.add_argument("--features", default="float32", choices=("float32", "int16"),
                   help="(classic) input type of the C library: float32, or int16 fixed point")
    s.add_argument("--form", default="nodes", choices=("nodes", "inline"),
                   help="(classic) trees as compact node arrays or inline if/else code")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("predict", help="run a converted scikit-learn model's compiled C on a table of samples")
    s.add_argument("model", help=".tinyrt from tinyrt convert, or the estimator's .pkl/.joblib")
    s.add_argument("samples", help="samples x features: a .npy array or a .csv file (comma separated)")
    s.add_argument("--method", default="predict",
                   choices=("predict", "predict_proba", "decision_function", "score_samples"))
    s.add_argument("--features", default="float32", choices=("float32", "int16"))
    s.add_argument("--compare", help="the original estimator (.pkl/.joblib): report agreement, exit 1 if any differs")
    s.add_argument("-o", "--output", help="write the results here (.npy or .csv)")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("features", help="audio features of a WAV file computed by the C feature library")
    s.add_argument("input", help="mono WAV file")
    s.add_argument("-o", "--output", required=True, help="feature frames, one row per frame (.npy or .csv)")
    s.add_argument("--features", default="log_mel",
                   help="comma-separated: log_mel, mel, power, rms, zcr, centroid, bandwidth, rolloff, flatness")
    s.add_argument("--n-fft", type=int, default=512, help="window and FFT size, a power of two (default 512)")
    s.add_argument("--hop", type=int, help="samples between frames (default n_fft / 4)")
    s.add_argument("--n-mels", type=int, default=40)
    s.add_argument("--fmin", type=float, default=0.0)
    s.add_argument("--fmax", type=float, help="highest mel frequency (default: half the sample rate)")
    s.add_argument("--htk", action="store_true", help="HTK mel scale instead of Slaney's")
    s.add_argument("--block", type=int, default=64, help="feed the audio in blocks of this many samples (default 64)")
    s.set_defaults(func=cmd_features)

    s = sub.add_parser("check", help="prove parity of every engine with the reference, and C real-time safety")
    s.add_argument("model")
    s.add_argument("--engines", default="c,onnxruntime,torch")
    s.add_argument("--seconds", type=float, default=1.0, help="seconds of test audio (default 1)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--audio", help="prove on this WAV (the kind of audio the model is for) instead of the "
                                   "built-in test signal")
    s.add_argument("--json", help="also write the report as JSON here")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("run", help="process a WAV file with a model")
    s.add_argument("model")
    s.add_argument("input", help="input WAV file")
    s.add_argument("output", help="output WAV file (32-bit float)")
    s.add_argument("--engine", default="c")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("demo", help="the main job on built-in data, writing a report")
    s.add_argument("--out", default="demo-out", help="output folder (default demo-out)")
    s.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    s.add_argument("--minutes", type=float, help="training budget per model in minutes (default 3)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("bench", help="time callbacks on each engine: latency, jitter, load, deadline misses, memory")
    s.add_argument("model")
    s.add_argument("--engines", default="c,onnxruntime,torch,torchscript",
                   help="engines to compare (default c,onnxruntime,torch,torchscript; also reference)")
    s.add_argument("--sr", type=float, help="sample rate in Hz (default: the model's, else 48000)")
    s.add_argument("--block", type=int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--seconds", type=float, default=5.0, help="seconds of audio per engine (default 5)")
    s.add_argument("--mode", default="flat", choices=("flat", "paced"),
                   help="flat: back to back; paced: released at the real period like an audio driver")
    s.add_argument("--input", help="time and score on this WAV file instead of the built-in test signal")
    s.add_argument("--target", help="the processed version of --input: score each engine against it (ESR, MSE)")
    s.add_argument("--features", help="a .npy array (frames x inputs) to run instead of audio (classifiers)")
    s.add_argument("--labels", help="a .npy array of one class index per frame: accuracy and F1 per engine")
    s.add_argument("--json", help="also write the results as JSON here")
    s.add_argument("--html", help="also write a report page (tables, latency histograms, comparison) here")
    s.add_argument("--warmup", type=int, default=0,
                   help="untimed calls before timing, as a host runs before going live (default 0)")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("sweep", help="largest LSTM/GRU meeting the budget per host and model block size")
    s.add_argument("--cell", default="lstm", choices=("lstm", "gru"))
    s.add_argument("--sr", type=float, default=48000.0)
    s.add_argument("--blocks", default="16,32,64,128,256", help="host block sizes")
    s.add_argument("--model-blocks", default="1,16", help="model block sizes")
    s.add_argument("--limit", type=float, default=0.7, help="worst-case load limit (default 0.7)")
    s.add_argument("--max-hidden", type=int, default=512)
    s.add_argument("--json", help="also write the results as JSON here")
    s.add_argument("--plot", help="also write a PNG chart here")
    s.set_defaults(func=cmd_sweep)

    s = sub.add_parser("fit", help="does a model meet the callback budget here? margin, and what would fit")
    s.add_argument("model")
    s.add_argument("--sr", type=float, help="sample rate (default: the model's)")
    s.add_argument("--block", type=int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--limit", type=float, default=0.7, help="worst-case load limit (default 0.7)")
    s.add_argument("--json", help="also write the verdict as JSON here")
    s.set_defaults(func=cmd_fit)

    s = sub.add_parser("profile", help="per-layer time per callback on the C engine, ONNX Runtime and torch")
    s.add_argument("model")
    s.add_argument("--engines", default="c,onnxruntime,torch")
    s.add_argument("--sr", type=float, help="sample rate in Hz (default: the model's, else 48000)")
    s.add_argument("--block", type=int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--seconds", type=float, default=2.0, help="seconds of audio per engine (default 2)")
    s.add_argument("--json", help="also write the results as JSON here")
    s.add_argument("--speedscope", help="also write a flamegraph for speedscope.app here (.speedscope.json)")
    s.add_argument("--folded", help="also write folded stacks here (flamegraph.pl input, ns per callback)")
    s.set_defaults(func=cmd_profile)

    s = sub.add_parser("zoo", help="check and time composable blocks (matvec, conv, RNNs, MLPs, transformer, ...) "
                                   "on every engine")
    which = s.add_mutually_exclusive_group()
    which.add_argument("--blocks", help="blocks and sizes, like 'matvec:in=64,out=64;lstm:hidden=32' "
                                        "(default: every kind at its default sizes)")
    which.add_argument("--list", action="store_true", help="list the block kinds, their sizes and defaults")
    s.add_argument("--engines", default="reference,c,onnxruntime,torch,torchscript")
    s.add_argument("--sr", type=float, default=48000.0, help="sample rate in Hz (default 48000)")
    s.add_argument("--block", type=int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--seconds", type=float, default=1.0, help="seconds of audio per block and engine (default 1)")
    s.add_argument("--json", help="also write the results as JSON here")
    s.set_defaults(func=cmd_zoo)

    s = sub.add_parser("train", help="train an effect model from paired audio (TOML config)")
    s.add_argument("config", help="TOML configuration ([data], [model], [loss], [train])")
    s.add_argument("--out", help="output folder (default runs/<name>)")
    s.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint.pt")
    s.add_argument("--minutes", type=float, help="override [train] max_minutes")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("eval", help="measure a model on paired audio (ESR, MSE)")
    s.add_argument("model")
    s.add_argument("--data", help="a training config: evaluate on its split")
    s.add_argument("--split", default="test", choices=("train", "valid", "test", "all"))
    s.add_argument("--clean", help="clean WAV (with --target)")
    s.add_argument("--target", help="processed WAV (with --clean)")
    s.add_argument("--fragment-seconds", type=float, default=1.0)
    s.add_argument("--warmup", type=int, default=1000, help="samples left out at the start of each fragment")
    s.add_argument("--engine", default="c")
    s.add_argument("--json", help="also write the metrics as JSON here")
    s.set_defaults(func=cmd_eval)
    return p


def main(argv=None) -> int:
    """Run the command line; user errors print one sentence and return a non-zero exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Error as exc:
        print(f"tinyrt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinyrt: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
