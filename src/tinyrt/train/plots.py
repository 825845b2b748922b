"""PNG plot of a training run: loss curves and learning rate (matplotlib, no display)."""
from __future__ import annotations

from pathlib import Path

from ..audio.plots import pyplot


def plot_curves(history: list, path, title: str = "training") -> Path:
    """Write the training and validation loss (log scale) and learning rate per epoch; return the path."""
    plt = pyplot()
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(12, 4.5), sharex=True, height_ratios=(3, 1))
    epochs = [h["epoch"] for h in history]
    ax.semilogy(epochs, [h["train_loss"] for h in history], label="training loss")
    ax.semilogy(epochs, [h["valid_loss"] for h in history], label="validation loss")
    ax.set_ylabel("loss (ESR + DC)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax_lr.semilogy(epochs, [h["lr"] for h in history], color="tab:gray")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("epoch")
    ax_lr.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
