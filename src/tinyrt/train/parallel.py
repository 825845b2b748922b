"""Train several configurations at once, one process per core, with one combined progress log."""
from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .progress import describe


def _job(cfg_dict: dict, out: str, events) -> dict:
    """Train one configuration in a worker process; progress events go to the events queue."""
    from .config import config_from_dict
    from .trainer import train
    cfg = config_from_dict({k: v for k, v in cfg_dict.items() if k != "base"}, base=cfg_dict["base"])
    result = train(cfg, out, on_progress=events.put, log=lambda s: None)
    return {"name": cfg.name, "model_path": str(result.model_path), "metrics": result.metrics}


def train_many(configs: list, out, workers: int = 2, log=None, every: float = 15.0) -> list:
    """Train every Config into out/<name>, `workers` at a time; return each run's name, model path, metrics.

    Each worker uses ``[train] threads`` threads; progress is logged per run every ``every`` seconds
    and when a run ends.
    """
    out = Path(out)
    log = log or (lambda line: print(line, flush=True))
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        events = manager.Queue()
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_job, c.to_dict(), str(out / c.name), events) for c in configs]
            last: dict = {}
            while True:
                try:
                    event = events.get(timeout=0.5)
                except queue_module.Empty:
                    if all(f.done() for f in futures):
                        break
                    continue
                name = event["name"]
                if event.get("done") or time.monotonic() - last.get(name, 0.0) > every:
                    last[name] = time.monotonic()
                    log("  " + describe(event))
            return [f.result() for f in futures]
