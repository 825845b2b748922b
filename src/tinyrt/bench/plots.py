"""PNG charts for the benchmarks (matplotlib, no display)."""
from __future__ import annotations

from pathlib import Path


def plot_capacity(result: dict, path) -> Path:
    """Write the sweep's largest hidden size per host block, one line per model block; return the path."""
    from ..train.plots import _pyplot
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for mb in result["model_blocks"]:
        row = result["largest_hidden"][f"{mb}"]
        ax.plot(result["host_blocks"], [row[f"{hb}"] for hb in result["host_blocks"]], marker="o",
                label=f"model block {mb}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(result["host_blocks"], [str(b) for b in result["host_blocks"]])
    ax.set_xlabel("host block (samples)")
    ax.set_ylabel(f"largest {result['cell'].upper()} hidden size")
    ax.set_title(f"worst-case load <= {100 * result['limit']:.0f} % at {result['sample_rate'] / 1000:g} kHz")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
