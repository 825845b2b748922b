"""Measure a trained model on paired audio with any engine: ESR, pre-emphasised ESR, MSE, verdict."""
from __future__ import annotations

import numpy as np

from ..audio.metrics import pair_metrics
from ..errors import InputError


def run_pairs(model, pairs, engine: str = "c", knobs: dict | None = None) -> list:
    """Return the model's output for each pair's clean audio on an engine, reset before each pair.

    Frames go straight to the engine (no host-block adapter), so the output has no added latency;
    a tail shorter than one model block is passed through unchanged. A model with knob inputs runs with
    its knobs at ``knobs`` ({name: value}) or their defaults.
    """
    from ..backends import backend
    if model.in_channels != 1 + len(model.params) or model.out_channels != 1:
        raise InputError(f"{model.name} is not a mono effect model ({model.in_channels} in, "
                         f"{model.out_channels} out); eval measures mono audio effects.")
    runner, b = backend(model, engine), model.block_size
    for name, value in (knobs or {}).items():
        runner.set_param(name, value)
    outs = []
    for p in pairs:
        runner.reset()
        n = len(p.clean) // b * b
        y = runner.process(np.asarray(p.clean[:n], np.float32).reshape(-1, b)).reshape(-1)
        outs.append(np.concatenate([y, np.asarray(p.clean[n:], np.float32)]))
    return outs


def evaluate(model, pairs, engine: str = "c", warmup: int = 1000, pre_emphasis: float = 0.85,
             knobs: dict | None = None) -> dict:
    """Return ESR, pre-emphasised ESR, MSE and the verdict of a model over pairs on an engine (knobs: {name: value})."""
    if not pairs:
        raise InputError("there is no audio to evaluate on.")
    outs = run_pairs(model, pairs, engine, knobs)
    metrics = pair_metrics(outs, [p.target for p in pairs], skip=warmup, coeff=pre_emphasis)
    metrics.update({"engine": engine, "pairs": len(pairs), "warmup_samples_excluded": warmup})
    if model.params:
        metrics["knobs"] = {k.name: float((knobs or {}).get(k.name, k.default)) for k in model.params}
    return metrics


SEARCH = 2                  # integer lags either side of the base latency whose ESR is measured
MAX_SEARCH = 8              # auto: the search widens up to this many samples while the minimum is at its edge
MUCH_LOWER = 0.7            # a neighbouring lag "much lower": its ESR below this fraction of the applied lag's
SAME_RIG = 2                # samples: a detected latency this close to the stored one is the same rig


def stored_capture(model) -> dict | None:
    """Return the capture latency stored in a model's metadata when it is usable at its sample rate, else None."""
    capture = (model.metadata or {}).get("capture")
    if not isinstance(capture, dict) or not isinstance(capture.get("latency"), int) or capture["latency"] < 0:
        return None
    rate = capture.get("sample_rate")
    if model.sample_rate and rate and float(rate) != float(model.sample_rate):
        return None
    return capture


def parse_latency(text) -> str | int | None:
    """Return the --latency choice: None (default), "auto", "stored" or a whole number of samples."""
    if text is None or text in ("auto", "stored"):
        return text
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise InputError(f"--latency must be auto, stored or a whole number of samples (0 or more), got {text!r}.")
    return value


def _describe(capture: dict) -> str:
    confidence = capture.get("confidence")
    sure = f", confidence {confidence:g}" if isinstance(confidence, (int, float)) else ""
    return f"{capture['method']}{sure}"


def resolve_latency(model, clean, target, choice=None, max_latency: float = 0.1, labels=("clean", "target")) -> dict:
    """Return the base latency to apply to a pair and where it came from, without the model's search.

    choice None: the model's stored latency when the pair's detected one is within SAME_RIG samples of
    it (the same rig), else the detected one; "auto": detected; "stored": stored; an int: that.
    Returns {"latency", "source", "search": bool (whether the model's ESR may move it), "stored",
    "detected", "warnings"}.
    """
    from ..audio.align import capture_latency
    rate = float(model.sample_rate or 48000)
    stored = stored_capture(model)
    if choice == "stored" and stored is None:
        raise InputError(f"{model.name} has no stored capture latency (it was not trained by tinyrt from aligned "
                         f"audio); use --latency auto or a number of samples.")
    detected, warnings = None, []
    try:
        found = capture_latency(clean, target, rate, max_latency, labels=labels)
        detected = {"latency": found.samples, "method": found.method, "confidence": round(found.confidence, 3)}
    except InputError:
        if choice in (None, "auto"):
            raise
    if isinstance(choice, int) and not isinstance(choice, bool):
        base, source, search = choice, "given with --latency", False
    elif choice == "stored" or (choice is None and stored is not None and detected is not None
                                and abs(detected["latency"] - stored["latency"]) <= SAME_RIG):
        base, source, search = stored["latency"], f"stored in the model ({_describe(stored)})", False
    else:
        base, search = detected["latency"], True
        source = f"the model's lowest ESR around {base} samples detected on this pair ({_describe(detected)})"
        if stored is not None:
            source += f"; the model's stored {stored['latency']} is for another rig"
    if stored is not None and detected is not None and detected["latency"] != stored["latency"]:
        warnings.append(f"the latency detected on this pair ({detected['latency']} samples, {detected['method']}) "
                        f"differs from the model's stored {stored['latency']} ({stored['method']}); "
                        f"check the ESR by lag, or use --latency auto")
    return {"latency": base, "source": source, "search": search, "stored": stored, "detected": detected,
            "warnings": warnings}


def _fragment_starts(clean, length: int, n: int, silence_db: float = -50.0) -> list:
    """Return the start of every fragment of clean[:n] of `length` samples that is not silent."""
    floor = 10.0 ** (silence_db / 20.0)
    starts = [i * length for i in range(n // length)]
    return [s for s in starts if np.sqrt(np.mean(np.square(clean[s:s + length], dtype=np.float64))) >= floor]


def evaluate_recording(model, clean, target, engine: str = "c", latency=None, fragment_seconds: float = 1.0,
                       warmup: int = 1000, pre_emphasis: float = 0.85, max_latency: float = 0.1,
                       labels=("clean", "target"), knobs: dict | None = None) -> dict:
    """Return the metrics of a model on a new clean/processed recording, with how it was aligned.

    ``knobs`` ({name: value}) sets a knob model's knobs (the others at their defaults).

    The base latency comes from ``resolve_latency``; the model runs once on the clean audio (cut
    into fragments, reset before each) and its ESR is measured against the target at every lag
    within SEARCH samples of the base. When the latency was detected (not stored or given), the
    lag of the lowest ESR is applied (the search widens up to MAX_SEARCH while the minimum is at
    its edge), and when the ESR curve's minimum lies between two samples a half-sample
    fractional delay of the target is tried too. The result has "alignment": applied lag, source,
    ESR by lag, warnings.
    """
    from ..audio.align import advance
    from ..data.pairs import Pair
    c = np.asarray(clean, np.float64).reshape(-1)
    t = np.asarray(target, np.float64).reshape(-1)
    resolved = resolve_latency(model, c, t, latency, max_latency, labels)
    base = resolved["latency"]
    reach = MAX_SEARCH if resolved["search"] else SEARCH
    length = int(round(fragment_seconds * model.sample_rate))
    n = min(len(c), len(t) - base - reach - 1)
    starts = _fragment_starts(c, length, n)
    if not starts:
        raise InputError(f"{labels[0]} has no {fragment_seconds:g} s fragment above -50 dBFS after removing "
                         f"{base} samples of latency; give a longer or louder recording.")
    fragments = [c[s:s + length].astype(np.float32) for s in starts]
    if callable(engine):                      # a stand-in for an engine: fragments in, outputs out (tests)
        outs, engine = [np.asarray(engine(x), np.float64) for x in fragments], getattr(engine, "__name__", "callable")
    else:
        outs = run_pairs(model, [Pair("", "", x, None) for x in fragments], engine, knobs)
    shifted = {}

    def at(lag: float) -> dict:
        if lag not in shifted:
            source = t if float(lag).is_integer() else advance(t, lag - np.floor(lag))
            offset = int(np.floor(lag)) if not float(lag).is_integer() else int(lag)
            targets = [source[offset + s:offset + s + length] if offset + s >= 0 else None for s in starts]
            shifted[lag] = (pair_metrics(outs, targets, skip=warmup, coeff=pre_emphasis)
                            if all(x is not None and len(x) == length for x in targets) else None)
        return shifted[lag]

    def esr_at(lag: float) -> float:
        m = at(lag)
        return m["esr"] if m is not None else float("inf")

    lags = list(range(max(base - SEARCH, 0), base + SEARCH + 1))
    chosen = base
    if resolved["search"]:
        chosen = min(lags, key=esr_at)
        while chosen in (lags[0], lags[-1]) and abs(chosen - base) < MAX_SEARCH and chosen > 0:
            lags = sorted(set(lags) | {chosen - 1, chosen + 1} - {-1})
            chosen = min(lags, key=esr_at)
        chosen = _fractional(chosen, esr_at)
    anchor = int(np.floor(chosen))
    shown = {lag for lag in range(max(anchor - SEARCH, 0), anchor + SEARCH + 1) if lag <= base + reach}
    by_lag = {lag: esr_at(lag) for lag in sorted(shown | set(lags) | {chosen})}
    metrics = dict(at(chosen))
    warnings = list(resolved["warnings"])
    neighbours = [lag for lag in (chosen - 1, chosen + 1) if lag >= 0]
    best = min(neighbours, key=esr_at) if neighbours else None
    if best is not None and esr_at(best) < MUCH_LOWER * metrics["esr"]:
        warnings.append(f"the ESR at lag {best:g} ({esr_at(best):.4g}) is much lower than at the applied lag "
                        f"{chosen:g} ({metrics['esr']:.4g}); the latency is likely off by one sample: "
                        f"try --latency {best:g}" + (" or --latency auto" if not resolved["search"] else ""))
    metrics.update({"engine": engine, "pairs": len(starts), "warmup_samples_excluded": warmup,
                    "alignment": {"latency": chosen, "source": resolved["source"], "base": base,
                                  "stored": resolved["stored"], "detected": resolved["detected"],
                                  "esr_by_lag": {f"{k:g}": v for k, v in sorted(by_lag.items())},
                                  "warnings": warnings}})
    if model.params:
        metrics["knobs"] = {k.name: float((knobs or {}).get(k.name, k.default)) for k in model.params}
    return metrics


def _fractional(lag: int, esr_at) -> float:
    """Return lag, or a fractional lag next to it when the ESR curve's minimum lies between two samples.

    The parabola through the ESR at lag-1, lag, lag+1 says on which side and how far the minimum is;
    when it is at least a tenth of a sample away, the half-sample delay on that side is measured, then
    the vertex of the parabola through lag, lag +- 0.5, lag +- 1 (to 0.05 sample); the lowest wins.
    """
    left, mid, right = esr_at(lag - 1) if lag > 0 else float("inf"), esr_at(lag), esr_at(lag + 1)
    curve = left - 2 * mid + right
    vertex = 0.5 * (left - right) / curve if np.isfinite(curve) and curve > 0 else 0.0
    if abs(vertex) < 0.1:
        return lag
    side = 1.0 if vertex > 0 else -1.0
    if lag + side < 0:
        return lag
    half, far = esr_at(lag + 0.5 * side), esr_at(lag + side)
    curve = 4.0 * (mid - 2.0 * half + far)                    # parabola through offsets 0, 0.5, 1 on that side
    offset = (3.0 * mid - 4.0 * half + far) / curve if curve > 0 else 0.5
    candidates = [lag, lag + 0.5 * side]
    offset = round(min(max(offset, 0.05), 0.95) / 0.05) * 0.05
    candidates.append(round(lag + side * offset, 2))
    return min(candidates, key=esr_at)


def alignment_lines(alignment: dict) -> tuple:
    """Return (the line saying which latency was applied and why, the ESR-by-lag line, warning lines)."""
    lag = alignment["latency"]
    detected = alignment["detected"]
    seen = (f"; detected on this pair: {detected['latency']} ({detected['method']})"
            if detected is not None and "detected on this pair" not in alignment["source"] else "")
    first = f"latency applied: {lag:g} samples, {alignment['source']}{seen}"
    cells = []
    for key, value in alignment["esr_by_lag"].items():
        cell = f"{key}: {value:.4g}" if np.isfinite(value) else f"{key}: -"
        cells.append(f"[{cell}]" if float(key) == float(lag) else cell)
    return first, "ESR by lag (samples): " + ", ".join(cells), list(alignment["warnings"])


def align_to_model(model, clean, target, choice=None) -> tuple:
    """Return (clean, target, line): a pair trimmed by the latency bench applies, and the line that says it.

    choice None: the model's stored capture latency, else none (the pair is taken as aligned);
    "stored", "auto" (detected on the pair, model-free) or a number of samples as for eval.
    """
    c, t = np.asarray(clean), np.asarray(target)
    if choice is None and stored_capture(model) is None:
        return clean, target, ("latency applied to the target: none (the model stores no capture latency; "
                               "--latency auto detects one)")
    if c.ndim > 1 and c.shape[1] != 1 or t.ndim > 1 and t.shape[1] != 1:
        raise InputError("--latency aligns mono pairs only; give mono input and target files.")
    mono_c, mono_t = c.reshape(-1).astype(np.float64), t.reshape(-1).astype(np.float64)
    resolved = resolve_latency(model, mono_c, mono_t, "stored" if choice is None else choice)
    lag = resolved["latency"]
    if lag >= len(t) - 1:
        raise InputError(f"a latency of {lag} samples leaves nothing of the target; check --latency.")
    n = min(len(c), len(t) - lag)
    line = f"latency applied to the target: {lag} samples, {resolved['source']}"
    for warning in resolved["warnings"]:
        line += f"\ntinyrt: warning: {warning}."
    return clean[:n], target[lag:lag + n], line
