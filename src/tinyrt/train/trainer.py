"""Train an effect model from paired audio: truncated BPTT, Adam, plateau LR schedule, early stop.

``train(config)`` loads and splits the data, trains with checkpoints (resumable), keeps the
best model on the validation set, measures it on the test set, and writes into the output
folder: ``<name>.tinyrt`` (the IR every engine runs), ``metrics.json``, ``curves.png``,
``renders/`` (clean, target and model output WAVs of the test set), ``best.pt`` and
``checkpoint.pt``.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.metrics import pair_metrics
from ..errors import DependencyError, InputError
from ..files import write_text
from .config import Config
from .progress import ProgressBar


@dataclass
class TrainResult:
    """What a training run produced: the IR model, its file, metrics and the loss history."""

    name: str
    out: Path
    model: object
    model_path: Path
    metrics: dict
    history: list = field(default_factory=list)


def _torch():
    try:
        import torch
    except ImportError:
        raise DependencyError("training needs PyTorch; run `make install` (pip install torch==2.13.0).") from None
    return torch


def _budget_minutes(minutes: float) -> float:
    """Return the training time budget: the config's, capped by TINYRT_TRAIN_MINUTES_CAP when that is set.

    The cap is for tests and quick looks (the README test sets it so the README's trainings take seconds);
    it never lengthens a run. A value that is not a positive number is refused in one sentence.
    """
    import os
    raw = os.environ.get("TINYRT_TRAIN_MINUTES_CAP", "").strip()
    if not raw:
        return minutes
    try:
        cap = float(raw)
    except ValueError:
        cap = -1.0
    if not (math.isfinite(cap) and cap > 0):
        raise InputError(f"TINYRT_TRAIN_MINUTES_CAP={raw!r} must be a positive number of minutes; unset it for "
                         "the configured budget.")
    return min(minutes, cap) if minutes else cap


def load_data(cfg: Config):
    """Return (dataset, train, valid, test) for the config's [data] table, resampled to its rate."""
    from ..data.pairs import load_pairs
    d = cfg.data
    spec = {"kind": d.kind, "fragment_seconds": d.fragment_seconds, "silence_db": d.silence_db}
    spec.update({"clean": d.clean, "target": d.target} if d.kind == "fragments" else
                {"root": d.root, "effect": d.effect})
    dataset = load_pairs(spec, cfg.sample_rate, base=cfg.base)
    train, valid, test = dataset.split(valid=d.valid, test=d.test, seed=cfg.seed)
    return dataset, train, valid, test


def _segments(pairs, length: int, block: int):
    """Return (clean, target) arrays (n, length) cut from the pairs; the remainder of each is dropped."""
    xs, ys = [], []
    for p in pairs:
        n = len(p.clean) // length
        if n:
            xs.append(np.asarray(p.clean[:n * length], np.float32).reshape(n, length))
            ys.append(np.asarray(p.target[:n * length], np.float32).reshape(n, length))
        elif len(p.clean) >= block * 2:
            m = len(p.clean) // block * block
            xs.append(np.pad(np.asarray(p.clean[:m], np.float32), (0, length - m))[None])
            ys.append(np.pad(np.asarray(p.target[:m], np.float32), (0, length - m))[None])
    if not xs:
        raise InputError("the training split has no audio; give more or longer pairs.")
    return np.concatenate(xs), np.concatenate(ys)


def _config_hash(cfg: Config) -> str:
    d = cfg.to_dict()
    del d["base"], d["train"]["epochs"], d["train"]["max_minutes"]  # may change between resumed runs
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def predict(net, pairs, torch) -> list:
    """Return the torch model's output for each pair's clean audio, each run from a zero state."""
    outs = []
    b = net.block_size
    with torch.no_grad():
        for p in pairs:
            n = len(p.clean) // b * b
            x = torch.from_numpy(np.asarray(p.clean[:n], np.float32))[None]
            y, _ = net.stream(x)
            outs.append(np.concatenate([y[0].numpy(), np.asarray(p.clean[n:], np.float32)]))
    return outs


class Trainer:
    """One training run; ``run()`` returns a TrainResult. Build with a Config and an output folder."""

    def __init__(self, cfg: Config, out, data=None, on_progress=None, log=print):
        self.torch = _torch()
        self.cfg, self.out = cfg, Path(out)
        self.on_progress = on_progress if on_progress is not None else ProgressBar()
        self.log = log
        if data is None:
            dataset, *splits = load_data(cfg)
            self.data_summary = dataset.summary()
        else:
            splits, self.data_summary = list(data), "pairs given by the caller"
        self.train_pairs, self.valid_pairs, self.test_pairs = splits
        for split, pairs in zip(("training", "validation", "test"), splits):
            if not pairs:
                raise InputError(f"the {split} split is empty; give more source files or change the split fractions.")

    def _build(self):
        from .losses import EffectLoss
        from .model import EffectModel
        torch, t = self.torch, self.cfg.train
        torch.manual_seed(self.cfg.seed)
        self.net = EffectModel(self.cfg.model)
        self.loss = EffectLoss(self.cfg.loss)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=t.learning_rate)
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(self.opt, factor=t.lr_factor, patience=t.lr_patience)

    def _validate(self) -> float:
        torch, skip = self.torch, self.cfg.train.warmup
        outs = predict(self.net, self.valid_pairs, torch)
        o = np.concatenate([y[skip:] for y in outs])
        t = np.concatenate([np.asarray(p.target[skip:], np.float32) for p in self.valid_pairs])
        with torch.no_grad():
            return float(self.loss(torch.from_numpy(o)[None], torch.from_numpy(t)[None]))

    def _epoch(self, x, y, rng, deadline) -> float:
        torch, t, b = self.torch, self.cfg.train, self.cfg.model.block_size
        from .model import detach
        warm = t.warmup // b * b
        chunk = max(t.tbptt // b * b, b)
        order = rng.permutation(len(x))
        losses = []
        self.net.train()
        for start in range(0, len(order), t.batch_size):
            idx = order[start:start + t.batch_size]
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
            state = None
            if warm:
                with torch.no_grad():
                    _, state = self.net.stream(xb[:, :warm])
            for s in range(warm, xb.shape[1] - chunk + 1, chunk):
                out, state = self.net.stream(xb[:, s:s + chunk], state)
                loss = self.loss(out, yb[:, s:s + chunk])
                self.opt.zero_grad()
                loss.backward()
                if t.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.net.parameters(), t.grad_clip)
                self.opt.step()
                state = detach(state)
                losses.append(loss.item())
            if deadline and time.monotonic() > deadline:
                break
        self.net.eval()
        return float(np.mean(losses)) if losses else math.nan

    def run(self, resume: bool = False) -> TrainResult:
        """Train (continuing from checkpoint.pt when resume is set) and return the result."""
        torch, cfg, t = self.torch, self.cfg, self.cfg.train
        torch.set_num_threads(t.threads)
        self.out.mkdir(parents=True, exist_ok=True)
        self._build()
        seg = int(round(t.segment_seconds * cfg.sample_rate)) // cfg.model.block_size * cfg.model.block_size
        x, y = _segments(self.train_pairs, seg, cfg.model.block_size)
        rng = np.random.default_rng(cfg.seed)
        history, best, best_epoch, epoch, spent, stale = [], math.inf, 0, 0, 0.0, 0
        ckpt_path, best_path = self.out / "checkpoint.pt", self.out / "best.pt"
        key = _config_hash(cfg)
        if resume and ckpt_path.is_file():
            ck = torch.load(ckpt_path, weights_only=False)
            if ck["config_hash"] != key:
                raise InputError(f"{ckpt_path} was written for a different configuration; train into a new folder "
                                 f"or drop --resume.")
            self.net.load_state_dict(ck["model"]), self.opt.load_state_dict(ck["optimizer"])
            self.sched.load_state_dict(ck["scheduler"])
            history, best, best_epoch, epoch, spent, stale = (ck["history"], ck["best"], ck["best_epoch"],
                                                               ck["epoch"], ck["seconds"], ck["stale"])
            rng.bit_generator.state = ck["rng"]
            torch.set_rng_state(ck["torch_rng"])
            self.log(f"resuming {cfg.name} after epoch {epoch} (best valid {best:.5f} at epoch {best_epoch})")
        else:
            torch.save(self.net.state_dict(), best_path)
        started = time.monotonic() - spent
        minutes = _budget_minutes(t.max_minutes)
        deadline = started + 60 * minutes if minutes else 0.0
        reason = "epochs done"
        while epoch < t.epochs:
            if deadline and time.monotonic() >= deadline:
                reason = "time budget used"
                break
            if stale >= t.early_stop:
                reason = f"no validation improvement for {t.early_stop} epochs"
                break
            epoch += 1
            train_loss = self._epoch(x, y, rng, deadline)
            valid_loss = self._validate()
            lr = self.opt.param_groups[0]["lr"]
            self.sched.step(valid_loss)
            if valid_loss < best:
                best, best_epoch, stale = valid_loss, epoch, 0
                torch.save(self.net.state_dict(), best_path)
            else:
                stale += 1
            elapsed = time.monotonic() - started
            history.append({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss, "lr": lr,
                            "seconds": round(elapsed, 2)})
            torch.save({"config_hash": key, "model": self.net.state_dict(), "optimizer": self.opt.state_dict(),
                        "scheduler": self.sched.state_dict(), "history": history, "best": best,
                        "best_epoch": best_epoch, "epoch": epoch, "seconds": elapsed, "stale": stale,
                        "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}, ckpt_path)
            self.on_progress(self._event(epoch, elapsed, valid_loss, best, lr, deadline))
        spent = time.monotonic() - started
        self.on_progress({**self._event(epoch, spent, history[-1]["valid_loss"] if history else math.nan, best,
                                        self.opt.param_groups[0]["lr"], 0), "fraction": 1.0, "eta": 0.0,
                          "done": True})
        return self._finish(history, best, best_epoch, epoch, spent, reason)

    def _event(self, epoch, elapsed, valid_loss, best, lr, deadline) -> dict:
        t = self.cfg.train
        per_epoch = elapsed / max(epoch, 1)
        eta = (t.epochs - epoch) * per_epoch
        fraction = epoch / t.epochs
        if deadline:
            left = max(deadline - time.monotonic(), 0.0)
            if left < eta:
                eta, fraction = left, max(fraction, elapsed / (elapsed + left) if elapsed + left else 1.0)
        return {"name": self.cfg.name, "epoch": epoch, "epochs": t.epochs, "fraction": fraction,
                "valid_loss": valid_loss, "best": best, "lr": lr, "elapsed": elapsed, "eta": eta}

    def _finish(self, history, best, best_epoch, epochs, seconds, reason) -> TrainResult:
        from ..audio import write_wav
        from ..frontends import from_torch
        from .plots import plot_curves
        torch, cfg = self.torch, self.cfg
        self.net.load_state_dict(torch.load(self.out / "best.pt", weights_only=True))
        self.net.eval()
        skip = cfg.train.warmup
        outs = predict(self.net, self.test_pairs, torch)
        metrics = pair_metrics(outs, [p.target for p in self.test_pairs], skip=skip, coeff=cfg.loss.pre_emphasis)
        b = cfg.model.block_size
        example = torch.from_numpy(np.asarray(self.test_pairs[0].clean[:b * 512], np.float32).reshape(1, -1, b))
        model = from_torch(self.net, example, sample_rate=float(cfg.sample_rate), block_size=b, name=cfg.name)
        model.metadata.update({"trained_by": "tinyrt.train", "test_esr": metrics["esr"],
                               "test_esr_pre_emphasis": metrics["esr_pre_emphasis"], "config": cfg.to_dict()})
        model_path = model.save(self.out / f"{cfg.name}.tinyrt")
        renders = self.out / "renders"
        renders.mkdir(exist_ok=True)
        limit = 20 * cfg.sample_rate
        for label, signals in (("clean", [p.clean for p in self.test_pairs]),
                               ("target", [p.target for p in self.test_pairs]), ("output", outs)):
            write_wav(renders / f"{label}.wav", np.concatenate(signals)[:limit], cfg.sample_rate)
        plot_curves(history, self.out / "curves.png", title=f"{cfg.name}: training curves")
        summary = {
            "name": cfg.name, "config": cfg.to_dict(), "data": self.data_summary,
            "pairs": {"train": len(self.train_pairs), "valid": len(self.valid_pairs), "test": len(self.test_pairs)},
            "train_seconds_audio": round(sum(len(p.clean) for p in self.train_pairs) / cfg.sample_rate, 2),
            "epochs": epochs, "best_epoch": best_epoch, "best_valid_loss": best, "stopped": reason,
            "train_time_s": round(seconds, 1), "parameters": model.n_params,
            "test": {**metrics, "warmup_samples_excluded": skip}, "model": str(model_path),
        }
        write_text(self.out / "metrics.json", json.dumps(summary, indent=1, default=str))
        write_text(self.out / "history.json", json.dumps(history))
        return TrainResult(cfg.name, self.out, model, model_path, summary, history)


def train(config, out=None, *, resume: bool = False, data=None, on_progress=None, log=print) -> TrainResult:
    """Train the model a Config (or TOML path) describes and return the TrainResult.

    ``out`` defaults to ``runs/<name>``; ``data`` may give (train, valid, test) lists of pairs
    directly instead of the config's [data] table; ``on_progress`` receives progress events.
    """
    from .config import load_config
    cfg = config if isinstance(config, Config) else load_config(config)
    out = Path(out) if out is not None else Path("runs") / cfg.name
    return Trainer(cfg, out, data=data, on_progress=on_progress, log=log).run(resume=resume)
