"""Capture latency with known answers: detection exact on integers, eval at the true alignment's ESR, stored latency.

The pairs are synthetic guitar takes through the built-in pedals and a bright hard clipper, delayed
by known integer and fractional latencies (an ideal fractional-delay filter). Where an engine is
needed, the pedal itself stands in for a trained model: exactly (ESR 0 at the true alignment) or
with a 3 % gain error (an ESR floor of ~1e-3, like a good trained model).
"""
import json
import math

import numpy as np
import pytest

from tinyrt.audio import write_wav
from tinyrt.audio.align import advance, capture_latency
from tinyrt.audio.metrics import pair_metrics
from tinyrt.bench import models as R
from tinyrt.cli import main
from tinyrt.data.effects import TEST_EFFECTS
from tinyrt.data.example import write_example_data
from tinyrt.data.synth import guitar_track
from tinyrt.frontends import from_file
from tinyrt.train.evaluate import evaluate_recording

SR = 48000
WARMUP = 1000


@pytest.fixture(scope="module")
def takes():
    return {"short": guitar_track(12.0, SR, 3), "long": guitar_track(40.0, SR, 4)}


@pytest.fixture(scope="module")
def stand_in():
    """A mono model at SR with no stored latency: only its metadata is read when a pedal stands in for it."""
    model = R.effect_model(np.random.default_rng(0), "lstm", 2)
    model.sample_rate = float(SR)
    return model


def capture(pedal: str, x: np.ndarray, delay: float) -> np.ndarray:
    """The pedal recorded through a rig with `delay` samples of latency (fractional allowed), same length as x."""
    wet = np.concatenate([np.zeros(128), TEST_EFFECTS[pedal](x, SR)])
    return advance(wet, 128 - delay)[:len(x)].astype(np.float32)


def imperfect(pedal: str):
    """The pedal with a 3 % gain error: a stand-in for a good trained model (ESR ~1e-3 at the true alignment)."""
    def engine(fragment):
        return 0.97 * TEST_EFFECTS[pedal](fragment, SR)
    return engine


def true_esr(engine, x, target, delay: float, pairs: int) -> float:
    """The ESR over the same 1 s fragments with the target aligned by the true (possibly fractional) delay."""
    aligned = advance(target, delay)
    starts = [k * SR for k in range(pairs)]
    return pair_metrics([engine(x[s:s + SR]) for s in starts], [aligned[s:s + SR] for s in starts], skip=WARMUP)["esr"]


CASES = ([(pedal, "short", delay) for pedal in TEST_EFFECTS for delay in (1, 31, 31.5, 72.25)]
         + [(pedal, "long", delay) for pedal, delay in zip(TEST_EFFECTS, (72, 72, 31.5, 31.5))])


@pytest.mark.parametrize("pedal,take,delay", CASES)
def test_detection_exact_and_eval_at_the_true_alignment(takes, stand_in, pedal, take, delay):
    x = takes[take]
    target = capture(pedal, x, delay)
    engine = imperfect(pedal)
    m = evaluate_recording(stand_in, x, target, engine=engine, warmup=WARMUP)
    a = m["alignment"]
    detected = a["detected"]["latency"]
    assert m["pairs"] >= int(len(x) / SR) - 3                      # the fragments of the take, none silent
    reference = true_esr(engine, x, target, delay, m["pairs"])
    print(f"\n{pedal} {take} delay {delay}: detected {detected} ({a['detected']['method']}), applied {a['latency']}, "
          f"eval ESR {m['esr']:.5f}, true-alignment ESR {reference:.5f}, by lag {a['esr_by_lag']}")
    if float(delay).is_integer():
        assert detected == delay                                   # exact on integers, never a sample late
    else:
        assert math.floor(delay) <= detected <= math.ceil(delay)   # less than a sample either way
    assert m["esr"] <= 1.10 * reference + 1e-12
    chosen = math.floor(a["latency"])
    assert {f"{lag:g}" for lag in range(max(chosen - 2, 0), chosen + 3)} <= set(a["esr_by_lag"])   # +-2 samples
    assert a["warnings"] == []


def test_the_pedal_itself_is_found_to_the_sample_and_the_half_sample(takes, stand_in):
    x = takes["short"]
    for delay in (31, 31.5):
        target = capture("bright", x, delay)
        m = evaluate_recording(stand_in, x, target, engine=lambda f: TEST_EFFECTS["bright"](f, SR))
        assert m["alignment"]["latency"] == delay and m["esr"] < 1e-7
        assert m["alignment"]["esr_by_lag"][f"{math.floor(delay) + 1:g}"] > 1e-3   # one sample costs a lot


def test_a_given_latency_one_sample_off_is_warned_about(takes, stand_in):
    x = takes["short"]
    target = capture("bright", x, 31)
    m = evaluate_recording(stand_in, x, target, engine=imperfect("bright"), latency=32)
    a = m["alignment"]
    assert a["latency"] == 32 and a["source"] == "given with --latency"
    assert len(a["warnings"]) == 1 and "the ESR at lag 31" in a["warnings"][0] and "much lower" in a["warnings"][0]


def test_training_detection_is_exact_on_integers_through_every_pedal(takes):
    x = takes["short"]
    for pedal in TEST_EFFECTS:
        for delay in (0, 333):
            found = capture_latency(x, capture(pedal, x, delay), SR)
            assert (found.samples, found.method) == (delay, "correlation"), (pedal, delay, found)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    """A tiny model trained for a few seconds on a capture with blips and 31 samples of latency, and new pairs."""
    from tinyrt.train import Config, train
    root = tmp_path_factory.mktemp("rig")
    written = write_example_data(root / "data", SR, seconds=8.0, effects=("distortion",), notes=False, latency=31,
                                 blips=True, seed=1)
    cfg = Config(name="rig", sample_rate=SR)
    cfg.data.clean, cfg.data.target = str(written["tracks"]["clean"]), str(written["tracks"]["distortion"])
    cfg.model.hidden_size = 2
    cfg.train.epochs, cfg.train.segment_seconds, cfg.train.lr_schedule = 2, 0.25, "budget"
    result = train(cfg, root / "run", log=lambda line: None, on_progress=lambda event: None)
    x = guitar_track(12.0, SR, 9)
    paths = {"clean": write_wav(root / "clean.wav", x, SR),
             "short clean": write_wav(root / "short-clean.wav", x[:3 * SR], SR),
             "short target": write_wav(root / "short-target.wav", capture("distortion", x[:3 * SR], 31), SR),
             "target": write_wav(root / "target.wav", capture("distortion", x, 31), SR),
             "trimmed": write_wav(root / "trimmed.wav", capture("distortion", x, 0), SR),
             "unrelated": write_wav(root / "unrelated.wav", capture("distortion", guitar_track(12.0, SR, 10), 31), SR),
             "silent": write_wav(root / "silent.wav", np.zeros_like(x), SR)}
    return result, paths


def test_training_stores_the_capture_latency_and_uses_its_whole_schedule(rig):
    result, _ = rig
    capture_meta = from_file(result.model_path).metadata["capture"]
    assert capture_meta == {"latency": 31, "method": "blips", "confidence": 1.0, "sample_rate": float(SR)}
    assert result.metrics["capture"] == capture_meta
    lrs = [h["lr"] for h in result.history]
    assert len(lrs) == 2 and lrs[1] < lrs[0] < 5e-3                 # the budget schedule decays over the epochs


def test_eval_reuses_the_stored_latency_and_says_so(rig, capsys, tmp_path):
    result, paths = rig
    assert main(["eval", str(result.model_path), "--clean", str(paths["clean"]), "--target", str(paths["target"]),
                 "--json", str(tmp_path / "m.json")]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("latency applied: 31 samples, stored in the model (blips, confidence 1)"), out
    assert "detected on this pair: 31 (correlation)" in lines[0]
    assert lines[1].startswith("ESR by lag (samples): 29: ") and "[31: " in lines[1]
    assert err == ""
    alignment = json.loads((tmp_path / "m.json").read_text())["alignment"]
    assert alignment["latency"] == 31 and set(alignment["esr_by_lag"]) == {"29", "30", "31", "32", "33"}

    assert main(["eval", str(result.model_path), "--clean", str(paths["clean"]),
                 "--target", str(paths["trimmed"])]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("latency applied: "), out          # this barely trained model's lowest ESR decides
    assert "around 0 samples detected on this pair (correlation" in out.splitlines()[0]
    assert "the model's stored 31 is for another rig" in out.splitlines()[0]
    warning = [line for line in err.splitlines() if line.startswith("tinyrt: warning: ")]
    assert len(warning) == 1 and "detected on this pair (0 samples, correlation) differs from the model's stored 31" \
        in warning[0]

    assert main(["eval", str(result.model_path), "--clean", str(paths["clean"]), "--target", str(paths["target"]),
                 "--latency", "auto"]) == 0
    assert capsys.readouterr().out.startswith("latency applied: ")
    assert main(["eval", str(result.model_path), "--clean", str(paths["clean"]), "--target", str(paths["target"]),
                 "--latency", "33"]) == 0
    assert capsys.readouterr().out.startswith("latency applied: 33 samples, given with --latency")


def test_bench_applies_the_stored_latency_to_its_target(rig, capsys):
    result, paths = rig
    assert main(["bench", str(result.model_path), "--engines", "c", "--input", str(paths["short clean"]),
                 "--target", str(paths["short target"])]) in (0, 1)          # 1: a deadline miss on a busy machine
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "latency applied to the target: 31 samples, stored in the model (blips, confidence 1)"


@pytest.mark.parametrize("target,message", [
    ("unrelated", "does not look like a processed version of"),
    ("silent", "is silent (-240.0 dBFS RMS); record the processed signal at a usable level."),
])
def test_bad_pairs_are_refused_in_one_sentence(rig, capsys, target, message):
    result, paths = rig
    assert main(["eval", str(result.model_path), "--clean", str(paths["clean"]), "--target", str(paths[target])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinyrt: error: ") and message in err[0], err


def test_a_bad_latency_choice_is_refused(rig, capsys):
    result, paths = rig
    assert main(["eval", str(result.model_path), "--clean", str(paths["clean"]), "--target", str(paths["target"]),
                 "--latency", "soon"]) == 2
    assert "--latency must be auto, stored or a whole number" in capsys.readouterr().err
