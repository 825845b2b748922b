"""tinyrt bench: statistics with known answers, a slow model missing its deadlines, memory sampling,
and the refusals."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from tinyrt.bench import MemorySampler, bench, latency_stats, table
from tinyrt.errors import InputError
from tinyrt.ir import random as R

from test_cli import fail, run


def test_statistics_with_known_answers():
    # first call cold (5 ms), then 99 calls: 98 of 100 us and one of 2 ms; budget 64 / 48 kHz = 1.333 ms
    calls = [5e6] + [1e5] * 98 + [2e6]
    s = latency_stats(calls, 64, 48000)
    assert s["calls"] == 100 and s["first_call_ns"] == 5e6
    assert s["median_ns"] == 1e5 and s["max_ns"] == 2e6
    assert s["mean_ns"] == pytest.approx((98 * 1e5 + 2e6) / 99)
    assert s["budget_ns"] == pytest.approx(64 / 48000 * 1e9)
    assert s["deadline_misses"] == 1 and s["miss_rate"] == pytest.approx(1 / 99)
    assert s["load_worst"] == pytest.approx(2e6 / (64 / 48000 * 1e9))
    assert s["p99_ns"] == pytest.approx(np.percentile([1e5] * 98 + [2e6], 99))
    assert s["jitter_ns"] == pytest.approx(s["p99_ns"] - 1e5)
    assert s["ns_per_sample"] == pytest.approx(s["mean_ns"] / 64)
    # paced: a call that finishes late because it was released late counts as a miss
    late = [0] + [1e5] * 98 + [1.5e6]
    assert latency_stats([1e5] * 100, 64, 48000, late)["deadline_misses"] == 1
    with pytest.raises(InputError, match="at least two callbacks"):
        latency_stats([1.0], 64, 48000)


def test_a_slow_model_misses_its_deadlines():
    # a two-layer LSTM-512 on the float64 NumPy reference takes far longer than 16 samples at 48 kHz
    model = R.effect_model(np.random.default_rng(1), "lstm", 512, num_layers=2)
    result = bench(model, ("reference",), 48000, 16, 0.01)
    s = result["engines"]["reference"]
    assert s["deadline_misses"] == s["calls"] - 1 and s["load_mean"] > 1
    # a 43 ms budget: only a stall of tens of milliseconds on a shared CI machine could miss it
    fast = bench(R.effect_model(np.random.default_rng(1), "lstm", 8), ("c",), 48000, 2048, 1.0)
    assert fast["engines"]["c"]["deadline_misses"] == 0
    assert "c " in table(fast)


def test_memory_sampler_sees_an_allocation():
    with MemorySampler(interval=0.001) as mem:
        big = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
        time.sleep(0.05)
        del big
    r = mem.result()
    assert r["rss_peak"] - r["rss_before"] > 150 * 2**20


def test_paced_mode_and_cli(tmp_path):
    model = R.effect_model(np.random.default_rng(2), "gru", 8)
    model.sample_rate = 48000.0
    path = model.save(tmp_path / "m.tinyrt")
    proc = run("bench", path, "--engines", "c,onnxruntime", "--block", "128", "--seconds", "0.5", "--mode", "paced",
               "--json", tmp_path / "b.json", ok=False)
    assert proc.returncode in (0, 1)  # 1 only if this shared machine woke a callback too late
    r = json.loads((tmp_path / "b.json").read_text())
    assert r["mode"] == "paced" and r["engines"]["c"]["calls"] == 187
    assert r["static"]["weight_bytes"] == model.weight_bytes
    assert "median" in proc.stdout


def test_bench_refusals(tmp_path):
    model = R.effect_model(np.random.default_rng(3), "lstm", 4, block_size=16)
    model.sample_rate = 48000.0
    path = model.save(tmp_path / "m.tinyrt")
    fail("bench", path, "--engines", "tpu", message="unknown engine 'tpu'")
    fail("bench", path, "--block", "0", message="at least 1 sample")
    fail("bench", path, "--block", "40", message="not a whole number of")
    fail("bench", path, "--sr", "44100", message="runs at 48000 Hz, not 44100 Hz")
    fail("bench", tmp_path / "none.tinyrt", message="no such")


def test_bisection_finds_the_boundary():
    from tinyrt.bench.capacity import HIDDEN_SIZES, largest_fitting, sweep, sweep_table
    assert largest_fitting(lambda h: h <= 48, HIDDEN_SIZES) == 48
    assert largest_fitting(lambda h: False, HIDDEN_SIZES) == 0
    assert largest_fitting(lambda h: True, HIDDEN_SIZES[:5]) == HIDDEN_SIZES[4]
    # a known cost model: load = hidden^2 * 1e-5 * 64 / host block per model block: answers are exact
    seen = []

    def measure(cell, hidden, mb, hb):
        seen.append((hidden, mb, hb))
        return hidden * hidden * 1e-5 * 64 / hb / mb
    r = sweep("gru", 48000, (16, 64, 256), (1, 16), 0.7, 512, measure=measure)
    assert r["largest_hidden"]["1"] == {"16": 128, "64": 256, "256": 512}
    assert r["largest_hidden"]["16"]["16"] == 512
    assert len(seen) == len(set(seen))  # each setting measured once
    assert ">512" in sweep_table(r)


def test_sweep_and_fit_on_the_c_engine(tmp_path):
    # host blocks of 43 and 85 ms: a GRU-8 needs well under 1 % of them, so the answer does not hang on
    # whether the shared machine preempted a callback (the noisy small-block capacities are make bench's)
    proc = run("sweep", "--cell", "gru", "--blocks", "2048,4096", "--model-blocks", "1,16", "--max-hidden", "8",
               "--json", tmp_path / "s.json", "--plot", tmp_path / "s.png")
    r = json.loads((tmp_path / "s.json").read_text())
    assert r["largest_hidden"] == {"1": {"2048": 8, "4096": 8}, "16": {"2048": 8, "4096": 8}}
    assert all(0 < x["load_worst"] < 0.7 for x in r["loads"]) and (tmp_path / "s.png").stat().st_size > 1000
    assert "largest GRU hidden size" in proc.stdout
    model = R.effect_model(np.random.default_rng(4), "lstm", 8)
    path = model.save(tmp_path / "m.tinyrt")
    ok = run("fit", path, "--block", "4096")
    assert "fits, margin" in ok.stdout
    # an impossible limit: it does not fit, exit 1, and the verdict says what would
    proc = run("fit", path, "--block", "64", "--limit", "0.00001", ok=False)
    assert proc.returncode == 1 and "does not fit" in proc.stdout and "what would:" in proc.stdout


def test_sweep_and_fit_refusals(tmp_path):
    fail("sweep", "--blocks", "16,x", message="--blocks must be whole numbers")
    fail("sweep", "--blocks", "8", "--model-blocks", "16", message="not a whole number of")
    fail("sweep", "--limit", "2", message="the load limit must be in (0, 1]")
    fail("sweep", "--max-hidden", "1", message="--max-hidden must be at least 2")
    fail("fit", tmp_path / "none.tinyrt", message="no such")
