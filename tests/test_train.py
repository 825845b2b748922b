"""Training: config checking, losses and metrics against known values, a real tiny training run
whose IR runs identically on the C engine, exact resume, and the refusals."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.signal as ss
import torch

from tinyrt import backend
from tinyrt.errors import FormatError, InputError
from tinyrt.train import (
    Config,
    config_from_dict,
    esr,
    evaluate,
    load_config,
    pair_metrics,
    pre_emphasis,
    train,
    verdict,
)
from tinyrt.train.losses import dc_loss, esr_loss, stft_loss

SR = 16000


def _pairs(n, seconds=0.5, seed=0):
    """Return n pairs of band-limited noise bursts and a soft-clipping 'effect' of them."""
    rng = np.random.default_rng(seed)
    sos = ss.butter(2, 2000, fs=SR, output="sos")
    out = []
    for i in range(n):
        env = np.repeat(rng.uniform(0.05, 0.8, int(seconds * 20)), SR // 20)
        clean = (ss.sosfilt(sos, rng.standard_normal(env.size)) * env).astype(np.float32)
        target = (0.6 * np.tanh(3 * clean)).astype(np.float32)
        out.append(SimpleNamespace(name=f"p{i}", group=f"p{i}", clean=clean, target=target))
    return out


def _cfg(**train):
    cfg = Config(name="tiny", sample_rate=SR, seed=3)
    cfg.model.hidden_size = 4
    cfg.train.epochs, cfg.train.batch_size, cfg.train.segment_seconds = 3, 4, 0.25
    cfg.train.tbptt, cfg.train.warmup = 512, 256
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


# --- metrics and losses -------------------------------------------------------------------------

def test_esr_known_values():
    t = np.sin(np.linspace(0, 20, 1000))
    assert esr(t, t) == 0.0
    assert esr(np.zeros_like(t), t) == pytest.approx(1.0)
    assert esr(0.9 * t, t) == pytest.approx(0.01)
    assert esr(0.9 * t, t, coeff=0.85) == pytest.approx(0.01)  # scaling survives any linear filter
    np.testing.assert_allclose(pre_emphasis(t, 0.85), ss.lfilter([1, -0.85], [1], t), atol=1e-12)


def test_verdict_bands():
    assert verdict(0.005).startswith("excellent")
    assert verdict(0.02).startswith("good")
    assert verdict(0.05).startswith("fair")
    assert verdict(0.2).startswith("poor")
    assert verdict(0.5).startswith("failed")


def test_pair_metrics_leave_out_the_warmup():
    t = np.ones(100)
    o = np.ones(100)
    o[:10] = 0  # wrong only during the warm-up
    m = pair_metrics([o], [t], skip=10)
    assert m["esr"] == 0.0 and m["mse"] == 0.0
    assert pair_metrics([o], [t], skip=0)["esr"] == pytest.approx(0.1)


def test_torch_losses_match_numpy():
    rng = np.random.default_rng(1)
    t, o = rng.standard_normal((2, 3, 400))
    tt, oo = torch.from_numpy(t), torch.from_numpy(o)
    flat_esr = np.sum([np.sum((pre_emphasis(a, .85) - pre_emphasis(b, .85)) ** 2) for a, b in zip(t, o)]) / \
        np.sum([np.sum(pre_emphasis(a, .85) ** 2) for a in t])
    assert float(esr_loss(oo, tt, 0.85)) == pytest.approx(flat_esr, rel=1e-6)
    shifted = tt + 0.5
    assert float(dc_loss(shifted, tt)) == pytest.approx(0.25 / float(torch.mean(tt * tt)), rel=1e-6)
    assert float(stft_loss(tt, tt)) == pytest.approx(0.0, abs=1e-9)
    assert float(stft_loss(oo, tt)) > 0.5


# --- configuration --------------------------------------------------------------------------------

def test_config_round_trip_and_relative_paths(tmp_path):
    cfg = _cfg()
    cfg.data.clean, cfg.data.target = "clean.wav", "wet.wav"
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    back = load_config(path)
    assert back.to_dict() | {"base": ""} == cfg.to_dict() | {"base": ""}
    assert back.base == str(tmp_path.resolve())


@pytest.mark.parametrize("text, message", [
    ("[model]\nhiden_size = 8\n", r"unknown key 'hiden_size'; known keys: cell, hidden_size"),
    ("[model]\nhidden_size = '8'\n", r"\[model\]: 'hidden_size' must be a int"),
    ("[model]\ncell = 'rnn'\n", r"cell must be 'lstm' or 'gru', got 'rnn'"),
    ("[data]\nkind = 'fragments'\n", r"needs 'clean' and 'target'"),
    ("[data]\nclean='a'\ntarget='b'\nvalid = 0.6\ntest = 0.5\n", r"add up to less than 1"),
    ("model = 3\n", r"'model' must be a table"),
    ("[model\n", r"not valid TOML"),
])
def test_config_errors_name_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises((InputError, FormatError), match=message):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(FormatError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


# --- training -------------------------------------------------------------------------------------

def test_training_learns_and_the_ir_runs_identically_in_c(tmp_path):
    pairs = _pairs(10)
    result = train(_cfg(epochs=6), tmp_path / "run", data=(pairs[:6], pairs[6:8], pairs[8:]),
                   on_progress=lambda e: None)
    h = result.history
    assert len(h) == 6 and h[-1]["valid_loss"] < 0.5 * h[0]["valid_loss"]
    m = result.metrics
    assert m["test"]["esr"] < 0.2 and m["best_epoch"] >= 1
    for f in ("tiny.tinyrt", "metrics.json", "curves.png", "best.pt", "checkpoint.pt", "renders/output.wav"):
        assert (tmp_path / "run" / f).is_file(), f
    # the saved IR on the C engine reproduces the test metrics computed with torch
    c = evaluate(result.model, pairs[8:], engine="c", warmup=256)
    assert c["esr"] == pytest.approx(m["test"]["esr"], rel=1e-3, abs=1e-6)
    assert result.model.sample_rate == SR and result.model.metadata["trained_by"] == "tinyrt.train"


def test_block16_model_streams_16_samples_per_step(tmp_path):
    pairs = _pairs(6)
    cfg = _cfg(epochs=2)
    cfg.model.block_size, cfg.model.cell = 16, "gru"
    cfg.loss.stft = 0.5  # the multi-resolution STFT term trains too
    result = train(cfg, tmp_path / "b16", data=(pairs[:4], pairs[4:5], pairs[5:]), on_progress=lambda e: None)
    model = result.model
    assert result.history[-1]["valid_loss"] < result.history[0]["valid_loss"]
    assert model.block_size == 16 and model.input_size == 16 and model.output_size == 16
    # the C engine, fed host blocks of 64 through the block adapter, equals the frame-wise run delayed by 15
    clean = pairs[5].clean
    frames = backend(model, "c").process(clean.reshape(-1, 16)).reshape(-1)
    streamed = backend(model, "c")(np.concatenate([clean, np.zeros(15, np.float32)]), SR)
    np.testing.assert_allclose(streamed[15:], frames, atol=1e-6)


def test_resume_continues_exactly(tmp_path):
    pairs = _pairs(8)
    data = (pairs[:5], pairs[5:7], pairs[7:])
    straight = train(_cfg(epochs=4), tmp_path / "a", data=data, on_progress=lambda e: None)
    train(_cfg(epochs=2), tmp_path / "b", data=data, on_progress=lambda e: None)
    resumed = train(_cfg(epochs=4), tmp_path / "b", data=data, resume=True, on_progress=lambda e: None,
                    log=lambda s: None)
    assert [h["valid_loss"] for h in resumed.history] == [h["valid_loss"] for h in straight.history]


def test_resume_refuses_another_configuration(tmp_path):
    pairs = _pairs(6)
    data = (pairs[:4], pairs[4:5], pairs[5:])
    train(_cfg(epochs=1), tmp_path / "r", data=data, on_progress=lambda e: None)
    other = _cfg(epochs=2, learning_rate=1e-2)
    with pytest.raises(InputError, match="different configuration"):
        train(other, tmp_path / "r", data=data, resume=True, on_progress=lambda e: None)


def test_empty_split_is_refused(tmp_path):
    pairs = _pairs(3)
    with pytest.raises(InputError, match="the validation split is empty"):
        train(_cfg(), tmp_path / "e", data=(pairs, [], pairs), on_progress=lambda e: None)


def test_config_from_dict_checks_warmup_against_segments():
    with pytest.raises(InputError, match="segment_seconds must be longer than warmup"):
        config_from_dict({"sample_rate": 16000, "data": {"clean": "a", "target": "b"},
                          "train": {"segment_seconds": 0.05, "warmup": 1000}})
