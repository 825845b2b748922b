"""tinyrt bench: statistics with known answers, a slow model missing its deadlines, memory sampling,
and the refusals."""
from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from test_cli import fail, run
from tinyrt.bench import MemorySampler, bench, latency_stats, table
from tinyrt.bench import models as R
from tinyrt.errors import InputError
from tinyrt.ir import Model


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
    # the weights live in the object's read-only data; nothing is writable or zero-initialised
    obj = r["static"]["c_object"]
    assert obj["rodata"] >= 0.9 * model.weight_bytes and obj["text"] > 0 and obj["data"] == obj["bss"] == 0
    assert "median" in proc.stdout


def test_bench_refusals(tmp_path):
    model = R.effect_model(np.random.default_rng(3), "lstm", 4, block_size=16)
    model.sample_rate = 48000.0
    path = model.save(tmp_path / "m.tinyrt")
    fail("bench", path, "--engines", "tpu", message="unknown engine 'tpu'")
    fail("bench", path, "--block", "0", message="argument --block: must be at least 1, got 0")
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
    ok = run("fit", path, "--block", "64")  # decided on CPU time: a busy machine does not change it
    assert ": fits\nuses under " in ok.stdout and "the largest LSTM that fits at this block is" in ok.stdout
    # an impossible limit: it does not fit, exit 1, and the advice says so
    proc = run("fit", path, "--block", "64", "--limit", "0.00001", ok=False)
    assert proc.returncode == 1 and "does not fit" in proc.stdout and "no LSTM fits at this block" in proc.stdout


def test_sweep_and_fit_refusals(tmp_path):
    fail("sweep", "--blocks", "16,x", message="--blocks must be whole numbers")
    fail("sweep", "--blocks", "8", "--model-blocks", "16", message="not a whole number of")
    fail("sweep", "--limit", "2", message="the load limit must be in (0, 1]")
    fail("sweep", "--max-hidden", "1", message="--max-hidden must be at least 2")
    fail("fit", tmp_path / "none.tinyrt", message="no such")


def test_accuracy_against_a_target_with_a_known_error(tmp_path):
    from tinyrt.audio import write_wav
    model = R.effect_model(np.random.default_rng(5), "gru", 8, block_size=16)
    model.sample_rate = 48000.0
    x = (0.5 * np.random.default_rng(6).standard_normal(48000 // 4)).astype(np.float32)
    y = model.reference().process(x[:len(x) // 16 * 16].reshape(-1, 16)).reshape(-1)
    # a target 10 % louder than the model's output: ESR = (0.1 / 1.1)^2 for every engine
    r = bench(model, ("c", "torchscript"), 48000, 64, 1.0, audio=x, target=1.1 * y)
    for name in ("c", "torchscript"):
        a = r["engines"][name]["accuracy"]
        assert a["vs_reference"]["max_abs"] < 1e-5
        assert a["vs_target"]["esr"] == pytest.approx((0.1 / 1.1) ** 2, rel=1e-4)
        assert a["vs_target"]["max_abs"] == pytest.approx(0.1 * np.abs(y).max(), rel=1e-3)
    assert r["input"] == "given audio" and r["seconds"] == pytest.approx(len(x) // 64 * 64 / 48000)
    # the same through the CLI, with the HTML report
    path = model.save(tmp_path / "m.tinyrt")
    write_wav(tmp_path / "x.wav", x, 48000)
    write_wav(tmp_path / "y.wav", 1.1 * y, 48000)
    write_wav(tmp_path / "x44.wav", x, 44100)
    proc = run("bench", path, "--engines", "c,onnxruntime", "--input", tmp_path / "x.wav", "--target",
               tmp_path / "y.wav", "--html", tmp_path / "r.html", "--block", "2048", "--json", tmp_path / "r.json")
    assert "ESR vs target" in proc.stdout and "timed in C" in proc.stdout
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "deadline" in page.lower()
    esr = json.loads((tmp_path / "r.json").read_text())["engines"]["onnxruntime"]["accuracy"]["vs_target"]["esr"]
    assert esr == pytest.approx((0.1 / 1.1) ** 2, rel=1e-4)
    fail("bench", path, "--input", tmp_path / "x44.wav", message="is at 44100 Hz but the model runs at 48000 Hz")
    fail("bench", path, "--target", tmp_path / "y.wav", message="a target needs the input audio")
    with pytest.raises(InputError, match="NaN"):
        bench(model, ("c",), 48000, 64, audio=np.full(4096, np.nan, np.float32))


def test_classifier_accuracy_and_f1_with_known_answers(tmp_path):
    from tinyrt.bench.accuracy import macro_f1
    # class 0: 1 right, 1 wrong prediction -> F1 2/3; class 1: 2 right, 1 missed -> F1 4/5
    assert macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])) == pytest.approx((2 / 3 + 4 / 5) / 2)
    rng = np.random.default_rng(8)
    model = Model([R.dense(rng, 6, 16), R.activation(rng, "relu", 16), R.dense(rng, 16, 4),
                   R.activation(rng, "softmax", 4)], input_size=6, name="classifier")
    x = rng.standard_normal((2000, model.input_size)).astype(np.float32)
    truth = np.argmax(model.reference().process(x), axis=1)
    labels = truth.copy()
    labels[:200] = (labels[:200] + 1) % model.output_size  # 10 % of the labels disagree with the model
    r = bench(model, ("c", "onnxruntime"), 48000, 10, features=x, labels=labels)
    for name in ("c", "onnxruntime"):
        c = r["engines"][name]["accuracy"]["classes"]
        assert c["accuracy"] == pytest.approx(0.9) and c["agreement_with_reference"] == 1.0
        assert c["f1_macro"] == pytest.approx(macro_f1(truth, labels))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", labels[:100])
    path = model.save(tmp_path / "m.tinyrt")
    fail("bench", path, "--features", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--block", "10",
         message="give one label per frame: 2000 frames")
    (tmp_path / "bad.npy").write_text("not numpy")
    fail("bench", path, "--features", tmp_path / "bad.npy", message="cannot read the features file")


def test_warmup_calls_run_untimed_and_leave_no_state():
    model = R.effect_model(np.random.default_rng(9), "lstm", 8)
    cold = bench(model, ("torchscript",), 48000, 64, 0.2)
    warm = bench(model, ("torchscript",), 48000, 64, 0.2, warmup=20)
    assert warm["warmup_calls"] == 20
    assert warm["engines"]["torchscript"]["calls"] == cold["engines"]["torchscript"]["calls"]
    # the state is reset after the warm-up: the same output, to the last bit, as without it
    assert (warm["engines"]["torchscript"]["accuracy"] == cold["engines"]["torchscript"]["accuracy"])
    assert "after 20 untimed calls" in table(warm)
    with pytest.raises(InputError, match="--warmup must be 0 or more calls, got -1"):
        bench(model, ("c",), 48000, 64, 0.2, warmup=-1)


def test_bad_inputs_for_accuracy_get_one_sentence(tmp_path):
    model = R.effect_model(np.random.default_rng(10), "gru", 4)
    model.sample_rate = 48000.0
    x = np.zeros(4096, np.float32)
    cases = [
        (dict(audio=np.zeros((4096, 2), np.float32)), "the input audio has 2 channel(s) but"),
        (dict(audio=np.zeros(0, np.float32)), "shorter than one 1-sample model block"),
        (dict(audio=x[:100]), "fewer than two 64-sample callbacks"),
        (dict(audio=x, features=x[:, None]), "give input audio or input features, not both"),
        (dict(features=np.zeros((100, 3), np.float32)), "the features must be a (frames, 1) array"),
        (dict(features=np.full((100, 1), np.inf, np.float32)), "the features contain NaN or infinite"),
        (dict(audio=x, target=np.zeros((4096, 2), np.float32)), "the target audio must have 1 channel(s)"),
        (dict(audio=x, target=x[:1000]), "is much shorter than the input"),
        (dict(audio=x, labels=np.full(4096, 7)), "labels must be class indices 0..0"),
        (dict(mode="turbo"), "unknown mode 'turbo'"),
        (dict(seconds=0), "--seconds must be positive"),
    ]
    for kwargs, message in cases:
        args = {"seconds": 0.1, **kwargs}
        with pytest.raises(InputError, match=re.escape(message)):
            bench(model, ("c",), 48000, 64, **args)
    from tinyrt.bench.report import write_bench_report
    assert write_bench_report([], tmp_path / "no" / "such" / "r.html").is_file()  # missing folders are created
    with pytest.raises(InputError, match="is a folder; give a file name"):
        write_bench_report([], tmp_path / "no")
