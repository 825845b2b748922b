"""A terminal progress bar with ETA for training, and the events the trainer reports through it."""
from __future__ import annotations

import sys
import time


def clock(seconds: float) -> str:
    """Return seconds as m:ss (or h:mm:ss)."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def bar(fraction: float, width: int = 24) -> str:
    """Return a text bar filled to fraction (0..1)."""
    fraction = min(max(fraction, 0.0), 1.0)
    full = int(fraction * width)
    return "#" * full + "-" * (width - full)


def describe(event: dict) -> str:
    """Return one status line for a training progress event."""
    return (f"{event['name']:<14} [{bar(event['fraction'])}] {100 * event['fraction']:3.0f}% "
            f"epoch {event['epoch']:>3} valid {event['valid_loss']:.4f} best {event['best']:.4f} "
            f"lr {event['lr']:.1e}  {clock(event['elapsed'])} elapsed, ETA {clock(event['eta'])}")


class ProgressBar:
    """Draw training progress on a terminal in place, or as a line every few seconds elsewhere."""

    def __init__(self, stream=None, every: float = 10.0):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every, self.last = every, 0.0

    def __call__(self, event: dict) -> None:
        """Show one progress event."""
        if event.get("done"):
            end = "\n"
        elif self.tty:
            end = ""
        elif time.monotonic() - self.last >= self.every:
            end = "\n"
        else:
            return
        self.last = time.monotonic()
        prefix = "\r\033[K" if self.tty else ""
        self.stream.write(prefix + describe(event) + end)
        self.stream.flush()
