"""Resident memory of this process, sampled by a separate thread while something runs."""
from __future__ import annotations

import os
import threading
import time

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Return this process's resident set size in bytes (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class MemorySampler:
    """A context manager sampling RSS every ``interval`` seconds; ``result()`` gives baseline, mean, peak."""

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.samples: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self.baseline = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(rss_bytes())

    def result(self) -> dict:
        """Return RSS before the run, and mean and peak during it, in bytes."""
        return {"rss_before": self.baseline, "rss_mean": sum(self.samples) / len(self.samples),
                "rss_peak": max(self.samples), "samples": len(self.samples)}


def engine_rss_increment(memory: dict) -> int:
    """Return the resident memory one engine added: its peak minus the RSS before it was loaded.

    A bench that records ``rss_before_load`` (``rss_bytes()`` before creating the engine) gets the
    engine's own cost including its libraries and weights; without it, the growth during the run
    (peak minus ``rss_before``). Never the whole process, which holds every engine loaded before.
    """
    before = memory.get("rss_before_load", memory.get("rss_before", 0))
    return max(0, int(memory.get("rss_peak", 0)) - int(before))
