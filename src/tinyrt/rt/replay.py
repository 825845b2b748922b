"""Host-based simulation: a recording replayed through the device's event logic on the PC, traced, plotted, scored.

``replay(recording, classifier)`` runs the live host's own compiled event engine (``tinyrt.rt.events``: the
onset detector and window capture of the audio callback, the SPSC event ring, the worker thread with its
feature + classifier C, the results ring) over the recording in callback blocks, as the device would see it.
Whatever chain ``engine_files`` generates for the classifier (a classic classifier on mean log-mel bands today,
a CNN chain from tinyrt.train.classify) is what runs: nothing here re-implements it in Python.

Each block is fed to the engine's callback; its counters after the call say what the callback did (onsets
detected, a window dispatched) at that block's last sample; the worker stamps when it took an event and when its
result was ready. The trace holds every step with a sample time: onset (the callback that detected it),
dispatch (the callback that completed its window), inference start and end and the result (the dispatch sample
plus the worker's measured time, i.e. when the device running this worker in real time would have it), and the
measured wall times. Annotations (CSV of ``time`` in seconds or ``sample``, and ``label``) score it: onset
precision, recall and F-measure within +-20 ms, and the classification accuracy on matched onsets.
"""
from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..files import write_json

TOLERANCE_MS = 20.0
SILENCE = 1e-4              # a recording whose peak is below this (-80 dBFS) is silent
MAX_ANNOTATION_BYTES = 16 << 20


def read_annotations(path, sr: int, n_samples: int, classes=None) -> list:
    """Return [(sample, label or None)] from an annotation CSV: a header ``time,label`` (seconds) or
    ``sample,label`` (start samples; also ``start``), or headerless ``time,label`` rows. Refuse, in one sentence,
    times that are not numbers, negative, past the recording or out of order, and labels not among ``classes``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such annotation file.")
    if path.stat().st_size > MAX_ANNOTATION_BYTES:
        raise InputError(f"{path}: the annotation file is larger than {MAX_ANNOTATION_BYTES >> 20} MB.")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: the annotation file is not UTF-8 text; save it as a UTF-8 CSV.") from None
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc}); give rows of time,label.") from None
    if not rows:
        raise InputError(f"{path}: the annotation file holds no annotations; give rows of time,label.")
    unit, header = "time", 0
    first = rows[0][0].strip().lower()
    if first in ("time", "sample", "start", "start_sample", "onset"):
        unit, header = ("time" if first in ("time", "onset") else "sample"), 1
        rows = rows[1:]
    names = None if classes is None else [str(c) for c in classes]
    out, prev = [], -1
    for k, row in enumerate(rows, start=1 + header):
        cell = row[0].strip()
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{path}: row {k}: the {unit} {cell!r} is not a number >= 0; give "
                             f"{'seconds' if unit == 'time' else 'a sample index'} from the recording's start.")
        if unit == "sample" and value != int(value):
            raise InputError(f"{path}: row {k}: the sample {cell!r} is not a whole number.")
        sample = int(round(value * sr)) if unit == "time" else int(value)
        if sample >= n_samples:
            raise InputError(f"{path}: row {k}: {cell} is past the end of the recording "
                             f"({n_samples / sr:.3f} s, {n_samples} samples).")
        if sample <= prev:
            raise InputError(f"{path}: row {k}: {cell} does not come after the row before it; sort the annotations "
                             f"by time, one onset per row.")
        label = row[1].strip() if len(row) > 1 and row[1].strip() else None
        if label is not None and names is not None and label not in names:
            raise InputError(f"{path}: row {k}: the label {label!r} is not a class of the classifier "
                             f"({', '.join(names)}).")
        out.append((sample, label))
        prev = sample
    if not out:
        raise InputError(f"{path}: the annotation file holds a header but no annotations.")
    return out


def match_onsets(reference, estimated, tolerance: int) -> list:
    """Return [(reference index, estimate index)] of the largest one-to-one matching within +-tolerance samples
    (both sorted; the greedy earliest-first sweep is optimal for intervals of one width)."""
    pairs, i, j = [], 0, 0
    while i < len(reference) and j < len(estimated):
        d = int(estimated[j]) - int(reference[i])
        if abs(d) <= tolerance:
            pairs.append((i, j))
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return pairs


def score_events(annotations, onsets, predicted: dict, sr: int, tolerance_ms: float = TOLERANCE_MS) -> dict:
    """Return the onset precision/recall/F-measure within +-tolerance_ms and the accuracy of the predicted labels
    (``predicted``: onset sample -> label) on the matched, labelled annotations; a matched onset the device did
    not classify (busy capturing another) counts as wrong."""
    ref = [a[0] for a in annotations]
    tol = int(round(tolerance_ms * sr / 1000.0))
    pairs = match_onsets(ref, onsets, tol)
    m = len(pairs)
    precision = m / len(onsets) if len(onsets) else 0.0
    recall = m / len(ref) if ref else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    rows, correct, labelled, unclassified = [], 0, 0, 0
    for i, j in pairs:
        truth, got = annotations[i][1], predicted.get(int(onsets[j]))
        if truth is not None:
            labelled += 1
            correct += got is not None and str(got) == truth
            unclassified += got is None
        rows.append({"annotation": int(ref[i]), "onset": int(onsets[j]), "offset_ms": (int(onsets[j]) - ref[i])
                     * 1000.0 / sr, "label": truth, "predicted": None if got is None else str(got)})
    return {"tolerance_ms": float(tolerance_ms), "annotations": len(ref), "onsets": len(onsets), "matched": m,
            "precision": precision, "recall": recall, "f_measure": f, "labelled_matched": labelled,
            "correct": int(correct), "unclassified": unclassified,
            "accuracy": correct / labelled if labelled else None, "matches": rows}


def _detector_onsets(engine, x: np.ndarray, block: int) -> np.ndarray:
    """Return every onset the engine's detector finds: trt_onset.h with the engine's own parameters."""
    from .events import _lib
    p = engine.onset
    cap = len(x) // p["hop"] + 1
    out = np.zeros(cap, dtype=np.int64)
    k = _lib().trt_onset_run(x.ctypes.data, len(x), int(block), p["hop"], p["history"], p["factor"], p["floor"],
                             p["refractory"], out.ctypes.data, cap)
    return out[:k]


def _check_recording(recording, rate, expected):
    from ..audio.io import read_wav
    if isinstance(recording, (str, bytes)) or hasattr(recording, "__fspath__"):
        audio, sr = read_wav(recording)
        where = f"{recording}: "
    else:
        audio, sr, where = np.asarray(recording, np.float32), rate or expected, ""
        if sr is None:
            raise InputError("replay of an array needs its sample rate (rate=...).")
    if audio.ndim != 1:
        raise InputError(f"{where}replay takes a mono recording (the device's one input), not {audio.shape[1]} "
                         f"channels; export the instrument's channel alone.")
    if expected is not None and int(sr) != int(expected):
        raise InputError(f"{where}the recording runs at {int(sr)} Hz but the device chain at {int(expected)} Hz; "
                         f"resample the recording to {int(expected)} Hz.")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < SILENCE:
        raise InputError(f"{where}the recording is silent (peak {20 * math.log10(peak) if peak > 0 else -math.inf:.0f}"
                         f" dBFS); record the instrument's signal.")
    return np.ascontiguousarray(audio, np.float32), int(sr)


def replay(recording, classifier, *, annotations=None, block: int = 64, trace=None, plot=None, rate: int | None = None,
           tolerance_ms: float = TOLERANCE_MS, name: str = "replay", event_options: dict | None = None,
           timeout: float = 30.0, response=None) -> dict:
    """Replay a recording (WAV path, or a mono array with ``rate``) through the device's event logic and return
    the trace: {recording, sample_rate, block, classes, onset, window, pre, counters, steps, events, latency,
    score (with annotations), summary}. ``classifier`` is what the live host's worker runs (a .tinyrt path or IR);
    ``event_options`` are the live host's (window_ms, onset_hop, factor, floor, refractory_ms, n_mels, ...).
    ``trace`` and ``plot`` name the JSON and PNG to write. The device rate is the classifier's sample_rate (else
    ``rate``, else the recording's): a recording at another rate is refused. ``response`` names a two-channel WAV
    to write: the recording, and a 1 ms click at the first callback starting after each result (what the live
    host's ``--response`` plays), for ``tinyrt latency``."""
    from ..audio.latency import latency_stats
    from .events import EventEngine, load_classifier
    if int(block) < 1:
        raise InputError(f"the block size must be at least 1 sample, not {block}.")
    block = int(block)
    if not (math.isfinite(float(tolerance_ms)) and 0 < float(tolerance_ms) <= 1000):
        raise InputError(f"the onset tolerance must be a number of milliseconds above 0 and at most 1000, not "
                         f"{tolerance_ms}.")
    model = load_classifier(classifier)
    expected = getattr(model, "sample_rate", None) or rate
    x, sr = _check_recording(recording, rate, expected)
    engine = EventEngine(model, sr, name=name, **(event_options or {}))
    try:  # the engine's worker thread runs from here: closed on every way out (one engine per library at a time)
        classes = None if engine.classes is None else [c.item() if hasattr(c, "item") else c for c in engine.classes]
        ann = None if annotations is None else read_annotations(annotations, sr, len(x), classes)
        detected = _detector_onsets(engine, x, block)
        lib = engine._lib
        detect_at, dispatch_at, results = [], [], []
        before = engine.counters()
        t0 = time.monotonic()
        for i in range(0, len(x), block):
            while lib.ev_events_queued() >= 8:  # EV_EVENTS: offline waits for the worker where live drops
                time.sleep(0.0002)
            end = min(len(x), i + block)
            engine.process(x[i:end])
            now = engine.counters()
            detect_at += [end] * (now["detected"] - before["detected"])
            dispatch_at += [end] * (now["dispatched"] - before["dispatched"])
            before = now
            results += engine.results()
        until = time.monotonic() + timeout
        while engine.counters()["classified"] < engine.counters()["dispatched"] and time.monotonic() < until:
            time.sleep(0.0005)
        results += engine.results()
        counters = engine.counters()
    finally:
        engine.close()
    if len(detect_at) != len(detected) or len(results) != len(dispatch_at):
        raise InputError(f"the replay lost track of the engine ({len(detected)} onsets found by the detector, "
                         f"{len(detect_at)} counted by the callback, {len(results)} results of {len(dispatch_at)} "
                         f"dispatched); report this with the recording.")
    pre = int(getattr(engine, "pre", 0) or 0)
    detect_of = {int(o): int(s) for o, s in zip(detected, detect_at)}
    events, steps, predicted = [], [], {}
    for r, dsp in zip(results, dispatch_at):
        onset = r["onset"]
        start = dsp + (r["t_start"] - r["t_dispatch"]) * sr
        done = dsp + (r["t_result"] - r["t_dispatch"]) * sr
        label = r["label"] if r["label"] is not None else r["class"]
        predicted[onset] = label
        e = {"onset": onset, "detect_sample": detect_of.get(onset), "dispatch_sample": dsp,
             "window": [onset - pre, onset - pre + engine.window], "inference_start_sample": float(start),
             "inference_end_sample": float(done), "class": r["class"], "label": label, "probability": r["probability"],
             "t_detect": r["t_detect"] - t0, "t_dispatch": r["t_dispatch"] - t0, "t_start": r["t_start"] - t0,
             "t_result": r["t_result"] - t0, "inference_ms": (r["t_result"] - r["t_start"]) * 1e3,
             "queue_ms": (r["t_start"] - r["t_dispatch"]) * 1e3,
             "onset_to_result_ms": (done - onset) * 1e3 / sr,
             "detect_to_result_ms": (done - detect_of.get(onset, onset)) * 1e3 / sr}
        events.append(e)
        steps += [{"step": "dispatch", "sample": dsp, "onset": onset, "window": e["window"], "wall": e["t_dispatch"]},
                  {"step": "inference_start", "sample": e["inference_start_sample"], "onset": onset,
                   "wall": e["t_start"]},
                  {"step": "inference_end", "sample": e["inference_end_sample"], "onset": onset, "wall": e["t_result"]},
                  {"step": "result", "sample": e["inference_end_sample"], "onset": onset, "class": r["class"],
                   "label": label, "probability": r["probability"]}]
    by_onset = {e["onset"]: e for e in events}
    for o, s in zip(detected, detect_at):
        o = int(o)
        state = "dispatched" if o in predicted else ("pending" if o + engine.window - pre > len(x) else "busy")
        steps.append({"step": "onset", "sample": s, "onset": o, "state": state,
                      "wall": by_onset[o]["t_detect"] if o in by_onset else None})
    order = {"onset": 0, "dispatch": 1, "inference_start": 2, "inference_end": 3, "result": 4}
    steps.sort(key=lambda st: (st["sample"], st["onset"], order[st["step"]]))
    out = {"recording": str(recording) if not isinstance(recording, np.ndarray) else None, "sample_rate": sr,
           "samples": len(x), "block": block, "classifier": getattr(model, "name", None), "classes": classes,
           "onset": engine.onset, "window": engine.window, "pre": pre, "counters": counters,
           "onsets": [int(o) for o in detected], "steps": steps, "events": events,
           "latency": {"onset_to_result": latency_stats([e["onset_to_result_ms"] for e in events]),
                       "detect_to_result": latency_stats([e["detect_to_result_ms"] for e in events]),
                       "inference": latency_stats([e["inference_ms"] for e in events])}}
    if ann is not None:
        out["score"] = score_events(ann, detected, predicted, sr, tolerance_ms)
    out["summary"] = summary_line(out)
    if trace:
        write_json(trace, out, "replay trace")
    if plot:
        plot_replay(x, out, plot, annotations=ann)
    if response:
        from ..audio.io import write_wav
        clicks = np.zeros(len(x), np.float32)
        for e in events:
            at = int(math.ceil(e["inference_end_sample"] / block)) * block
            clicks[at:at + sr // 1000] = 0.5
        write_wav(response, np.stack([x, clicks], axis=1), sr)
    return out


def summary_line(result: dict) -> str:
    """Return the one-line summary of a replay."""
    c, lat = result["counters"], result["latency"]["onset_to_result"]
    text = (f"replay: {c['detected']} onsets, {c['dispatched']} classified, {c['busy']} busy"
            + (f"; onset->result mean {lat['mean_ms']:.1f} ms, max {lat['max_ms']:.1f} ms" if lat["count"] else ""))
    s = result.get("score")
    if s:
        acc = "n/a" if s["accuracy"] is None else f"{s['accuracy']:.3f} ({s['correct']}/{s['labelled_matched']})"
        text += (f"; onsets at +-{s['tolerance_ms']:g} ms: P {s['precision']:.3f} R {s['recall']:.3f} "
                 f"F {s['f_measure']:.3f}; accuracy {acc}")
    return text + "."


def plot_replay(audio, result: dict, path, annotations=None) -> Path:
    """Write the replay's picture: the signal with annotations, onsets and labelled results, and below it each
    event's timeline (window filling, queue, inference) in device time; return the path."""
    from ..audio.plots import pyplot
    from ..files import atomic_path
    plt = pyplot()
    sr = result["sample_rate"]
    x = np.asarray(audio, np.float32)
    fig, (ax, tl) = plt.subplots(2, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    step = max(1, len(x) // 20000)
    t = np.arange(len(x))[::step] / sr
    ax.plot(t, x[::step], lw=0.5, color="0.4")
    peak = float(np.max(np.abs(x))) or 1.0
    truth = {}
    for i, (s, label) in enumerate(annotations or []):
        ax.axvline(s / sr, color="tab:green", ls=":", lw=1, label="annotation" if i == 0 else None)
        truth[s] = label
    score = result.get("score") or {}
    verdict = {m["onset"]: m["label"] == m["predicted"] for m in score.get("matches", []) if m["label"] is not None}
    by_onset = {e["onset"]: e for e in result["events"]}
    for i, o in enumerate(result["onsets"]):
        ax.axvline(o / sr, color="tab:blue", lw=0.8, label="onset" if i == 0 else None)
        e = by_onset.get(o)
        text = "(busy)" if e is None else f"{e['label']}" + (f" {e['probability']:.2f}" if e["probability"] >= 0
                                                             else "")
        color = "black" if o not in verdict else ("tab:green" if verdict[o] else "tab:red")
        ax.text(o / sr, 0.97 - 0.07 * (i % 3), " " + text, fontsize=8, color=color, va="top",
                transform=ax.get_xaxis_transform())
    ax.set_ylabel("amplitude")
    head, _, rest = result["summary"].partition("; ")
    ax.set_title(head + (";\n" + rest if rest else ""), fontsize=8)
    ax.set_ylim(-1.25 * peak, 1.6 * peak)  # room above the signal for the labels
    ax.legend(loc="lower right", fontsize=7)
    for k, e in enumerate(result["events"]):
        o, d = e["onset"] / sr, e["dispatch_sample"] / sr
        a, b = e["inference_start_sample"] / sr, e["inference_end_sample"] / sr
        tl.plot([o, d], [k, k], color="0.7", lw=4, solid_capstyle="butt")
        tl.plot([d, a], [k, k], color="tab:orange", lw=4, solid_capstyle="butt")
        tl.plot([a, max(b, a + 0.5 / sr)], [k, k], color="tab:blue", lw=4, solid_capstyle="butt")
    tl.set_xlabel("time (s): window filling (grey), queued (orange), inference (blue)")
    tl.set_ylabel("event")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, "replay plot") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return path


__all__ = ["match_onsets", "plot_replay", "read_annotations", "replay", "score_events", "summary_line"]
