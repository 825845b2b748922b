"""The classifier pipeline: labelled clips -> windows -> C-parity log-mel -> CNN (and a forest and an MLP) -> IR
-> C chain proven against the reference -> report.

``train_classifier(cfg, out)`` runs it all and writes into ``out``: ``<name>.tinyrt`` (the CNN as IR, its
feature spec, classes and unknown threshold in the metadata), ``forest.tinyrt`` and ``mlp.tinyrt``,
``chain/`` (the generated C of the chain and the runtime headers it includes), ``report.json``,
``report.html`` and ``confusion.png``.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.clips import check_clips, load_clips
from ...data.techniques import TECHNIQUES, technique_clips
from ...errors import InputError
from ...files import write_json, write_text
from .chain import META, Chain
from .config import ClassifyConfig
from .features import FeatureSpec, augment, clip_windows, patches, stretch, summary

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class ClassifyResult:
    """What a run produced: the report's numbers and the paths it wrote."""

    report: dict
    model_path: Path
    chain: Chain
    out: Path


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, flush=True)


def load_data(cfg: ClassifyConfig) -> list:
    """Return the labelled clips the config names, checked (one sentence per problem, nothing trained)."""
    d = cfg.data
    if d.kind == "techniques":
        clips = technique_clips(d.per_class, cfg.sample_rate, d.clip_seconds, cfg.seed,
                                tuple(d.techniques) or TECHNIQUES)
    else:
        path = Path(d.path) if Path(d.path).is_absolute() else Path(cfg.base) / d.path
        clips = load_clips(path)
    check_clips(clips, d.min_per_class, cfg.sample_rate)
    return clips


def feature_spec(cfg: ClassifyConfig) -> FeatureSpec:
    """Return the FeatureSpec of a config."""
    f, sr = cfg.features, cfg.sample_rate
    return FeatureSpec(sr, int(round(f.window_ms * sr / 1000)), f.n_fft, f.hop, f.n_mels,
                       int(round(f.pre_ms * sr / 1000))).check()


def split(clips: list, fraction: float, seed: int) -> tuple:
    """Return (train, test) clips: ``fraction`` of each class (at least one clip) held out, seeded."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in sorted({c.label for c in clips}):
        idx = [i for i, c in enumerate(clips) if c.label == label]
        rng.shuffle(idx)
        k = min(max(1, int(round(fraction * len(idx)))), len(idx) - 1)
        test += [clips[i] for i in idx[:k]]
        train += [clips[i] for i in idx[k:]]
    return train, test


def _windows(clips, spec, cfg) -> tuple:
    """Return (windows, labels, owner clip index) of the clips."""
    hop = int(round(cfg.features.hop_ms * spec.sr / 1000))
    out, owner = [], []
    for i, c in enumerate(clips):
        for w in clip_windows(c, spec, cfg.features.windows, hop):
            out.append(w)
            owner.append(i)
    return out, np.array(owner, int)


def training_set(train, spec, cfg, classes, rng) -> tuple:
    """Return (patches, labels) of the training windows plus their augmented copies."""
    a, hop = cfg.augment, int(round(cfg.features.hop_ms * spec.sr / 1000))
    windows, owner = _windows(train, spec, cfg)
    x = patches(windows, spec)
    y = np.array([classes.index(train[i].label) for i in owner], int)
    extra_x, extra_y = [], []
    for c in train:
        starts = [c.onset - spec.pre] if cfg.features.windows == "onset" else \
            list(range(c.onset - spec.pre, max(c.onset - spec.pre + 1, len(c.audio) - spec.window + 1), max(hop, 1)))
        for start in starts:
            for _ in range(a.copies):
                p = patches([augment(c.audio, start, spec, rng, a)], spec)[0]
                if a.stretch > 0:
                    p = stretch(p, spec, 1.0 + rng.uniform(-a.stretch, a.stretch))
                extra_x.append(p)
                extra_y.append(classes.index(c.label))
    if extra_x:
        x, y = np.concatenate([x, np.stack(extra_x)]), np.concatenate([y, extra_y])
    return x.astype(np.float32), y


def train_cnn(x, y, spec, classes, cfg, quiet=True):
    """Return the TechniqueCNN trained on patches x and labels y (Adam, mixup, fixed seed)."""
    import torch

    from .cnn import TechniqueCNN
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.train.threads)
    m, t = cfg.model, cfg.train
    net = TechniqueCNN(spec.frames, spec.n_mels, len(classes), (m.channels1, m.channels2), m.kernel,
                       float(x.mean()), float(x.std() + 1e-6))
    opt = torch.optim.Adam(net.parameters(), lr=t.learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, t.epochs)
    X, Y = torch.from_numpy(x), torch.from_numpy(y).long()
    rng = np.random.default_rng(cfg.seed)
    start = time.monotonic()
    for epoch in range(t.epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(len(X)))
        total = 0.0
        for b in range(0, len(X), t.batch_size):
            idx = order[b:b + t.batch_size]
            xb, yb = X[idx], torch.nn.functional.one_hot(Y[idx], len(classes)).float()
            if cfg.augment.mixup > 0 and len(idx) > 1:
                lam = float(rng.beta(cfg.augment.mixup, cfg.augment.mixup))
                perm = torch.from_numpy(rng.permutation(len(idx)))
                xb, yb = lam * xb + (1 - lam) * xb[perm], lam * yb + (1 - lam) * yb[perm]
            loss = -(yb * torch.log_softmax(net(xb), dim=-1)).sum(dim=-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if not quiet and (epoch % 10 == 0 or epoch == t.epochs - 1):
            print(f"  epoch {epoch + 1}/{t.epochs}: loss {total / len(X):.4f}", flush=True)
        if t.max_minutes and time.monotonic() - start > 60 * t.max_minutes:
            break
    return net.eval()


def torch_probabilities(net, x) -> np.ndarray:
    """Return the CNN's probabilities for patches x in float64 (the reference the C chain is held to)."""
    import torch
    with torch.no_grad():
        return net.double().probabilities(torch.from_numpy(np.asarray(x, np.float64))).numpy()


def aggregate(probs: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Return the mean probability vector over each clip's windows, (n clips, classes)."""
    out = np.zeros((n, probs.shape[1]))
    np.add.at(out, owner, probs)
    return out / np.maximum(np.bincount(owner, minlength=n), 1)[:, None]


def scores(truth: np.ndarray, pred: np.ndarray, classes: list) -> dict:
    """Return accuracy, macro F1, per-class F1 and the confusion matrix (rows: truth) of class indices."""
    k = len(classes)
    conf = np.zeros((k, k), int)
    np.add.at(conf, (truth, pred), 1)
    tp = np.diag(conf).astype(float)
    prec = np.divide(tp, conf.sum(0), out=np.zeros(k), where=conf.sum(0) > 0)
    rec = np.divide(tp, conf.sum(1), out=np.zeros(k), where=conf.sum(1) > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(k), where=prec + rec > 0)
    return {"accuracy": float((truth == pred).mean()), "macro_f1": float(f1.mean()),
            "f1": {c: float(v) for c, v in zip(classes, f1)}, "confusion": conf.tolist()}


def unknown_effect(probs: np.ndarray, truth: np.ndarray) -> list:
    """Return, per threshold, the share of clips kept (best probability >= threshold) and the accuracy on them."""
    best, pred = probs.max(axis=1), probs.argmax(axis=1)
    rows = []
    for th in THRESHOLDS:
        kept = best >= th
        rows.append({"threshold": th, "kept": float(kept.mean()),
                     "accuracy_kept": float((pred[kept] == truth[kept]).mean()) if kept.any() else None,
                     "unknown": int((~kept).sum())})
    return rows


def _classic(cfg, xs_train, y_train, xs_test, truth_windows, owner, n_test, classes, test_truth):
    """Train the forest and the MLP on summary features; return {name: (estimator, ir, cmodel, scores, ...)}."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ...backends.c.cmodel import CModel
    from ...frontends.sklearn import to_ir
    c = cfg.classic
    out = {}
    makers = {"forest": lambda: RandomForestClassifier(c.forest_trees, max_depth=c.forest_depth,
                                                       random_state=cfg.seed),
              "mlp": lambda: make_pipeline(StandardScaler(), MLPClassifier((c.mlp_hidden,), max_iter=c.mlp_iterations,
                                                                          random_state=cfg.seed))}
    import warnings
    for name, make in makers.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = make().fit(xs_train.astype(np.float64), y_train)
        ir = to_ir(est, f"{cfg.name}_{name}")
        cm = CModel(ir, f"{cfg.name}_{name}")
        probs = cm.predict_proba(xs_test)
        clip_probs = aggregate(probs.astype(np.float64), owner, n_test)
        agree = cm.agreement(est, xs_test)
        reps = max(1, 2000 // max(len(xs_test), 1))
        t0 = time.perf_counter()
        for _ in range(reps):
            cm.predict_proba(xs_test)
        per = (time.perf_counter() - t0) / (reps * len(xs_test))
        out[name] = {"estimator": est, "ir": ir, "cmodel": cm, "clip_probs": clip_probs,
                     "scores": scores(test_truth, clip_probs.argmax(1), classes),
                     "weight_bytes": int(ir.weight_bytes), "seconds_per_inference": per,
                     "c_agreement": agree}
    return out


def train_classifier(cfg: ClassifyConfig, out, quiet: bool = False, cortex: bool = True) -> ClassifyResult:
    """Run the whole pipeline of a config and write its outputs into ``out`` (see the module text)."""
    out = Path(out)
    began = time.monotonic()
    clips = load_data(cfg)
    spec = feature_spec(cfg)
    classes = sorted({c.label for c in clips}, key=lambda c: (TECHNIQUES.index(c) if c in TECHNIQUES else 99, c))
    train, test = split(clips, cfg.data.test, cfg.seed)
    _log(f"{cfg.name}: {len(clips)} clips of {len(classes)} classes ({len(train)} train, {len(test)} test), "
         f"{spec.frames} x {spec.n_mels} log-mel patches at {spec.sr} Hz", quiet)
    rng = np.random.default_rng(cfg.seed + 1)
    x_train, y_train = training_set(train, spec, cfg, classes, rng)
    test_windows, owner = _windows(test, spec, cfg)
    x_test = patches(test_windows, spec)
    truth = np.array([classes.index(c.label) for c in test], int)
    _log(f"training the CNN on {len(x_train)} windows ({cfg.augment.copies} augmented copies each)", quiet)
    t0 = time.monotonic()
    net = train_cnn(x_train, y_train, spec, classes, cfg, quiet)
    train_seconds = time.monotonic() - t0

    from .cnn import to_ir
    meta = {META: {"spec": spec.to_dict(), "classes": classes, "threshold": cfg.unknown.threshold,
                   "windows": cfg.features.windows, "features": "log-mel (tinyrt.audio.log_mel, dB, top_db 80)"}}
    model = to_ir(net, sample_rate=spec.sr, name=cfg.name, metadata=meta)
    out.mkdir(parents=True, exist_ok=True)
    model_path = model.save(out / f"{cfg.name}.tinyrt")

    # the proof: C chain (features + CNN in C) against the PyTorch CNN on the Python (C-parity) features
    ref = torch_probabilities(net, x_test)
    chain = Chain(model)
    c_probs = chain.predict(np.stack(test_windows)).astype(np.float64)
    c_feats = np.stack([chain.features(w) for w in test_windows[:16]])
    proof = {"windows": len(test_windows), "max_abs_probability_error": float(np.abs(c_probs - ref).max()),
             "class_agreement": float((c_probs.argmax(1) == ref.argmax(1)).mean()),
             "classes_differing": int((c_probs.argmax(1) != ref.argmax(1)).sum()),
             "max_abs_feature_error": float(np.abs(c_feats - x_test[:16]).max()),
             "ir_reference_vs_torch": float(np.abs(model.reference().process(x_test) - ref).max())}
    chain.write(out / "chain")
    cnn_clip = aggregate(c_probs, owner, len(test))
    report_models = {"cnn": {"scores": scores(truth, cnn_clip.argmax(1), classes),
                             "weight_bytes": int(model.weight_bytes),
                             "seconds_per_inference": chain.time_per_inference(),
                             "train_seconds": train_seconds, "clip_probs": cnn_clip}}

    xs_train, xs_test = summary(x_train, spec), summary(x_test, spec)
    _log("training the forest and the MLP on the same log-mel frames (per-band mean and deviation)", quiet)
    classic = _classic(cfg, xs_train, y_train, xs_test, None, owner, len(test), classes, truth)
    for name, r in classic.items():
        r["ir"].save(out / f"{name}.tinyrt")
        report_models[name] = r
    sizes = {}
    if cortex:
        for name in classic:
            try:  # the classic model's predict compiled alone for a Cortex-M4 (flash: text + rodata + data)
                z = classic[name]["cmodel"].object_sizes("cortex-m4")
                report_models[name]["cortex_m4_flash"] = int(z["text"] + z["rodata"] + z["data"])
            except Exception as exc:  # a missing cross compiler is reported, not fatal to the run
                report_models[name]["cortex_m4_flash"] = str(exc)
        for target in ("cortex-m4", "cortex-m7"):
            try:
                sizes[target] = chain.sizes(target)
            except Exception as exc:  # a missing cross compiler is reported, not fatal to the run
                sizes[target] = {"error": str(exc)}
    report = {
        "name": cfg.name, "config": cfg.to_dict(), "classes": classes,
        "spec": {**spec.to_dict(), "frames": spec.frames},
        "clips": {"train": len(train), "test": len(test), "train_windows": int(len(x_train)),
                  "test_windows": len(test_windows)},
        "models": {name: {"accuracy": r["scores"]["accuracy"], "macro_f1": r["scores"]["macro_f1"],
                          "f1": r["scores"]["f1"], "confusion": r["scores"]["confusion"],
                          "weight_bytes": r["weight_bytes"], "seconds_per_inference": r["seconds_per_inference"],
                          **{k: r[k] for k in ("c_agreement", "cortex_m4_flash") if k in r}}
                   for name, r in report_models.items()},
        "unknown": {name: unknown_effect(r["clip_probs"], truth) for name, r in report_models.items()},
        "threshold": cfg.unknown.threshold,
        "chain": {"name": chain.name, "proof": proof, "state_bytes": chain.state_bytes(), "sizes": sizes,
                  "feature_seconds": chain.time_features(),
                  "files": sorted(chain.files())},
        "seconds": time.monotonic() - began,
    }
    write_report(report, out)
    _log(table(report), quiet)
    return ClassifyResult(report, model_path, chain, out)


def table(report: dict) -> str:
    """Return the accuracy table of a report as text."""
    lines = [f"{'model':8} {'accuracy':>9} {'macro F1':>9} {'weights':>10} {'us/inference':>13}"]
    for name, m in report["models"].items():
        lines.append(f"{name:8} {m['accuracy']:9.3f} {m['macro_f1']:9.3f} {m['weight_bytes']:10d} "
                     f"{1e6 * m['seconds_per_inference']:13.1f}")
    p = report["chain"]["proof"]
    lines.append(f"log-mel features of one window in C: {1e6 * report['chain']['feature_seconds']:.1f} us "
                 f"(inside the CNN chain's time; not in the forest's and MLP's)")
    lines.append(f"C chain vs PyTorch: max |p| error {p['max_abs_probability_error']:.2e}, class agreement "
                 f"{100 * p['class_agreement']:.1f}% on {p['windows']} windows")
    for target, s in report["chain"]["sizes"].items():
        if "flash" in s:
            lines.append(f"CNN chain on {target}: flash {s['flash']} B, RAM {s['ram']} B static (state and the "
                         f"window buffer) + ~{s['stack_estimate']} B stack")
    for name, m in report["models"].items():
        if isinstance(m.get("cortex_m4_flash"), int):
            lines.append(f"{name} predict_proba on cortex-m4: flash {m['cortex_m4_flash']} B")
    return "\n".join(lines)


def _confusion_png(report: dict, path: Path) -> None:
    from ...audio.plots import pyplot
    plt = pyplot()
    names = list(report["models"])
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.6))
    classes = report["classes"]
    for ax, name in zip(np.atleast_1d(axes), names):
        conf = np.array(report["models"][name]["confusion"])
        ax.imshow(conf, cmap="Blues")
        ax.set_title(f"{name}: accuracy {report['models'][name]['accuracy']:.2f}")
        ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for i in range(len(classes)):
            for j in range(len(classes)):
                if conf[i, j]:
                    ax.text(j, i, str(conf[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if conf[i, j] > conf.max() / 2 else "black")
    fig.tight_layout()
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    from ...files import write_bytes
    write_bytes(path, buf.getvalue(), "confusion matrix image")


def write_report(report: dict, out: Path) -> None:
    """Write report.json, confusion.png and report.html into out (atomically)."""
    write_json(out / "report.json", report, indent=1)
    _confusion_png(report, out / "confusion.png")
    e = html.escape
    classes = report["classes"]
    rows = "".join(f"<tr><td>{e(n)}</td><td>{m['accuracy']:.3f}</td><td>{m['macro_f1']:.3f}</td>"
                   f"<td>{m['weight_bytes']}</td><td>{1e6 * m['seconds_per_inference']:.1f}</td></tr>"
                   for n, m in report["models"].items())
    f1 = "".join(f"<tr><td>{e(c)}</td>" + "".join(f"<td>{m['f1'][c]:.2f}</td>" for m in report["models"].values())
                 + "</tr>" for c in classes)
    unk = "".join(f"<tr><td>{r['threshold']:.1f}</td>" + "".join(
        f"<td>{100 * report['unknown'][n][i]['kept']:.0f}% / "
        + ("-" if report['unknown'][n][i]['accuracy_kept'] is None
           else f"{100 * report['unknown'][n][i]['accuracy_kept']:.1f}%") + "</td>"
        for n in report["models"]) + "</tr>" for i, r in enumerate(report["unknown"]["cnn"]))
    p = report["chain"]["proof"]
    sizes = "".join(f"<li>{e(t)}: flash {s['flash']} B, RAM {s['ram']} B static + about {s['stack_estimate']} B "
                    f"stack</li>" if "flash" in s else f"<li>{e(t)}: {e(s.get('error', ''))}</li>"
                    for t, s in report["chain"]["sizes"].items())
    names = "".join(f"<th>{e(n)}</th>" for n in report["models"])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(report['name'])}: classifier report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:2px 8px;text-align:right}}
td:first-child{{text-align:left}}table{{border-collapse:collapse}}tr:nth-child(even){{background:#f3f3f3}}</style>
</head><body><h1>{e(report['name'])}: {len(classes)} classes</h1>
<p>{report['clips']['train']} training clips ({report['clips']['train_windows']} windows with augmentation),
{report['clips']['test']} test clips. Features: {report['spec']['frames']} x {report['spec']['n_mels']} log-mel
frames of {report['spec']['window']} samples at {report['spec']['sr']} Hz (the C chain's own).</p>
<h2>Test set</h2><table><tr><th>model</th><th>accuracy</th><th>macro F1</th><th>weight bytes</th>
<th>&micro;s / inference (C)</th></tr>{rows}</table>
<p>CNN time: the whole C chain (log-mel + CNN) per window; forest and MLP: the C model per feature vector
(add the log-mel features, {1e6 * report['chain']['feature_seconds']:.1f} &micro;s per window in C).</p>
<h2>Per-class F1</h2><table><tr><th>class</th>{names}</tr>{f1}</table>
<h2>Confusion matrices</h2><img src="confusion.png" alt="confusion matrices" style="max-width:100%">
<h2>Unknown threshold</h2><p>Clips kept (best mean probability &ge; threshold) / accuracy on them; the others
are "unknown". Configured threshold: {report['threshold']}.</p>
<table><tr><th>threshold</th>{names}</tr>{unk}</table>
<h2>C chain</h2><p>{e(report['chain']['name'])}: audio window &rarr; log-mel &rarr; CNN &rarr; probabilities.
Against PyTorch on the same windows: max probability error {p['max_abs_probability_error']:.2e}, predicted class
agreement {100 * p['class_agreement']:.1f}% of {p['windows']} windows; features max error
{p['max_abs_feature_error']:.2e}. State {report['chain']['state_bytes']} bytes.</p><ul>{sizes}</ul>
</body></html>
"""
    write_text(out / "report.html", page, "classifier report")


def check_window(x, spec: FeatureSpec) -> np.ndarray:
    """Return x as a float32 window of spec.window samples, or raise InputError."""
    w = np.asarray(x, np.float32)
    if w.shape != (spec.window,):
        raise InputError(f"a window holds {spec.window} samples, not shape {w.shape}.")
    return w
