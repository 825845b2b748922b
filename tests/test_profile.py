"""tinyrt profile: per-layer time on the C engine, ONNX Runtime and torch, flamegraph files, CPU use,
and the refusals. Timings are only compared where the ratio is large (an LSTM-96 against a dense 96->1
and a gain): a loaded shared machine cannot turn those around."""
from __future__ import annotations

import json

import numpy as np
import pytest

from test_cli import fail, run
from tinyrt.backends.c import generate, harness
from tinyrt.backends.onnx import to_onnx
from tinyrt.bench import models as R
from tinyrt.bench.profile import profile, profile_table, write_folded, write_speedscope
from tinyrt.errors import InputError
from tinyrt.ir import Layer, Model

LABELS = ["0 lstm 1->96", "1 dense 96->1", "2 gain 1->1"]
ENGINES = ("c", "onnxruntime", "torch")


def lstm_model() -> Model:
    rng = np.random.default_rng(4)
    return Model([R.rnn(rng, "lstm", 1, 96), R.dense(rng, 96, 1), Layer("gain", {"features": 1, "gain": 0.5})],
                 input_size=1, sample_rate=48000.0, name="lstm96")


def residual_model() -> Model:
    rng = np.random.default_rng(5)
    body = [R.dense(rng, 8, 8), R.activation(rng, "tanh", 8), Layer("activation", {"function": "identity",
                                                                                  "features": 8})]
    return Model([R.rnn(rng, "gru", 1, 8), Layer("residual", {"features": 8}, layers=body), R.dense(rng, 8, 1)],
                 input_size=1, sample_rate=48000.0, name="res")


@pytest.fixture(scope="module")
def result():
    return profile(lstm_model(), seconds=0.3)


def test_the_lstm_takes_the_largest_share_on_every_engine(result):
    assert [layer["label"] for layer in result["layers"]] == LABELS
    assert list(result["engines"]) == list(ENGINES)
    for name, e in result["engines"].items():
        t = e["layers_ns"]
        assert t["0"] > 3 * t["1"] and t["0"] > 3 * t["2"], (name, t)
        assert e["share"]["0"] == pytest.approx(t["0"] / e["whole_call_ns"])
        assert e["sum_layers_ns"] == pytest.approx(t["0"] + t["1"] + t["2"])
        assert e["overhead_ns"] == pytest.approx(e["whole_call_ns"] - e["sum_layers_ns"])
        assert e["calls"] > 50 and e["cpu"]["wall_s"] > 0 and e["cpu"]["threads"] >= 1
        assert len(e["cpu"]["cores_busy"]) >= 1 and all(0 <= c <= 1 for c in e["cpu"]["cores_busy"])
    table = profile_table(result)
    for text in LABELS + ["sum of layers", "engine overhead", "whole call (uninstrumented)", "CPU time / wall"]:
        assert text in table


def test_c_layers_add_up_to_the_uninstrumented_call(result):
    c = result["engines"]["c"]
    # after the timer's own cost is subtracted (18-40 ns per layer per frame here) the layers of an
    # LSTM-96 add up to within a few percent of the plain build's call; a factor 3 leaves room for load
    assert 1 / 3 < c["sum_over_whole"] < 3
    assert 0 < c["timer"]["inner_ns"] < 10_000 and 0 < c["timer"]["pair_ns"] < 10_000
    assert c["cpu"]["threads"] == 1


def test_the_instrumented_harness_times_every_layer_and_computes_the_same_output():
    model = residual_model()
    exe, paths = harness.profile_harness(model, profile="portable")
    assert paths == ["0", "1", "1.0", "1.1", "1.2", "2"]
    t = harness.layer_times(exe, 640, 64)
    assert t["calls"] == 10 and t["count"] == [640] * 6
    assert [len(ns) for ns in t["call_ns"]] == [10] * 6 and min(min(ns) for ns in t["call_ns"]) >= 0
    plain = harness.time(model, 640, 64, 1, profile="portable")
    assert t["checksum"] == pytest.approx(plain["checksum"], abs=1e-5)
    assert "TRT_PROF_BEGIN(1); /* layer 1: residual, 8 -> 8 */" in generate(model).source


def test_onnx_nodes_carry_their_layer_and_every_layer_is_accounted_for(result):
    names = [node.name for node in to_onnx(residual_model()).graph.node]
    assert names[0].startswith("L0/") and any(n.startswith("L1_0/Gemm") for n in names)
    assert any(n.startswith("L1/Add") for n in names) and names[-1].startswith("L2/Gemm")
    ort = result["engines"]["onnxruntime"]
    # every node is credited to a layer, and every layer has a node of its own
    assert ort["unattributed_ops_ns"] == {} and ort["layers_without_nodes"] == [] and ort["layers_ns"]["0"] > 0
    assert {"LSTM", "Gemm", "Mul"} <= set(ort["ops_ns"])
    nested = profile(residual_model(), engines=("onnxruntime",), seconds=0.1)["engines"]["onnxruntime"]
    assert nested["unattributed_ops_ns"] == {}
    # ONNX Runtime removes the identity, and may fuse the tanh into the Gemm before it
    assert "1.2" in nested["layers_without_nodes"] and set(nested["layers_without_nodes"]) <= {"1.1", "1.2"}
    assert nested["layers_ns"]["1"] >= nested["layers_ns"]["1.0"]  # a residual includes its body


def test_flamegraph_files(result, tmp_path):
    doc = json.loads(write_speedscope(result, tmp_path / "p.speedscope.json").read_text())
    # the required keys of https://www.speedscope.app/file-format-schema.json (File, Frame, SampledProfile)
    assert {"$schema", "profiles", "shared"} <= set(doc) and "frames" in doc["shared"]
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    assert all(isinstance(f["name"], str) for f in frames)
    assert [p["name"] for p in doc["profiles"]] == [f"lstm96 on {e}" for e in ENGINES]
    for p in doc["profiles"]:
        assert {"type", "name", "unit", "startValue", "endValue", "samples", "weights"} <= set(p)
        assert p["type"] == "sampled" and p["unit"] == "nanoseconds"
        assert len(p["samples"]) == len(p["weights"]) and p["endValue"] == sum(p["weights"]) >= p["startValue"]
        assert all(0 <= i < len(frames) for stack in p["samples"] for i in stack)
        assert all(isinstance(w, int) and w >= 0 for w in p["weights"])
    names = {f["name"] for f in frames}
    assert set(LABELS) | set(ENGINES) | {"LSTM", "(engine overhead)"} <= names
    lines = write_folded(result, tmp_path / "p.folded").read_text().splitlines()
    stacks = {}
    for line in lines:
        stack, count = line.rsplit(" ", 1)
        stacks[stack] = int(count)
    assert all(count >= 0 for count in stacks.values())
    assert {s.split(";")[0] for s in stacks} == set(ENGINES)
    assert {f"c;{label}" for label in LABELS} <= set(stacks)
    assert stacks["onnxruntime;0 lstm 1->96;LSTM"] > 0


def test_an_engine_that_cannot_run_is_reported(monkeypatch):
    monkeypatch.setenv("CC", "no-such-cc")
    r = profile(lstm_model(), engines=("c",), seconds=0.1)
    assert "no C compiler found" in r["engines"]["c"]["not_run"]
    assert "c: not run: no C compiler found" in profile_table(r)


def test_refusals(tmp_path):
    model = lstm_model()
    with pytest.raises(InputError, match="the reference engine has no per-layer profiler"):
        profile(model, engines=("reference",))
    with pytest.raises(InputError, match="runs at 48000 Hz, not 44100 Hz"):
        profile(model, sample_rate=44100)
    with pytest.raises(InputError, match="--seconds must be positive"):
        profile(model, seconds=0)
    path = R.effect_model(np.random.default_rng(3), "lstm", 4, block_size=16).save(tmp_path / "m.tinyrt")
    fail("profile", path, "--engines", "tpu", message="unknown engine 'tpu'")
    fail("profile", path, "--block", "0", message="argument --block: must be at least 1, got 0")
    fail("profile", path, "--block", "40", message="not a whole number of")
    fail("profile", tmp_path / "none.tinyrt", message="no such")


def test_cli_writes_the_files_and_prints_the_table(tmp_path):
    path = lstm_model().save(tmp_path / "lstm96.tinyrt")
    out = {k: tmp_path / f"p.{k}" for k in ("json", "speedscope", "folded")}
    options = [a for k, v in out.items() for a in (f"--{k}", v)]
    proc = run("profile", path, "--seconds", "0.2", "--block", "128", *options)
    assert "whole call (uninstrumented)" in proc.stdout and "0 lstm 1->96" in proc.stdout
    assert "USDT" not in proc.stderr  # the torch profiler's status lines are kept off the terminal
    r = json.loads(out["json"].read_text())
    assert r["block"] == 128 and list(r["engines"]) == list(ENGINES)
    assert json.loads(out["speedscope"].read_text())["profiles"]
    assert out["folded"].read_text().startswith("c;0 lstm 1->96 ")
