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
                         name=args.name, block=args.block, trace=args.trace, pcm16=args.pcm16)
        print(json.dumps(summary))
        return 0
    if args.web:
        return _live_web(args)
    host, _ = split_address(args.osc)
    if not host.startswith("127.") and not args.allow_remote:
        raise InputError(f"refusing to bind OSC to {host}: other machines could control the host; pass "
                         f"--allow-remote to allow that.")
    build = build_host(load_models(args.models), args.name)
    argv = [str(build.program), "--osc", args.osc, "--rt-priority", str(args.rt_priority)]
    argv += ["--jack-server", args.jack_server] if args.jack_server else []
    argv += ["--allow-remote"] if args.allow_remote else []
    argv += ["--connect"] if args.connect else []
    print(f"tinyrt: live host {build.program} (JACK client {build.client_name}); OSC /parameter/"
          f"{build.code.name}/<param> f, /effect i, /bypass i, /stats, /quit on {args.osc}", flush=True)
    try:
        return subprocess.run(argv, check=False).returncode
    except KeyboardInterrupt:
        return 130


def _live_web(args) -> int:
    """Run the host with the browser control page (rt/web.py) until the host exits or Ctrl-C."""
    import time

    from ..rt import live
    host = live(args.models, args.name, osc=args.osc, jack_server=args.jack_server, allow_remote=args.allow_remote,
                connect=args.connect, rt_priority=args.rt_priority, web=args.web)
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
    s.set_defaults(func=cmd_live)
