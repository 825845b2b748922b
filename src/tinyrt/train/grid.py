"""Training grids: every combination of cell x hidden size x model block x pedal, or a TOML list of
configurations, trained on an executor (tinyrt.train.executors), summarised in one table and one plot.

A grid starts from one base configuration (a training TOML) and varies its [model] cell, hidden size
and block size and its [data] target (the pedal's processed track). A list file instead holds
``[[config]]`` tables, each a whole configuration like a training TOML; relative paths resolve
against the list's folder. Each trial trains into OUT/<name> and returns its test metrics; the table
and plot are made from the results in the grid's order, so they are the same whichever executor ran
the trials (training is deterministic for a given seed, thread count and epoch budget).
"""
from __future__ import annotations

import time
import tomllib
from pathlib import Path

from ..errors import FormatError, InputError
from ..files import write_json
from .config import Config, config_from_dict, load_config


def grid_configs(base: Config, cells=(), hidden=(), model_blocks=(), targets=()) -> list:
    """Return one Config per combination (an empty axis keeps the base's value), named after what varies."""
    cells = list(cells) or [base.model.cell]
    hidden = list(hidden) or [base.model.hidden_size]
    model_blocks = list(model_blocks) or [base.model.block_size]
    targets = list(targets) or [base.data.target]
    out = []
    for target in targets:
        for cell in cells:
            for h in hidden:
                for b in model_blocks:
                    d = base.to_dict()
                    pedal = Path(target).stem if len(targets) > 1 else base.name
                    d["name"] = f"{pedal}_{cell}{h}" + (f"_b{b}" if b != 1 else "")
                    d["model"].update(cell=cell, hidden_size=h, block_size=b)
                    d["data"]["target"] = str(target)
                    out.append(config_from_dict({k: v for k, v in d.items() if k != "base"}, base=base.base,
                                                where=f"grid trial {d['name']}"))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise InputError("two grid trials have the same name; give targets with different file names.")
    return out


def load_config_list(path) -> list:
    """Return the Configs of a TOML list of configurations ([[config]] tables)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot read the list of configurations ({exc}).") from None
    tables = doc.get("config")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise FormatError(f"{path}: a list of configurations holds [[config]] tables, each a training configuration.")
    return [config_from_dict(t, base=path.resolve().parent, where=f"{path} [[config]] {i + 1}")
            for i, t in enumerate(tables)]


def configs_from(path, **axes) -> list:
    """Return the trials of a grid file: a list of [[config]] tables, or a base configuration crossed with axes."""
    try:
        is_list = "config" in tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        is_list = False  # load_config says what is wrong
    if is_list:
        if any(axes.values()):
            raise InputError(f"{path} is a list of configurations; --cells, --hidden, --model-blocks and --targets "
                             f"apply to a single base configuration.")
        return load_config_list(path)
    return grid_configs(load_config(path), **axes)


def _trial(task: dict) -> dict:
    """Train one configuration (a grid's unit of work) and return its summary row."""
    from .trainer import train
    cfg = config_from_dict({k: v for k, v in task["config"].items() if k != "base"}, base=task["config"]["base"])
    t0 = time.monotonic()
    result = train(cfg, task["out"], log=lambda line: None, on_progress=lambda event: None)
    test = result.metrics["test"]
    return {"name": cfg.name, "cell": cfg.model.cell, "hidden": cfg.model.hidden_size,
            "model_block": cfg.model.block_size, "target": Path(cfg.data.target).name,
            "esr": test["esr"], "mse": test["mse"], "verdict": test["verdict"],
            "epochs": result.metrics.get("epochs"), "model_path": str(result.model_path),
            "seconds": time.monotonic() - t0}


def run_grid(configs: list, out, executor, log=None) -> dict:
    """Train every configuration on the executor into out/<name>; return the rows, failures and wall time."""
    out = Path(out).resolve()
    tasks = [{"config": c.to_dict(), "out": str(out / c.name)} for c in configs]
    t0 = time.monotonic()
    rows = executor.map(_trial, tasks, [c.name for c in configs], log=log)
    wall = time.monotonic() - t0
    failed = [{"name": c.name, "error": r["error"]} for c, r in zip(configs, rows) if "error" in r]
    result = {"executor": executor.name, "wall_seconds": wall, "trials": len(configs),
              "rows": [r for r in rows if "error" not in r], "failed": failed}
    return result


def grid_table(result: dict) -> str:
    """Return the summary table of a grid (the same text whichever executor ran it)."""
    lines = [f"{'trial':<24} {'cell':<5} {'hidden':>6} {'block':>5} {'target':<18} {'epochs':>6} {'test ESR':>9} "
             f"{'MSE':>10}  verdict"]
    for r in result["rows"]:
        lines.append(f"{r['name'][:24]:<24} {r['cell']:<5} {r['hidden']:>6} {r['model_block']:>5} "
                     f"{r['target'][:18]:<18} {r['epochs'] or '':>6} {r['esr']:>9.4f} {r['mse']:>10.3e}  "
                     f"{r['verdict']}")
    lines += [f"{f['name']:<24} FAILED twice: {f['error']}" for f in result["failed"]]
    return "\n".join(lines)


def plot_grid(result: dict, path) -> Path:
    """Write a PNG of test ESR against hidden size, one line per target, cell and model block."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series: dict = {}
    for r in result["rows"]:
        series.setdefault((r["target"], r["cell"], r["model_block"]), []).append((r["hidden"], r["esr"]))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for (target, cell, block), points in sorted(series.items()):
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                label=f"{target} {cell.upper()}" + (f" block {block}" if block != 1 else ""))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden size")
    ax.set_ylabel("test ESR (lower is better)")
    ax.set_title("training grid: test ESR by hidden size")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def write_grid(result: dict, out) -> tuple:
    """Write grid.json (rows, failures, executor and wall time) and grid.png into out; return both paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return write_json(out / "grid.json", result), plot_grid(result, out / "grid.png")
