"""PNG plots of audio (matplotlib without a display): the one pyplot helper, and waveform/spectrum comparisons."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """Return matplotlib.pyplot set to the Agg backend (files only, no display); every tinyrt plot uses it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_comparison(clean, target, output, sample_rate: float, path, title: str = "",
                    window: float = 0.02) -> Path:
    """Write a waveform close-up and the spectra of target and model output; return the path.

    The close-up shows ``window`` seconds around the loudest part of the target.
    """
    plt = pyplot()
    clean, target, output = (np.asarray(a, np.float64) for a in (clean, target, output))
    n = int(window * sample_rate)
    centre = int(np.argmax(np.convolve(target ** 2, np.ones(n), "same"))) if len(target) > n else n // 2
    lo = max(0, min(centre - n // 2, len(target) - n))
    t = np.arange(lo, lo + n) / sample_rate * 1000
    fig, (ax_w, ax_s) = plt.subplots(1, 2, figsize=(11, 3.4))
    ax_w.plot(t, clean[lo:lo + n], lw=0.8, color="tab:gray", label="clean")
    ax_w.plot(t, target[lo:lo + n], lw=1.4, label="target")
    ax_w.plot(t, output[lo:lo + n], lw=0.9, ls="--", label="model")
    ax_w.set_xlabel("time (ms)")
    ax_w.legend(loc="upper right", fontsize=8)
    ax_w.grid(True, alpha=0.3)
    ax_w.set_title(f"{title} waveform".strip())
    size = 4096
    win = np.hanning(size)
    for sig, label, style in ((target, "target", "-"), (output, "model", "--"), (target - output, "error", ":")):
        frames = [sig[i:i + size] * win for i in range(0, len(sig) - size, size // 2)]
        spec = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) if frames else np.zeros(size // 2 + 1)
        freqs = np.fft.rfftfreq(size, 1 / sample_rate)
        ax_s.semilogx(freqs[1:], 10 * np.log10(spec[1:] + 1e-12), style, lw=1, label=label)
    ax_s.set_xlim(20, sample_rate / 2)
    ax_s.set_xlabel("frequency (Hz)")
    ax_s.set_ylabel("power (dB)")
    ax_s.legend(fontsize=8)
    ax_s.grid(True, which="both", alpha=0.3)
    ax_s.set_title(f"{title} spectrum".strip())
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
