"""PNG charts for the benchmarks (matplotlib, no display)."""
from __future__ import annotations

from pathlib import Path

from ..audio.plots import pyplot


def plot_capacity(result: dict, path) -> Path:
    """Write the sweep's largest hidden size per host block, one line per model block; return the path."""
    plt = pyplot()
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


def plot_latency_histograms(result: dict, path) -> Path:
    """Write one histogram of callback times per engine (log time axis, the deadline drawn); return the path."""
    import numpy as np

    plt = pyplot()
    ran = {k: v for k, v in result["engines"].items() if "calls_ns" in v}
    budget_us = result["block"] / result["sample_rate"] * 1e6
    fig, axes = plt.subplots(len(ran), 1, figsize=(7, 1.2 + 1.4 * len(ran)), sharex=True, squeeze=False)
    every = np.concatenate([np.asarray(v["calls_ns"][1:], float) / 1000 for v in ran.values()])
    lo, hi = max(every.min() * 0.8, 1e-2), max(every.max(), budget_us) * 1.3
    bins = np.geomspace(lo, hi, 80)
    for ax, (name, s) in zip(axes[:, 0], ran.items()):
        ax.hist(np.asarray(s["calls_ns"][1:], float) / 1000, bins=bins, color="#4477aa")
        ax.axvline(budget_us, color="#cc3311", lw=1.5, label=f"deadline {budget_us:.0f} us")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("calls")
        ax.set_title(f"{name}: median {s['median_ns'] / 1000:.1f} us, p99 {s['p99_ns'] / 1000:.1f} us, "
                     f"max {s['max_ns'] / 1000:.1f} us, {s['deadline_misses']} misses", fontsize=9, loc="left")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("callback time (us, log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


def plot_engine_comparison(results: list, path) -> Path:
    """Write mean and worst-case load per engine for each benchmarked model (log scale); return the path."""
    import numpy as np

    plt = pyplot()
    engines = list(dict.fromkeys(e for r in results for e, s in r["engines"].items() if "load_mean" in s))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(results) * len(engines) / 2), 4))
    width = 0.8 / max(len(engines), 1)
    x = np.arange(len(results))
    for k, name in enumerate(engines):
        mean = [100 * r["engines"].get(name, {}).get("load_mean", np.nan) for r in results]
        worst = [100 * r["engines"].get(name, {}).get("load_worst", np.nan) for r in results]
        pos = x + (k - (len(engines) - 1) / 2) * width
        bars = ax.bar(pos, mean, width * 0.9, label=name)
        ax.scatter(pos, worst, marker="_", s=200, color=bars.patches[0].get_facecolor(), zorder=3)
    ax.axhline(100, color="#cc3311", lw=1.5, label="budget (100 %)")
    ax.set_yscale("log")
    ax.set_xticks(x, [f"{r['model']}\n{r['block']} @ {r['sample_rate'] / 1000:g} kHz" for r in results], fontsize=8)
    ax.set_ylabel("load, % of the callback (bar: mean, tick: worst)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
