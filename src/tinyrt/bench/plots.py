"""PNG charts for the benchmarks (matplotlib, no display)."""
from __future__ import annotations

from pathlib import Path

from ..audio.plots import pyplot, short_label


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
    fig, axes = plt.subplots(len(ran), 1, figsize=(12, 1.4 + 1.6 * len(ran)), sharex=True, squeeze=False)
    every = np.concatenate([np.asarray(v["calls_ns"][1:], float) / 1000 for v in ran.values()])
    lo, hi = max(every.min() * 0.8, 1e-2), max(every.max(), budget_us) * 1.3
    bins = np.geomspace(lo, hi, 80)
    for ax, (name, s) in zip(axes[:, 0], ran.items()):
        ax.hist(np.asarray(s["calls_ns"][1:], float) / 1000, bins=bins, color="#4477aa")
        ax.axvline(budget_us, color="#cc3311", lw=1.5, label=f"deadline {budget_us:.0f} us")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("calls")
        ax.set_title(f"{short_label(name, 28)}: median {s['median_ns'] / 1000:.1f} us, "
                     f"p99 {s['p99_ns'] / 1000:.1f} us, max {s['max_ns'] / 1000:.1f} us, "
                     f"{s['deadline_misses']} misses", fontsize=11, loc="left")
    axes[0, 0].legend(loc="upper right", fontsize=10)
    axes[-1, 0].set_xlabel("callback time (us, log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


def plot_engine_comparison(results: list, path) -> Path:
    """Write mean and worst-case load per engine for each benchmarked model (log scale); return the path.

    One horizontal group of bars per model (bar: mean load, black tick: worst callback), engines in a
    fixed colour each, the 100 % budget drawn in red; the labels stay readable with many models.
    """
    import numpy as np

    plt = pyplot()
    engines = list(dict.fromkeys(e for r in results for e, s in r["engines"].items() if "load_mean" in s))
    colours = ["#0044aa", "#ee7700", "#228833", "#aa3377", "#66ccee", "#777777"]
    height = 0.8 / max(len(engines), 1)
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.35 * max(len(engines), 1) * max(len(results), 1) + 0.6))
    y = np.arange(len(results))[::-1]
    for k, name in enumerate(engines):
        mean = np.array([100 * r["engines"].get(name, {}).get("load_mean", np.nan) for r in results])
        worst = np.array([100 * r["engines"].get(name, {}).get("load_worst", np.nan) for r in results])
        pos = y + ((len(engines) - 1) / 2 - k) * height
        ax.barh(pos, mean, height * 0.9, label=name, color=colours[k % len(colours)])
        ax.scatter(worst, pos, marker="|", s=260, color="black", zorder=3,
                   label="worst callback" if k == 0 else None)
        for p, m in zip(pos, mean):
            if np.isfinite(m):
                ax.text(m * 1.08, p, f"{m:.2g} %", va="center", fontsize=9)
    ax.axvline(100, color="#cc3311", lw=2, label="budget (100 %)")
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{short_label(r['model'], 28)}\n{r['block']} samples @ {r['sample_rate'] / 1000:g} kHz"
                      for r in results], fontsize=10)
    ax.set_xlabel("load, % of the callback budget (log scale; bar: mean, tick: worst)", fontsize=11)
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.tick_params(labelsize=10)
    ax.legend(fontsize=10, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return Path(path)
