"""Train an effect model from paired audio: truncated BPTT, Adam, plateau LR schedule, early stop.

``train(config)`` loads and splits the data, trains with checkpoints (resumable), keeps the
best model on the validation set, measures it on the test set, and writes into the output
folder: ``<name>.tinyrt`` (the IR every engine runs), ``metrics.json``, ``curves.png``,
``renders/`` (clean, target and model output WAVs of the test set), ``best.pt`` and
``checkpoint.pt``.

With ``[data] kind = "builtin"`` or ``"captures"`` (``tinyrt.train.conditioned``) the model has
knob inputs: frames are ``[audio, knob values...]``, the model stores ``metadata["params"]``, and
``metrics.json`` has ``settings``: the ESR of every knob setting, on its test fragments for the
trained settings and on the whole capture for the held-out ones.
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


def load_data(cfg: Config, latency: int | None = None):
    """Return (dataset, train, valid, test) for the config's [data] table, resampled to its rate.

    latency: samples to remove from every target instead of measuring them (a model's stored capture latency).
    """
    from ..data.pairs import load_pairs
    d = cfg.data
    spec = {"kind": d.kind, "fragment_seconds": d.fragment_seconds, "silence_db": d.silence_db, "latency": latency}
    spec.update({"clean": d.clean, "target": d.target} if d.kind == "fragments" else
                {"root": d.root, "effect": d.effect})
    dataset = load_pairs(spec, cfg.sample_rate, base=cfg.base)
    train, valid, test = dataset.split(valid=d.valid, test=d.test, seed=cfg.seed)
    return dataset, train, valid, test


def _audio(clean) -> np.ndarray:
    """Return the audio of a pair's clean side: itself, or column 0 of [audio, knobs...] frames."""
    clean = np.asarray(clean, np.float32)
    return clean[:, 0] if clean.ndim == 2 else clean


def _segments(pairs, length: int, block: int):
    """Return (clean, target) arrays (n, length[, 1 + knobs]) cut from the pairs; the remainder is dropped."""
    xs, ys = [], []
    for p in pairs:
        n = len(p.clean) // length
        clean = np.asarray(p.clean, np.float32)
        if n:
            xs.append(clean[:n * length].reshape(n, length, *clean.shape[1:]))
            ys.append(np.asarray(p.target[:n * length], np.float32).reshape(n, length))
        elif len(p.clean) >= block * 2:
            m = len(p.clean) // block * block
            xs.append(np.pad(clean[:m], ((0, length - m),) + ((0, 0),) * (clean.ndim - 1))[None])
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
            outs.append(np.concatenate([y[0].numpy(), _audio(p.clean[n:])]))
    return outs


class Trainer:
    """One training run; ``run()`` returns a TrainResult. Build with a Config and an output folder."""

    def __init__(self, cfg: Config, out, data=None, on_progress=None, log=print):
        self.torch = _torch()
        self.cfg, self.out = cfg, Path(out)
        self.on_progress = on_progress if on_progress is not None else ProgressBar()
        self.log = log
        self.conditioned = None
        self.capture = None          # the capture latency the data was aligned with, stored in the model
        if data is None and cfg.data.kind in ("builtin", "captures"):
            from .conditioned import load_conditioned
            self.conditioned = load_conditioned(cfg)
            splits, self.data_summary = self.conditioned.splits(), self.conditioned.summary()
        elif data is None:
            dataset, *splits = load_data(cfg)
            self.data_summary, self.capture = dataset.summary(), dataset.capture
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
        self.net = EffectModel(self.cfg.model, n_knobs=len(self.conditioned.params) if self.conditioned else 0)
        self.loss = EffectLoss(self.cfg.loss)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=t.learning_rate)
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(self.opt, factor=t.lr_factor, patience=t.lr_patience,
                                                                min_lr=t.lr_min)
        self.budget_schedule = t.lr_schedule == "budget" or (t.lr_schedule == "auto" and t.max_minutes > 0)
        self._clock = (0.0, 0.0)     # (started, deadline) of the run, for the budget schedule
        self._now = time.process_time if t.budget_clock == "cpu" else time.monotonic

    def _budget_lr(self, epoch_fraction: float) -> float:
        """Return the budget schedule's LR: a half cosine from learning_rate to lr_min over the time or epochs."""
        t = self.cfg.train
        started, deadline = self._clock
        done = epoch_fraction / t.epochs
        if deadline:
            done = max(done, (self._now() - started) / (deadline - started))
        done = min(max(done, 0.0), 1.0)
        return t.lr_min + 0.5 * (t.learning_rate - t.lr_min) * (1.0 + math.cos(math.pi * done))

    def _validate(self) -> float:
        torch, skip = self.torch, self.cfg.train.warmup
        outs = predict(self.net, self.valid_pairs, torch)
        o = np.concatenate([y[skip:] for y in outs])
        t = np.concatenate([np.asarray(p.target[skip:], np.float32) for p in self.valid_pairs])
        with torch.no_grad():
            return float(self.loss(torch.from_numpy(o)[None], torch.from_numpy(t)[None]))

    def _epoch(self, x, y, rng, deadline, epoch: int = 1) -> float:
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
                if self.budget_schedule:
                    lr = self._budget_lr(epoch - 1 + start / len(order))
                    for group in self.opt.param_groups:
                        group["lr"] = lr
                self.opt.step()
                state = detach(state)
                losses.append(loss.item())
            if deadline and self._now() > deadline:
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
        started = self._now() - spent
        minutes = _budget_minutes(t.max_minutes)
        deadline = started + 60 * minutes if minutes else 0.0
        self._clock = (started, deadline)
        reason = "epochs done"
        while epoch < t.epochs:
            if deadline and self._now() >= deadline:
                reason = "time budget used"
                break
            if stale >= t.early_stop and not self.budget_schedule:
                reason = f"no validation improvement for {t.early_stop} epochs"
                break
            epoch += 1
            train_loss = self._epoch(x, y, rng, deadline, epoch)
            valid_loss = self._validate()
            lr = self.opt.param_groups[0]["lr"]
            if not self.budget_schedule:
                self.sched.step(valid_loss)
            if valid_loss < best:
                best, best_epoch, stale = valid_loss, epoch, 0
                torch.save(self.net.state_dict(), best_path)
            else:
                stale += 1
            elapsed = self._now() - started
            history.append({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss, "lr": lr,
                            "seconds": round(elapsed, 2)})
            torch.save({"config_hash": key, "model": self.net.state_dict(), "optimizer": self.opt.state_dict(),
                        "scheduler": self.sched.state_dict(), "history": history, "best": best,
                        "best_epoch": best_epoch, "epoch": epoch, "seconds": elapsed, "stale": stale,
                        "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}, ckpt_path)
            self.on_progress(self._event(epoch, elapsed, valid_loss, best, lr, deadline))
        spent = self._now() - started
        self.on_progress({**self._event(epoch, spent, history[-1]["valid_loss"] if history else math.nan, best,
                                        self.opt.param_groups[0]["lr"], 0), "fraction": 1.0, "eta": 0.0,
                          "done": True})
        return self._finish(history, best, best_epoch, epoch, spent, reason)

    def _settings(self, skip: int) -> list:
        return [setting_metrics(self.net, s, skip, self.cfg.loss.pre_emphasis, self.cfg.sample_rate, self.torch)
                for s in self.conditioned.settings]

    def _event(self, epoch, elapsed, valid_loss, best, lr, deadline) -> dict:
        t = self.cfg.train
        per_epoch = elapsed / max(epoch, 1)
        eta = (t.epochs - epoch) * per_epoch
        fraction = epoch / t.epochs
        if deadline:
            left = max(deadline - self._now(), 0.0)
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
        if self.conditioned:
            model = self.net.to_ir(cfg.name, float(cfg.sample_rate), self.conditioned.params)
        else:
            example = torch.from_numpy(np.asarray(self.test_pairs[0].clean[:b * 512], np.float32).reshape(1, -1, b))
            model = from_torch(self.net, example, sample_rate=float(cfg.sample_rate), block_size=b, name=cfg.name)
        model.metadata.update({"trained_by": "tinyrt.train", "test_esr": metrics["esr"],
                               "test_esr_pre_emphasis": metrics["esr_pre_emphasis"], "config": cfg.to_dict()})
        if self.capture is not None:
            model.metadata["capture"] = dict(self.capture)
        model_path = model.save(self.out / f"{cfg.name}.tinyrt")
        renders = self.out / "renders"
        renders.mkdir(exist_ok=True)
        limit = 20 * cfg.sample_rate
        for label, signals in (("clean", [_audio(p.clean) for p in self.test_pairs]),
                               ("target", [p.target for p in self.test_pairs]), ("output", outs)):
            write_wav(renders / f"{label}.wav", np.concatenate(signals)[:limit], cfg.sample_rate)
        plot_curves(history, self.out / "curves.png", title=f"{cfg.name}: training curves")
        summary = {
            "name": cfg.name, "config": cfg.to_dict(), "data": self.data_summary,
            "pairs": {"train": len(self.train_pairs), "valid": len(self.valid_pairs), "test": len(self.test_pairs)},
            "train_seconds_audio": round(sum(len(p.clean) for p in self.train_pairs) / cfg.sample_rate, 2),
            "epochs": epochs, "best_epoch": best_epoch, "best_valid_loss": best, "stopped": reason,
            "train_time_s": round(seconds, 1), "parameters": model.n_params, "capture": self.capture,
            "test": {**metrics, "warmup_samples_excluded": skip}, "model": str(model_path),
        }
        if self.conditioned:
            summary["params"] = self.conditioned.params
            summary["settings"] = self._settings(skip)
            self.log(settings_table(summary["settings"], self.conditioned.names))
        write_text(self.out / "metrics.json", json.dumps(summary, indent=1, default=str))
        write_text(self.out / "history.json", json.dumps(history))
        return TrainResult(cfg.name, self.out, model, model_path, summary, history)


def setting_metrics(net, setting, skip: int, coeff: float, sample_rate: int, torch) -> dict:
    """Return one knob setting's ESR: on its test fragments when trained, on its whole capture when held out."""
    pairs = setting.whole if setting.holdout else setting.test
    outs = predict(net, pairs, torch)
    m = pair_metrics(outs, [p.target for p in pairs], skip=skip, coeff=coeff)
    return {"setting": setting.label, "values": list(setting.values),
            "split": "holdout" if setting.holdout else "train",
            "seconds": round(sum(len(p.target) for p in pairs) / sample_rate, 2), **m}


def settings_table(rows: list, names: list) -> str:
    """Return the per-setting ESR table as text."""
    head = "".join(f"{n:>8}" for n in names)
    lines = [f"{head}  {'split':<8} {'ESR':>8} {'ESR pre':>8}"]
    for r in rows:
        values = "".join(f"{v:>8.2f}" for v in r["values"])
        lines.append(f"{values}  {r['split']:<8} {r['esr']:>8.4f} {r['esr_pre_emphasis']:>8.4f}")
    return "\n".join(lines)


def train(config, out=None, *, resume: bool = False, data=None, on_progress=None, log=print) -> TrainResult:
    """Train the model a Config (or TOML path) describes and return the TrainResult.

    ``out`` defaults to ``runs/<name>``; ``data`` may give (train, valid, test) lists of pairs
    directly instead of the config's [data] table; ``on_progress`` receives progress events.
    """
    from .config import load_config
    cfg = config if isinstance(config, Config) else load_config(config)
    out = Path(out) if out is not None else Path("runs") / cfg.name
    return Trainer(cfg, out, data=data, on_progress=on_progress, log=log).run(resume=resume)
