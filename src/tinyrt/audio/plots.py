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


def short_label(text: str, limit: int = 40) -> str:
    """Return text cut to limit characters (an ellipsis marks the cut), for plot titles and tick labels."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def plot_comparison(clean, target, output, sample_rate: float, path, title: str = "",
                    window: float = 0.02, zoom: float = 0.004) -> Path:
    """Write waveforms, a zoomed window, the error signal and the spectra of target and model; return the path.

    The waveform shows ``window`` seconds around the loudest part of the target, the zoom ``zoom``
    seconds in its middle (shaded above), where clean, target and model can be told apart; the error
    panel is target - model over the same window on its own scale. Made to be shown at full page width.
    """
    plt = pyplot()
    title = short_label(title, 48)
    clean, target, output = (np.asarray(a, np.float64) for a in (clean, target, output))
    n = int(window * sample_rate)
    centre = int(np.argmax(np.convolve(target ** 2, np.ones(n), "same"))) if len(target) > n else n // 2
    lo = max(0, min(centre - n // 2, len(target) - n))
    t = np.arange(lo, lo + n) / sample_rate * 1000
    z = max(8, int(zoom * sample_rate))
    zlo = lo + max(0, (n - z) // 2)
    tz = np.arange(zlo, zlo + z) / sample_rate * 1000
    styles = {"clean": dict(color="#999999", lw=1.0), "target": dict(color="#0044aa", lw=2.2),
              "model": dict(color="#ee7700", lw=1.4, ls="--")}
    fig, axes = plt.subplots(4, 1, figsize=(12, 11), height_ratios=(1, 1, 0.7, 1.2))
    ax_w, ax_z, ax_e, ax_s = axes
    for label, sig in (("clean", clean), ("target", target), ("model", output)):
        ax_w.plot(t, sig[lo:lo + n], label=label, **styles[label])
        ax_z.plot(tz, sig[zlo:zlo + z], label=label, marker="." if label != "clean" else None, ms=4,
                  **styles[label])
    ax_w.axvspan(tz[0], tz[-1], color="#ffdd88", alpha=0.35, label="zoomed below")
    ax_w.set_title(f"{title} waveform ({window * 1000:g} ms around the loudest part)".strip(), fontsize=12)
    ax_z.set_title(f"zoom: {zoom * 1000:g} ms", fontsize=12)
    err = target[lo:lo + n] - output[lo:lo + n]
    ax_e.plot(t, err, color="#cc3311", lw=1.0, label="error (target - model)")
    ax_e.axhline(0, color="#555555", lw=0.6)
    ax_e.set_title(f"error signal, max |error| {np.max(np.abs(err)) if len(err) else 0:.2g}", fontsize=12)
    for ax in (ax_w, ax_z, ax_e):
        ax.set_xlabel("time (ms)", fontsize=11)
        ax.legend(loc="upper right", fontsize=11, ncol=4, framealpha=0.9)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=10)
    size = 4096
    win = np.hanning(size)
    for sig, label, style in ((target, "target", styles["target"]), (output, "model", styles["model"]),
                              (target - output, "error", dict(color="#cc3311", lw=1.0, ls=":"))):
        frames = [sig[i:i + size] * win for i in range(0, len(sig) - size, size // 2)]
        spec = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) if frames else np.zeros(size // 2 + 1)
        freqs = np.fft.rfftfreq(size, 1 / sample_rate)
        ax_s.semilogx(freqs[1:], 10 * np.log10(spec[1:] + 1e-12), label=label,
                      **{**style, "lw": min(style["lw"], 1.4)})
    ax_s.set_xlim(20, sample_rate / 2)
    ax_s.set_xlabel("frequency (Hz)", fontsize=11)
    ax_s.set_ylabel("power (dB)", fontsize=11)
    ax_s.legend(fontsize=11, ncol=3, loc="lower left", framealpha=0.9)
    ax_s.grid(True, which="both", alpha=0.3)
    ax_s.tick_params(labelsize=10)
    ax_s.set_title(f"{title} spectrum".strip(), fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return Path(path)
