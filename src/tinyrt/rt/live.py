"""The Python handle of the live host: ``live(models)`` runs it under JACK with OSC control, ``render``
runs its offline mode (the same processor and control path) from one WAV file to another.
"""
from __future__ import annotations

import json
import math
import os
import queue
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..errors import InputError
from .host import HostBuild, build_host
from .osc import OscClient


def load_models(models) -> list:
    """Return IR models from models or model files (any format tinyrt reads)."""
    from ..frontends import from_file
    out = []
    for m in models if isinstance(models, list | tuple) else [models]:
        out.append(from_file(m) if isinstance(m, str | os.PathLike) else m)
    return out


def split_address(osc: str) -> tuple:
    host, _, port = str(osc).rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"osc takes HOST:PORT such as 127.0.0.1:9000, not {osc!r}.")
    return host, int(port)


class LiveHost:
    """A running live host program: OSC control, statistics and stop."""

    def __init__(self, build: HostBuild, process: subprocess.Popen, ready: dict, lines: list):
        self.build = build
        self.process = process
        self.ready = ready
        self.lines = lines  # every line the program printed (stdout and stderr), as they come
        host, port = split_address(ready["osc"])
        self.osc = OscClient(host, port)
        self.client_name = ready["client"]
        self.realtime = next((ln for ln in lines if "real-time scheduling" in ln), "")
        self.web = None  # the browser control page's WebServer (rt/web.py) when live(web=...) started one

    @property
    def params(self) -> list:
        """Return the processor's parameters (Param)."""
        return self.build.code.params

    def set_effect(self, effect) -> None:
        """Select the effect by index or model name."""
        if isinstance(effect, str):
            names = [m.name for m in self.build.code.models]
            if effect not in names:
                raise InputError(f"no model {effect!r} in the live host; it runs {', '.join(names)}.")
            effect = names.index(effect)
        self.osc.send("/effect", int(effect))

    def set_bypass(self, on: bool) -> None:
        """Bypass (the delayed clean input) or not."""
        self.osc.send("/bypass", int(bool(on)))

    def set_param(self, name: str, value: float) -> None:
        """Set a processor parameter by name (effect, bypass, input_gain, output_gain or a knob)."""
        if name not in [p.name for p in self.params]:
            raise InputError(f"the live host has no parameter {name!r}; it has "
                             f"{', '.join(p.name for p in self.params)}.")
        if not math.isfinite(float(value)):
            raise InputError(f"parameter {name} takes a finite number, not {value!r}.")
        self.osc.send(f"/parameter/{self.build.code.name}/{name}", float(value))

    def stats(self, timeout: float = 2.0) -> dict:
        """Return the host's statistics (/stats over OSC) as {name: number}."""
        try:
            path, values = self.osc.request("/stats", timeout=timeout)
        except TimeoutError:
            raise InputError(f"the live host did not answer /stats within {timeout:g} s"
                             f"{' (it has exited)' if self.process.poll() is not None else ''}.") from None
        return {values[i]: values[i + 1] for i in range(0, len(values) - 1, 2)} if path == "/stats" else {}

    def alive(self) -> bool:
        """Return whether the program still runs."""
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> int:
        """Ask the host to quit (/quit), kill it if it does not within timeout; return its exit code."""
        if self.web is not None:  # the control page first: it polls the host
            self.web.stop()
            self.web = None
        if self.process.poll() is None:
            try:
                self.osc.send("/quit")
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.osc.close()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _reader(stream, lines: list, events: queue.Queue) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        events.put(line)
    events.put(None)


def live(models, name: str = "live", osc: str = "127.0.0.1:9000", jack_server: str | None = None, *,
         allow_remote: bool = False, connect: bool = False, hooks: bool = False, rt_priority: int = 10,
         ready_timeout: float = 20.0, env: dict | None = None, web: str | None = None, classifier=None,
         event_options: dict | None = None) -> LiveHost:
    """Build and start the live host (a JACK client ``tinyrt-<name>``) and return its handle once it is ready.

    ``osc`` is the UDP address of the control port (port 0: any free port); binding an address other than
    127.x needs ``allow_remote``. ``connect`` connects the client to the first physical ports. ``hooks``
    runs the build that counts heap and lock calls in the audio thread (reported by ``stats()``).
    ``web`` (HOST:PORT, port 0: any) also serves the browser control page (rt/web.py) from a thread of this
    process, at ``host.web.url``; a non-loopback address needs ``allow_remote``. ``stop()`` stops both.
    ``classifier`` (a classic classifier IR or .tinyrt path) adds the event-triggered worker of
    tinyrt.rt.events (``event_options``: window_ms, onset_hop, factor, floor, refractory_ms, n_mels, ...):
    results go to OSC clients that sent ``/subscribe`` as ``/classification i f h d d d``.
    """
    if web is not None:
        from .web import check_web_address
        check_web_address(web, allow_remote)
    host, _ = split_address(osc)
    if not host.startswith("127.") and not allow_remote:
        why = f"refusing to bind OSC to {host}: other machines could control the host; "
        raise InputError(f"{why}pass allow_remote=True to allow that.", cli=f"{why}give --allow-remote to allow that.")
    build = build_host(load_models(models), name, hooks=hooks, classifier=classifier, event_options=event_options)
    argv = [str(build.program), "--osc", osc, "--rt-priority", str(int(rt_priority))]
    argv += ["--jack-server", jack_server] if jack_server else []
    argv += ["--allow-remote"] if allow_remote else []
    argv += ["--connect"] if connect else []
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    lines: list = []
    events: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines, events), daemon=True).start()
    deadline = time.monotonic() + ready_timeout
    while True:
        try:
            line = events.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            line = ""
        if line and line.startswith("tinyrt-live: ready "):
            ready = dict(kv.split("=", 1) for kv in line.split()[2:])
            handle = LiveHost(build, process, ready, lines)
            if web is not None:
                from .web import start_web
                try:
                    handle.web = start_web(handle, web, allow_remote)
                except BaseException:
                    handle.stop()
                    raise
            return handle
        if line is None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            said = next((ln for ln in lines if "error:" in ln), "\n".join(lines[-3:]))
            raise InputError(f"the live host did not start ({said.replace('tinyrt-live: error: ', '').strip()})"
                             if said else "the live host did not start in time.")


def _control_file(control, folder: str) -> str | None:
    if control is None or isinstance(control, str | os.PathLike):
        return None if control is None else str(control)
    path = os.path.join(folder, "control.txt")
    with open(path, "w") as f:
        for t, param, value in control:
            if not math.isfinite(float(value)) or int(t) < 0:
                raise InputError(f"control event ({t}, {param}, {value}) needs a time >= 0 and a finite value.")
            f.write(f"{int(t)} {param} {float(value)!r}\n")
    return path


def render(models, input_wav, output_wav, control=None, pace: str = "fast", *, name: str = "live",
           block: int = 64, trace=None, pcm16: bool = False, classifier=None, event_options: dict | None = None,
           events=None, response=None) -> dict:
    """Run the live host's offline mode: input_wav through the processor to output_wav; return its summary.

    ``control`` is a file of ``sample_time param value`` lines or a list of (sample_time, param, value);
    each is pushed into the same control ring as OSC messages and applied at that sample. ``pace``
    "realtime" processes in step with the clock, "fast" as fast as it can. With ``classifier`` the
    event-triggered worker runs too (waiting for it instead of dropping) and ``events`` names the JSON file
    its results are written to ({detected, dispatched, dropped, busy, events: [{onset, class, probability,
    t_detect, t_dispatch, t_start, t_result}]}); ``response`` names a mono WAV the host writes its answer to: a
    1 ms click at the start of the callback after each result arrived (with pace "realtime", the device's
    onset-to-response latency, measured by ``tinyrt.audio.latency``).
    """
    if pace not in ("realtime", "fast"):
        raise InputError(f"pace is realtime or fast, not {pace!r}.")
    build = build_host(load_models(models), name, classifier=classifier, event_options=event_options)
    with tempfile.TemporaryDirectory(prefix="tinyrt-render-") as folder:
        argv = [str(build.program), "--input", str(input_wav), "--output", str(output_wav), "--pace", pace,
                "--block", str(int(block))]
        ctl = _control_file(control, folder)
        argv += ["--control", ctl] if ctl else []
        argv += ["--trace", str(trace)] if trace else []
        argv += ["--pcm16"] if pcm16 else []
        argv += ["--events", str(events)] if events else []
        argv += ["--response", str(response)] if response else []
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        said = next((ln for ln in proc.stderr.splitlines() if "error:" in ln), proc.stderr.strip()[-300:])
        raise InputError(said.replace("tinyrt-live: error: ", "").strip().rstrip(".") + ".")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["output"] = str(Path(output_wav))
    return summary
