"""Start a private JACK server on the dummy driver (no sound card): what tests and benchmarks run the live
host under.

``dummy_server(rate=48000, period=64)`` is a context manager that starts ``jackd -n NAME -d dummy``
(real-time if the system grants it, else ``--no-realtime``), waits until it answers and yields its
name; it stops the server (by its process id) on exit. Clients find it by that name
(``--jack-server``, ``JACK_DEFAULT_SERVER``).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid

from ..errors import InputError

ENV = {"JACK_NO_AUDIO_RESERVATION": "1"}


def _answers(name: str, env: dict) -> bool:
    return subprocess.run(["jack_lsp", "-s", name], capture_output=True, env=env, check=False,
                          timeout=10).returncode == 0


@contextlib.contextmanager
def dummy_server(rate: int = 48000, period: int = 64, name: str | None = None, realtime: bool = True,
                 timeout: float = 10.0):
    """Run a dummy-driver JACK server for the duration of the with-block; yield its name."""
    for tool in ("jackd", "jack_lsp"):
        if shutil.which(tool) is None:
            raise InputError(f"{tool} is not installed; install jackd2 (apt-get install jackd2).")
    name = name or f"tinyrt-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, **ENV, "JACK_DEFAULT_SERVER": name}
    proc = None
    try:
        for extra in (([], ["--no-realtime"]) if realtime else (["--no-realtime"],)):
            proc = subprocess.Popen(["jackd", "-n", name, *extra, "-d", "dummy", "-r", str(int(rate)),
                                     "-p", str(int(period))], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=env)
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline and not _answers(name, env):
                time.sleep(0.1)
            if proc.poll() is None and _answers(name, env):
                break
            _stop(proc)
            proc = None
        if proc is None:
            raise InputError(f"jackd -d dummy -r {rate} -p {period} did not start; run it by hand to see why.")
        yield name
    finally:
        if proc is not None:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
