"""Verdicts that hold on a busy machine: the model's cost is told from the machine's interference.

A CPU hog on every core must not change `tinyrt fit`'s verdict or advice (10 runs back to back); a
process stopped from outside while it times callbacks (wall time over the budget, CPU time not) is
interference, which `tinyrt bench` reports apart and does not fail on unless asked to; a model too
big for its budget still fails.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np

from test_cli import run
from tinyrt.bench import models as R
from tinyrt.bench.cpu import late_text, rounded_percent
from tinyrt.bench.stats import classify, latency_stats, mean_ci

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (os.path.join(os.path.dirname(__file__), "..", "src"),
                                                              os.environ.get("PYTHONPATH")) if p)}


def test_statistics_tell_misses_from_interference():
    budget = 64 / 48000 * 1e9
    wall = [1e5, 2e6, 2e6, 1e5]       # two late by the wall clock
    cpu = [1e5, 1.9e6, 1e5, 1e5]      # one of them used more CPU than the budget: the model's miss
    assert classify(wall, cpu, budget) == {"misses": 1, "interference": 1}
    s = latency_stats([1e5, *wall], 64, 48000, cpu_ns=[1e5, *cpu], switches=[0, 0, 0, 3, 0])
    assert (s["deadline_misses"], s["misses"], s["interference"], s["involuntary_switches"]) == (2, 1, 1, 3)
    mean, half = mean_ci(np.r_[np.ones(50), 3 * np.ones(50)])
    assert mean == 2 and half > 0.5  # two regimes in time: the batch means see it
    assert mean_ci(np.ones(100)) == (1.0, 0.0)
    assert rounded_percent(0.0243, 0.0003) == "under 3 %" and rounded_percent(0.004) == "under 1 %"
    assert rounded_percent(0.69, 0.005) == "under 70 %" and rounded_percent(12.0) == "over 1000 %"
    assert late_text(0, 3) == "3 callbacks were late because the machine was busy (interference), none because " \
                              "of the model"


@contextlib.contextmanager
def hog_every_core():
    """A busy loop on every core, killed afterwards."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.2)
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_fit_says_the_same_ten_times_with_a_hog_on_every_core(tmp_path):
    # `tinyrt fit` is fit() then fit_text(); run in this process, as starting Python ten times under the
    # hogs would take most of a minute by itself (the CLI's own output is checked in test_bench)
    from tinyrt.bench.capacity import fit, fit_text
    model = R.effect_model(np.random.default_rng(4), "lstm", 8)
    fit(model, None, 64, 0.7, 1.0)  # builds what the runs measure, so each run is as short as the next
    said, t0 = [], time.monotonic()
    with hog_every_core() as hogs:
        for _ in range(10):
            assert all(p.poll() is None for p in hogs)  # the hogs are still running
            said.append(fit_text(fit(model, None, 64, 0.7, 1.0)).splitlines()[:2])  # verdict, advice
    print(f"10 runs of fit with {len(hogs)} hogs in {time.monotonic() - t0:.1f} s:", *said[0], sep="\n")
    assert all(s == said[0] for s in said), said
    verdict, advice = said[0]
    assert verdict.endswith(": fits") and advice.startswith("uses under 1 % of the budget (limit 70 %)")
    assert "the largest LSTM that fits at this block is" in advice


def _stopper(pid: int, done: threading.Event, stops: list) -> None:
    """Stop the process group for 5 ms every 20 ms: a machine that takes the CPU away (wall, not CPU time)."""
    while not done.is_set():
        time.sleep(0.02)
        try:
            os.killpg(pid, signal.SIGSTOP)
            time.sleep(0.005)
            os.killpg(pid, signal.SIGCONT)
            stops.append(1)
        except ProcessLookupError:
            return


def _bench_stopped(path, *flags) -> tuple:
    proc = subprocess.Popen([sys.executable, "-m", "tinyrt.cli", "bench", str(path), "--engines", "c", "--block", "64",
                             "--seconds", "2", *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, start_new_session=True)
    done, stops = threading.Event(), []
    thread = threading.Thread(target=_stopper, args=(proc.pid, done, stops), daemon=True)
    thread.start()
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        done.set()
        thread.join()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, out, err, len(stops)


def test_interference_is_counted_apart_and_fails_only_when_asked(tmp_path):
    path = R.effect_model(np.random.default_rng(5), "lstm", 32).save(tmp_path / "lstm32.tinyrt")
    code, out, err, stops = _bench_stopped(path)  # (its compiles, stopped too, are cached for the second run)
    assert stops > 20
    assert code == 0, out + err
    assert "late because the machine was busy (interference), none because of the model" in out
    assert re.search(r"\d+ callbacks? (was|were) late because the machine was busy", out)  # stops hit callbacks
    code, out, err, _ = _bench_stopped(path, "--fail-on-interference")
    assert code == 1 and "--fail-on-interference counts the machine's too" in err, out + err


def test_a_model_too_big_for_its_budget_still_fails(tmp_path):
    # an LSTM-32 needs several microseconds of CPU for 16 samples; at 8 MHz they must come in 2 us
    model = R.effect_model(np.random.default_rng(6), "lstm", 32)
    model.sample_rate = 8e6
    path = model.save(tmp_path / "lstm32.tinyrt")
    proc = run("bench", path, "--engines", "c", "--block", "16", "--seconds", "0.02", ok=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "because the model needed more CPU time than the budget (misses)" in proc.stdout
    assert "deadline misses caused by the model" in proc.stderr
