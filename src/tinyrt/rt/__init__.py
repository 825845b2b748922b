"""The live host: a model meeting live audio on this machine, under a deadline.

Contract of what lands here (the live issue builds it):
- Every live front door (the JACK client's process callback, the offline renderer of the same
  program) calls the one generated C processor of a deploy (``tinyrt.backends.c``), never a
  Python path: the audio thread runs C only.
- The process callback allocates nothing, takes no lock, does no I/O and never waits; control
  (effect select, bypass, gains, knob parameters) reaches it only through a lock-free
  single-producer/single-consumer ring, and statistics (per-callback wall and thread CPU time,
  load, worst case, misses, xruns, non-finite outputs) leave it the same way.
- Work that cannot meet the callback deadline (a classifier after an onset) runs on a worker
  thread fed by a ring; its results come back through another ring, stamped with sample times.
- OSC and the browser page bind to 127.0.0.1 unless a flag names another address; malformed
  control input is logged in one line and never reaches or stops the audio thread.
This package may import every layer below it (bench, train, data, backends, frontends, audio,
ir); nothing below imports it. The CLI and the demo sit above it.

Built so far: ``host`` (the generated C host program: JACK client, OSC thread, offline WAV renderer, the
control and stats rings of ``trt_ring.h``), ``live`` (``live()`` -> ``LiveHost``, ``render()``), ``osc``
(a dependency-free OSC codec and client), ``ring`` (the ring's two-thread test program), ``jackd`` (a
private dummy-driver JACK server for tests and benchmarks), ``web`` (the browser control page: Starlette +
uvicorn, a WebSocket, OSC to the host; ``live(models, web="127.0.0.1:8000")``), ``events`` (the event-triggered
classifier worker), ``replay`` (host-based simulation: a recording through the event worker, traced and scored).
"""
from .host import HostBuild, build_host, host_source
from .live import LiveHost, live, render
from .replay import replay

__all__ = ["HostBuild", "LiveHost", "build_host", "host_source", "live", "render", "replay"]
