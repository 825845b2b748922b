"""Verbs of the effect-training job: train, eval, demo, and examples (the README's material)."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..files import write_json
from .common import engine_list, load_model, non_negative_int, positive_float, positive_int
from .knobs import add_knob_arguments, param_values


def cmd_train(args) -> int:
    """Train the model a TOML configuration describes."""
    from ..train import load_config
    from ..train.trainer import Trainer, load_data
    cfg = load_config(args.config)
    if args.minutes is not None:
        cfg.train.max_minutes = args.minutes
    out = Path(args.out) if args.out else Path("runs") / cfg.name
    dataset, *splits = load_data(cfg)   # missing or unusable audio is refused before anything says "training"
    for split, pairs in zip(("training", "validation", "test"), splits):
        if not pairs:
            raise InputError(f"the {split} split of {args.config} is empty; give more source files or change the split "
                             "fractions.")
    print(dataset.summary())
    print(f"training {cfg.name}: {cfg.model.cell.upper()}-{cfg.model.hidden_size}, block {cfg.model.block_size}, "
          f"{cfg.sample_rate} Hz -> {out}")
    trainer = Trainer(cfg, out, data=splits)
    trainer.data_summary = dataset.summary()
    result = trainer.run(resume=args.resume)
    t = result.metrics["test"]
    print(f"test ESR {t['esr']:.4f} (pre-emphasised {t['esr_pre_emphasis']:.4f}), MSE {t['mse']:.3e}: {t['verdict']}")
    print(f"wrote {result.model_path}, {out / 'metrics.json'}, {out / 'curves.png'}, {out / 'renders'}")
    return 0


def _report_eval(args, model, m: dict) -> int:
    """Print eval's one-line result and write its JSON when asked."""
    seconds = m["seconds_samples"] / model.sample_rate
    print(f"{model.name} on {m['pairs']} pairs ({seconds:.1f} s, engine {m['engine']}): "
          f"ESR {m['esr']:.4f}, pre-emphasised ESR {m['esr_pre_emphasis']:.4f}, MSE {m['mse']:.3e}: {m['verdict']}")
    if args.json:
        write_json(args.json, m)
    return 0


def cmd_eval(args) -> int:
    """Measure a model on paired audio: ESR, pre-emphasised ESR, MSE and the verdict."""
    from ..train import evaluate, load_config
    from ..train.trainer import load_data
    model = load_model(args.model)
    param_values(model, args.param)  # a wrong knob is refused before any audio is read
    if not model.sample_rate:
        raise InputError(f"{args.model} does not say its sample rate; eval needs it to read the audio.")
    if args.data:
        cfg = load_config(args.data)
        if cfg.sample_rate != model.sample_rate:
            raise InputError(f"{args.data} trains at {cfg.sample_rate} Hz but the model runs at "
                             f"{model.sample_rate:g} Hz.")
        dataset, *splits = load_data(cfg)
        pairs = dataset.pairs if args.split == "all" else dict(zip(("train", "valid", "test"), splits))[args.split]
        warmup = cfg.train.warmup
    elif args.clean and args.target:
        return _eval_recording(args, model)
    else:
        raise InputError("give --data CONFIG.toml, or both --clean and --target WAV files.")
    m = evaluate(model, pairs, engine=engine_list(args.engine)[0], warmup=warmup,
                 knobs=param_values(model, args.param))
    return _report_eval(args, model, m)


def cmd_grid(args) -> int:
    """Train a grid of configurations on local processes or a Ray cluster; print the table, write JSON and a plot."""
    from ..train.executors import executor
    from ..train.grid import configs_from, grid_table, run_grid, write_grid
    split = [(args.cells, str), (args.hidden, int), (args.model_blocks, int), (args.targets, str)]
    axes = []
    for text, kind in split:
        try:
            axes.append([kind(v.strip()) for v in text.split(",") if v.strip()] if text else [])
        except ValueError:
            raise InputError(f"--hidden and --model-blocks are whole numbers separated by commas, got '{text}'.") \
                from None
    targets = [str(Path(t).resolve()) for t in axes[3]]  # named from here, not from the config's folder
    configs = configs_from(args.config, cells=axes[0], hidden=axes[1], model_blocks=axes[2], targets=targets)
    for cfg in configs:
        if args.epochs is not None:
            cfg.train.epochs = args.epochs
        if args.minutes is not None:
            cfg.train.max_minutes = args.minutes
    out = Path(args.out)
    pool = executor(args.executor, args.address, args.workers)
    try:
        result = run_grid(configs, out, pool, log=lambda line: print(line, flush=True))
    finally:
        pool.close()
    print(grid_table(result))
    paths = write_grid(result, out)
    print(f"{len(result['rows'])} of {result['trials']} trials on the {result['executor']} executor in "
          f"{result['wall_seconds']:.1f} s; wrote {paths[0]} and {paths[1]}")
    return 1 if result["failed"] else 0


def _eval_recording(args, model) -> int:
    """eval --clean/--target: align the new pair (stored, detected or given latency, searched by the model's ESR)."""
    import sys

    from ..data.pairs import read_pair
    from ..train.evaluate import alignment_lines, evaluate_recording, parse_latency
    choice = parse_latency(args.latency)
    clean, target, _ = read_pair(args.clean, args.target, int(model.sample_rate))
    m = evaluate_recording(model, clean, target, engine=engine_list(args.engine)[0], latency=choice,
                           fragment_seconds=args.fragment_seconds, warmup=args.warmup,
                           labels=(str(args.clean), str(args.target)), knobs=param_values(model, args.param))
    applied, by_lag, warnings = alignment_lines(m["alignment"])
    print(applied)
    print(by_lag)
    for line in warnings:
        print(f"tinyrt: warning: {line}.", file=sys.stderr)
    return _report_eval(args, model, m)


def cmd_demo(args) -> int:
    """Run the demo job."""
    from ..demo import run_demo
    return run_demo(Path(args.out), quick=args.quick, minutes=args.minutes)


def cmd_examples(args) -> int:
    """Write the files the README's examples read."""
    from ..demo.examples import write_examples
    written = write_examples(args.folder)
    width = max(map(len, written))
    for path, what in written.items():
        print(f"{path:<{width}}  {what}")
    print(f"wrote {len(written)} files into {args.folder}; run the README's examples there")
    return 0


def add_parsers(sub) -> None:
    """Add the training verbs to the command's subparsers."""
    s = sub.add_parser("demo", help="the main job on built-in data, writing a report")
    s.add_argument("--out", default="demo-out", help="output folder (default demo-out)")
    s.add_argument("--quick", action="store_true", help="a shorter run (for tests)")
    s.add_argument("--minutes", type=positive_float, help="training budget per model in minutes (default 3)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("train", help="train an effect model from paired audio (TOML config)")
    s.add_argument("config", help="TOML configuration ([data], [model], [loss], [train])")
    s.add_argument("--out", help="output folder (default runs/<name>)")
    s.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint.pt")
    s.add_argument("--minutes", type=positive_float, help="override [train] max_minutes")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("grid", help="train a grid (cell x hidden x model block x target) or a TOML list of configs, "
                                    "on local processes or a Ray cluster")
    s.add_argument("config", help="a base training TOML (crossed with the axes below), or a TOML of [[config]] tables")
    s.add_argument("--cells", help="recurrent cells, like lstm,gru")
    s.add_argument("--hidden", help="hidden sizes, like 8,16,32")
    s.add_argument("--model-blocks", help="model block sizes, like 1,16")
    s.add_argument("--targets", help="processed tracks (one per pedal), like fuzz.wav,overdrive.wav")
    s.add_argument("--epochs", type=non_negative_int, help="override [train] epochs of every trial")
    s.add_argument("--minutes", type=positive_float, help="override [train] max_minutes of every trial")
    s.add_argument("--out", default="grid-out", help="output folder: a run folder per trial, grid.json, grid.png")
    s.add_argument("--executor", default="process", choices=("process", "ray"),
                   help="where trials run: local processes (default) or a Ray cluster")
    s.add_argument("--address", metavar="HOST:PORT", help="the Ray cluster's head (--executor ray; default: a local "
                                                           "Ray instance)")
    s.add_argument("--workers", type=positive_int, help="local processes, or CPUs of a local Ray instance "
                                                         "(default: one per core)")
    s.set_defaults(func=cmd_grid)

    s = sub.add_parser("eval", help="measure a model on paired audio (ESR, MSE)")
    s.add_argument("model")
    s.add_argument("--data", help="a training config: evaluate on its split")
    s.add_argument("--split", default="test", choices=("train", "valid", "test", "all"))
    s.add_argument("--clean", help="clean WAV (with --target)")
    s.add_argument("--target", help="processed WAV (with --clean)")
    s.add_argument("--fragment-seconds", type=positive_float, default=1.0)
    s.add_argument("--warmup", type=non_negative_int, default=1000,
                   help="samples left out at the start of each fragment")
    s.add_argument("--engine", default="c")
    s.add_argument("--latency", metavar="auto|stored|N",
                   help="capture latency of --clean/--target: the model's stored one (stored), re-detected and "
                        "chosen by the model's ESR (auto), or N samples; default: stored when the pair's detected "
                        "latency is within 2 samples of it, else auto")
    s.add_argument("--json", help="also write the metrics as JSON here")
    add_knob_arguments(s, channels=False)
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("examples", help="write the files the README's examples use (takes, captures, models, data)")
    s.add_argument("folder", help="where to write them (created if needed)")
    s.set_defaults(func=cmd_examples)
