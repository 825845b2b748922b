"""The live verb: models through the live host, under JACK with OSC control, or offline WAV to WAV."""
from __future__ import annotations

import json
import subprocess


def cmd_live(args) -> int:
    """Render offline (--input/--output) or run the JACK host in the foreground until /quit or Ctrl-C."""
    from ..errors import InputError
    from ..rt import build_host, render
    from ..rt.live import load_models, split_address
    if args.input or args.output:
        if not (args.input and args.output):
            raise InputError("offline rendering needs both --input and --output.")
        summary = render(args.models, args.input, args.output, control=args.control, pace=args.pace,
                         name=args.name, block=args.block, trace=args.trace, pcm16=args.pcm16,
                         **_event_args(args))
        print(json.dumps(summary))
        return 0
    if args.web:
        return _live_web(args)
    host, _ = split_address(args.osc)
    if not host.startswith("127.") and not args.allow_remote:
        raise InputError(f"refusing to bind OSC to {host}: other machines could control the host; pass "
                         f"--allow-remote to allow that.")
    ev = _event_args(args)
    build = build_host(load_models(args.models), args.name, classifier=ev.get("classifier"),
                       event_options=ev.get("event_options"))
    argv = [str(build.program), "--osc", args.osc, "--rt-priority", str(args.rt_priority)]
    argv += ["--jack-server", args.jack_server] if args.jack_server else []
    argv += ["--allow-remote"] if args.allow_remote else []
    argv += ["--connect"] if args.connect else []
    print(f"tinyrt: live host {build.program} (JACK client {build.client_name}); OSC /parameter/"
          f"{build.code.name}/<param> f, /effect i, /bypass i, /stats, /quit on {args.osc}"
          + ("; /subscribe for /classification i f h d d d" if ev else ""), flush=True)
    try:
        return subprocess.run(argv, check=False).returncode
    except KeyboardInterrupt:
        return 130


def _live_web(args) -> int:
    """Run the host with the browser control page (rt/web.py) until the host exits or Ctrl-C."""
    import time

    from ..rt import live
    ev = _event_args(args)
    host = live(args.models, args.name, osc=args.osc, jack_server=args.jack_server, allow_remote=args.allow_remote,
                connect=args.connect, rt_priority=args.rt_priority, web=args.web,
                classifier=ev.get("classifier"), event_options=ev.get("event_options"))
    print(f"tinyrt: live host {host.build.program} (JACK client {host.client_name}), OSC on {host.ready['osc']}; "
          f"control page at {host.web.url}", flush=True)
    try:
        while host.alive() and host.web.alive():
            time.sleep(0.25)
    except KeyboardInterrupt:
        pass
    finally:
        code = host.stop()
    return code or 0


# ---- event-triggered classification (tinyrt.rt.events) ----

def _event_args(args) -> dict:
    """Return the classifier keyword arguments of render/build_host from the event options (empty without one)."""
    from ..errors import InputError
    if not args.classifier:
        if args.events or args.response:
            raise InputError("--events and --response need --classifier (the classifier the events are run "
                             "through).")
        return {}
    opts = {"window_ms": args.window_ms, "factor": args.onset_threshold, "floor": args.onset_floor,
            "refractory_ms": args.refractory_ms, "n_mels": args.n_mels}
    out = {"classifier": args.classifier, "event_options": opts}
    if args.input or args.output:
        out["events"] = args.events
        out["response"] = args.response
    return out


def _add_event_arguments(s) -> None:
    g = s.add_argument_group("event-triggered classification")
    g.add_argument("--classifier", help="a classic classifier (.tinyrt from tinyrt convert) run on a worker thread "
                                        "after each detected onset, on its window's mean log-mel bands")
    g.add_argument("--onset-threshold", type=float, default=4.0,
                   help="onset when the energy flux exceeds this times its recent mean plus --onset-floor (4)")
    g.add_argument("--onset-floor", type=float, default=1e-4, help="absolute flux floor of the onset threshold")
    g.add_argument("--refractory-ms", type=float, default=150.0, help="no new onset for this long after one (150)")
    g.add_argument("--window-ms", type=float, default=100.0, help="audio classified from each onset (100 ms)")
    g.add_argument("--n-mels", type=int, default=20, help="mel bands of the classifier's features (20)")
    g.add_argument("--events", help="offline: write the classifications (onset, class, times) to this JSON")
    g.add_argument("--response", help="offline: write a WAV with a 1 ms click where each result arrived (with "
                                      "--pace realtime: the device's latency, for tinyrt latency)")


def add_parsers(sub) -> None:
    """Add the live verb to the command's subparsers."""
    s = sub.add_parser("live", help="run models live under JACK with OSC control, or render WAV offline",
                       description="Without --input/--output: a JACK client tinyrt-NAME (one input, one output) "
                                   "controlled over OSC. With them: the same processor and control path offline.")
    s.add_argument("models", nargs="+", help="model files (.tinyrt or any format tinyrt reads); effect i is model i")
    s.add_argument("--name", default="live", help="processor name: JACK client tinyrt-NAME, OSC /parameter/NAME/..")
    s.add_argument("--osc", default="127.0.0.1:9000", help="OSC UDP address (default 127.0.0.1:9000; port 0: any)")
    s.add_argument("--allow-remote", action="store_true", help="allow binding OSC or the --web page to an address "
                                                              "other than this machine's (127.x)")
    s.add_argument("--jack-server", help="JACK server name (default: $JACK_DEFAULT_SERVER or the default server)")
    s.add_argument("--connect", action="store_true", help="connect to the first physical capture/playback ports")
    s.add_argument("--rt-priority", type=int, default=10, help="SCHED_FIFO priority asked for if JACK gave none")
    s.add_argument("--input", help="offline: mono WAV to process (32-bit float or 16-bit PCM)")
    s.add_argument("--output", help="offline: WAV to write (32-bit float unless --pcm16)")
    s.add_argument("--control", help="offline: text file of `sample_time param value` lines")
    s.add_argument("--pace", default="fast", choices=("fast", "realtime"), help="offline: as fast as possible or "
                                                                                "in step with the clock")
    s.add_argument("--block", type=int, default=64, help="offline: frames per callback (default 64)")
    s.add_argument("--trace", help="offline: write per-block timing JSON here")
    s.add_argument("--pcm16", action="store_true", help="offline: write 16-bit PCM")
    s.add_argument("--web", metavar="HOST:PORT", help="also serve the browser control page there (e.g. "
                                                      "127.0.0.1:8000); needs starlette and uvicorn")
    _add_event_arguments(s)
    s.set_defaults(func=cmd_live)
