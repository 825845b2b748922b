"""Verbs that measure: bench, sweep, fit, profile, zoo."""
from __future__ import annotations

import sys

from ..files import write_json
from .common import bench_wav, engine_list, ints, load_model, non_negative_int, npy, positive_float, positive_int
from .knobs import add_knob_arguments, constant_knobs, model_audio, param_values, with_knobs


def cmd_bench(args) -> int:
    """Time a model's callbacks on each engine against the audio budget; print a table, write JSON."""
    if args.device:
        return cmd_bench_device(args)
    from ..bench import bench, table
    model = load_model(args.model)
    rate = args.sr or model.sample_rate
    given = {"audio": bench_wav(args.input, rate, "input"), "target": bench_wav(args.target, rate, "target"),
             "features": npy(args.features, "features"), "labels": npy(args.labels, "labels")}
    given["audio"] = knob_audio(model, given["audio"], args, rate)
    if given["audio"] is not None and given["target"] is not None:
        from ..train.evaluate import align_to_model, parse_latency
        given["audio"], given["target"], line = align_to_model(model, given["audio"], given["target"],
                                                               parse_latency(args.latency))
        print(line)
    result = bench(model, engine_list(args.engines), args.sr, args.block, args.seconds, args.mode,
                   warmup=args.warmup, **given)
    print(table(result))
    if args.json:
        write_json(args.json, result)
    if args.html:
        from ..bench.report import write_bench_report
        print(f"wrote {write_bench_report([result], args.html, f'tinyrt bench: {model.name}')}")
    from ..bench.runner import model_misses
    missed = model_misses(result, args.fail_on_interference)
    if missed:
        why = "late callbacks (--fail-on-interference counts the machine's too)" if args.fail_on_interference else \
            "deadline misses caused by the model (its CPU time exceeded the budget)"
        print(f"tinyrt: {why} on {', '.join(missed)} at {args.block} samples / {result['sample_rate']:g} Hz.",
              file=sys.stderr)
        return 1
    return 0


def knob_audio(model, audio, args, rate):
    """Return bench's input audio with the knob tracks of --param (or the knobs' defaults) for a model with knobs."""
    values = param_values(model, args.param)
    if audio is not None and (model.params or args.knobs_from_channels):
        return with_knobs(model, model_audio(model, audio, args.input, values, args.knobs_from_channels), values)
    if audio is None and values and args.features is None:  # the built-in signal with these knobs held constant
        from ..backends.verify import signal_frames
        frames = signal_frames(model, max(args.seconds, 2 * args.block / (rate or 48000.0)))
        return constant_knobs(model, frames, values).reshape(-1, model.in_channels)
    return audio


def cmd_bench_device(args) -> int:
    """Time the model's C harness on a board over SSH (tinyrt.deploy.remote); print the table, write JSON."""
    from ..deploy.remote import bench_remote, remote_table
    result = bench_remote(load_model(args.model), args.device, args.arch, emulate=args.emulate,
                          identity=args.identity, sample_rate=args.sr, block=args.block,
                          seconds=args.seconds, log=lambda line: print(line, flush=True))
    print(remote_table(result))
    if args.json:
        write_json(args.json, result)
    if result["timing"]["deadline_misses"] and not result["emulated"]:  # emulated timings prove nothing
        print(f"tinyrt: deadline misses on {args.device} at {args.block} samples / {result['sample_rate']:g} Hz.",
              file=sys.stderr)
        return 1
    return 0


def cmd_sweep(args) -> int:
    """Find the largest LSTM/GRU that meets the budget for each host and model block size."""
    from ..bench.capacity import sweep, sweep_table
    from ..train.executors import executor
    blocks, model_blocks = ints(args.blocks, "--blocks"), ints(args.model_blocks, "--model-blocks")
    pool = executor(args.executor, args.address, args.workers)
    try:
        result = sweep(args.cell, args.sr, blocks, model_blocks, args.limit, args.max_hidden,
                       log=lambda line: print(line, flush=True), executor=pool, max_seconds=args.max_seconds)
    finally:
        pool.close()
    print(sweep_table(result))
    if args.json:
        write_json(args.json, result)
    if args.plot:
        from ..bench.plots import plot_capacity
        plot_capacity(result, args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_fit(args) -> int:
    """Say whether a model meets the callback budget here, with the margin, and what would fit if not."""
    if args.target:  # a board tinyrt cannot run here: the cost model's prediction, never a measurement
        from ..bench.targets import predict, predict_text
        result = predict(load_model(args.model), args.target, args.block, args.sr)
        print(predict_text(result))
        if args.json:
            write_json(args.json, result)
        return 0 if result["predicted_fits"] else 1
    from ..bench.capacity import fit, fit_text
    result = fit(load_model(args.model), args.sr, args.block, args.limit, args.max_seconds)
    print(fit_text(result))
    if args.json:
        write_json(args.json, result)
    return 0 if result["fits"] else 1


def cmd_profile(args) -> int:
    """Print per-layer time per callback on each engine; write JSON, speedscope and folded stacks if asked."""
    from ..bench.profile import profile, profile_table, write_folded, write_speedscope
    model = load_model(args.model)
    result = profile(model, engine_list(args.engines), args.sr, args.block, args.seconds)
    print(profile_table(result))
    if args.json:
        write_json(args.json, result)
        print(f"wrote {args.json}")
    for path, write in ((args.speedscope, write_speedscope), (args.folded, write_folded)):
        if path:
            print(f"wrote {write(result, path)}")
    return 0


def cmd_zoo(args) -> int:
    """Check and time the model zoo's blocks on each engine; print the table, exit 1 if any engine disagreed."""
    from ..bench.zoo import BLOCKS, bench_zoo, block_list, zoo_table
    if args.list:
        print(block_list())
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    result = bench_zoo(args.blocks or ";".join(BLOCKS), engines, args.sr, args.block, args.seconds,
                       log=lambda line: print(line, flush=True))
    print(zoo_table(result))
    if args.json:
        write_json(args.json, result)
    failed = [f"{name} on {b['name']}" for b in result["blocks"] for name, cell in b["engines"].items()
              if "failed" in cell]
    if failed:
        print(f"tinyrt: output disagrees with the reference for {'; '.join(failed)}.", file=sys.stderr)
        return 1
    return 0


def add_parsers(sub) -> None:
    """Add the measuring verbs to the command's subparsers."""
    s = sub.add_parser("bench", help="time callbacks on each engine: latency, jitter, load, deadline misses, memory")
    s.add_argument("model")
    s.add_argument("--engines", default="c,onnxruntime,torch,torchscript",
                   help="engines to compare (default c,onnxruntime,torch,torchscript; also reference)")
    s.add_argument("--sr", type=positive_float, help="sample rate in Hz (default: the model's, else 48000)")
    s.add_argument("--block", type=positive_int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--seconds", type=positive_float, default=5.0, help="seconds of audio per engine (default 5)")
    s.add_argument("--mode", default="flat", choices=("flat", "paced"),
                   help="flat: back to back; paced: released at the real period like an audio driver")
    s.add_argument("--input", help="time and score on this WAV file instead of the built-in test signal")
    s.add_argument("--target", help="the processed version of --input: score each engine against it (ESR, MSE)")
    s.add_argument("--latency", metavar="auto|stored|N",
                   help="capture latency removed from --target: the model's stored one (the default when it has "
                        "one), detected on the pair (auto), or N samples")
    s.add_argument("--features", help="a .npy array (frames x inputs) to run instead of audio (classifiers)")
    s.add_argument("--labels", help="a .npy array of one class index per frame: accuracy and F1 per engine")
    s.add_argument("--json", help="also write the results as JSON here")
    s.add_argument("--html", help="also write a report page (tables, latency histograms, comparison) here")
    s.add_argument("--warmup", type=non_negative_int, default=0,
                   help="untimed calls before timing, as a host runs before going live (default 0)")
    s.add_argument("--fail-on-interference", action="store_true",
                   help="exit 1 for any late callback, also one the busy machine delayed (for a dedicated "
                        "real-time box); by default only the model's own misses fail")
    device = s.add_argument_group("on a board over SSH (tinyrt.deploy.remote)")
    device.add_argument("--device", metavar="USER@HOST[:PORT]",
                        help="cross-build the C harness, run it on this board over SSH, check its output")
    device.add_argument("--arch", default="aarch64", choices=("aarch64", "armhf"),
                        help="the board's CPU: aarch64 (Raspberry Pi 4) or armhf (Bela); default aarch64")
    device.add_argument("--emulate", action="store_true",
                        help="run under qemu-user on that host instead (emulated timings are not the board's)")
    device.add_argument("--identity", metavar="KEYFILE", help="the SSH private key to log in with")
    add_knob_arguments(s)
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("sweep", help="largest LSTM/GRU meeting the budget per host and model block size")
    s.add_argument("--cell", default="lstm", choices=("lstm", "gru"))
    s.add_argument("--sr", type=positive_float, default=48000.0)
    s.add_argument("--blocks", default="16,32,64,128,256", help="host block sizes")
    s.add_argument("--model-blocks", default="1,16", help="model block sizes")
    s.add_argument("--limit", type=positive_float, default=0.7,
                   help="mean CPU load limit, a fraction of the budget (default 0.7)")
    s.add_argument("--max-hidden", type=positive_int, default=512)
    s.add_argument("--max-seconds", type=positive_float, default=2.0,
                   help="longest measurement of one size before deciding (default 2)")
    s.add_argument("--executor", default="process", choices=("process", "ray"),
                   help="where the (model block, host block) trials run: local processes or a Ray cluster")
    s.add_argument("--address", metavar="HOST:PORT", help="the Ray cluster's head (--executor ray; default: "
                                                           "a local Ray instance)")
    s.add_argument("--workers", type=positive_int, help="local processes, or CPUs of a local Ray instance "
                                                         "(default: one per core)")
    s.add_argument("--json", help="also write the results as JSON here")
    s.add_argument("--plot", help="also write a PNG chart here")
    s.set_defaults(func=cmd_sweep)

    s = sub.add_parser("fit", help="does a model meet the callback budget here? margin, and what would fit")
    s.add_argument("model")
    s.add_argument("--sr", type=positive_float, help="sample rate (default: the model's)")
    s.add_argument("--block", type=positive_int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--limit", type=positive_float, default=0.7,
                   help="mean CPU load limit, a fraction of the budget (default 0.7)")
    s.add_argument("--max-seconds", type=positive_float, default=2.0,
                   help="longest measurement of one setting before deciding (default 2)")
    s.add_argument("--json", help="also write the verdict as JSON here")
    s.add_argument("--target", choices=("bela", "pi4", "cortex-m7"),
                   help="predict for that board from a cost model calibrated to published figures instead of "
                        "measuring here (--sr defaults to the board's rate; --limit does not apply)")
    s.set_defaults(func=cmd_fit)

    s = sub.add_parser("profile", help="per-layer time per callback on the C engine, ONNX Runtime and torch")
    s.add_argument("model")
    s.add_argument("--engines", default="c,onnxruntime,torch")
    s.add_argument("--sr", type=positive_float, help="sample rate in Hz (default: the model's, else 48000)")
    s.add_argument("--block", type=positive_int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--seconds", type=positive_float, default=2.0, help="seconds of audio per engine (default 2)")
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
    s.add_argument("--sr", type=positive_float, default=48000.0, help="sample rate in Hz (default 48000)")
    s.add_argument("--block", type=positive_int, default=64, help="host block size in samples (default 64)")
    s.add_argument("--seconds", type=positive_float, default=1.0,
                   help="seconds of audio per block and engine (default 1)")
    s.add_argument("--json", help="also write the results as JSON here")
    s.set_defaults(func=cmd_zoo)
