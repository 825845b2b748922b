"""Where a grid of independent trials runs: local processes (default) or a Ray cluster.

``executor("process", workers=N)`` runs trials in N spawned local processes; ``executor("ray",
address="HOST:PORT")`` runs each trial as a Ray task on a cluster (``ray start --head`` on one
machine, ``ray start --address HOST:PORT`` on the others), or on a local Ray instance without an
address. Both stream results back as trials finish, drawing one progress line per trial; a trial
that raises is reported and retried once, and one that fails twice comes back as ``{"error": ...}``.
Results come back in the order of the trials, so what is made from them is the same whichever
executor ran them. The trial function must be a module-level function of tinyrt (Ray workers
import it by name; this package is shipped to them with the task).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from ..errors import DependencyError, InputError
from .progress import bar, clock

EXECUTORS = ("process", "ray")


def executor(name: str = "process", address: str | None = None, workers: int | None = None):
    """Return the executor called name ("process" or "ray"); ``address`` (HOST:PORT) is a Ray cluster's."""
    if name == "process":
        if address:
            raise InputError("--address names a Ray cluster; use it with --executor ray.")
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(address, workers)
    raise InputError(f"unknown executor '{name}'; choose process or ray.")


class _Progress:
    """One line per finished trial: a bar, how many are done, retried and failed, and the elapsed time."""

    def __init__(self, total: int, log, what: str):
        self.total, self.log, self.done, self.retried, self.failed = total, log, 0, 0, 0
        self.start = time.monotonic()
        if log:
            log(f"running {total} trial(s) on {what}")

    def finished(self, label: str, error: str | None = None) -> None:
        self.done += 1
        self.failed += error is not None
        if self.log:
            how = f"FAILED twice: {error}" if error else "done"
            self.log(f"  [{bar(self.done / self.total, 20)}] {self.done}/{self.total} {label}: {how} "
                     f"({clock(time.monotonic() - self.start)} elapsed"
                     f"{f', {self.retried} retried' if self.retried else ''})")

    def retry(self, label: str, error: str) -> None:
        self.retried += 1
        if self.log:
            self.log(f"  {label} failed ({error}); retrying it once")


def _message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"[:300]


class ProcessExecutor:
    """Trials in spawned local processes, ``workers`` at a time (default: one per core)."""

    name = "process"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, fn, items: list, labels=None, log=None) -> list:
        """Return fn(item) for every item, in order; a failed item is retried once, then {"error": ...}."""
        labels = list(labels or [str(i) for i in range(len(items))])
        results: list = [None] * len(items)
        progress = _Progress(len(items), log, f"{min(self.workers, len(items))} local process(es)")
        if not items:
            return results
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=mp.get_context("spawn")) as pool:
            pending = {pool.submit(fn, item): (i, 0) for i, item in enumerate(items)}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    i, attempt = pending.pop(future)
                    try:
                        results[i] = future.result()
                    except Exception as exc:  # the trial's own failure: report, retry once
                        if attempt == 0:
                            progress.retry(labels[i], _message(exc))
                            pending[pool.submit(fn, items[i])] = (i, 1)
                            continue
                        results[i] = {"error": _message(exc)}
                        progress.finished(labels[i], results[i]["error"])
                        continue
                    progress.finished(labels[i])
        return results

    def close(self) -> None:
        """Nothing to release (each map owns its pool)."""


class RayExecutor:
    """Trials as Ray tasks (one CPU each) on the cluster at ``address``, or on a local Ray instance."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError as exc:
            raise DependencyError("--executor ray needs Ray; install it with `pip install ray`.") from exc
        self.ray, self.address = ray, address
        package = Path(__file__).resolve().parents[1]  # this tinyrt, so every node runs the driver's code
        env = {k: os.environ[k] for k in ("TINYRT_CACHE",) if k in os.environ}
        options = {"runtime_env": {"py_modules": [str(package)], "env_vars": env}, "log_to_driver": False,
                   "logging_level": "ERROR", "configure_logging": True}
        if address:
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(f"cannot reach a Ray cluster at {address} ({_message(exc)}); start one with "
                                 f"`ray start --head --port PORT` there, or check the address.") from exc
        else:
            # "local": a new instance here, never a cluster an earlier `ray start` left its address of
            ray.init(address="local", num_cpus=workers, include_dashboard=False, **options)
        self._remote = {}

    def map(self, fn, items: list, labels=None, log=None) -> list:
        """Return fn(item) for every item, in order; a failed item is retried once, then {"error": ...}."""
        ray = self.ray
        labels = list(labels or [str(i) for i in range(len(items))])
        results: list = [None] * len(items)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        progress = _Progress(len(items), log, f"the Ray cluster {self.address or '(local)'} ({cpus} CPUs)")
        task = self._remote.setdefault(fn, ray.remote(num_cpus=1, max_retries=0)(fn))
        pending = {task.remote(item): (i, 0) for i, item in enumerate(items)}
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                i, attempt = pending.pop(ref)
                try:
                    results[i] = ray.get(ref)
                except Exception as exc:  # RayTaskError (the trial raised) or a lost worker
                    cause = getattr(exc, "cause", None) or exc
                    if attempt == 0:
                        progress.retry(labels[i], _message(cause))
                        pending[task.remote(items[i])] = (i, 1)
                        continue
                    results[i] = {"error": _message(cause)}
                    progress.finished(labels[i], results[i]["error"])
                    continue
                progress.finished(labels[i])
        return results

    def close(self) -> None:
        """Disconnect from the cluster (a local instance started here stops)."""
        self.ray.shutdown()
