"""End-to-end latency from a recording: a physical event on one channel, the system's response on another.

Record the event (a pick, a drum hit, a button: a contact microphone or the instrument's own output) on the input
channel and what the system answers (its audio output, or a pin through a resistor divider) on the output channel,
then ``measure_latency(audio, sr)`` finds the onsets on both, pairs each input event with the first response after
it, and returns the latency distribution. Onsets are found in two steps: the energy-flux detector of
``tinyrt.audio.onsets`` (the C-parity one the live host runs) places each event within a hop of 128 samples, then
a picker refines it to a fraction of a sample: the first crossing, linearly interpolated, of a threshold set a
fixed fraction of the way from the level just before the event to its peak. Both channels use the same picker,
so for two events of the same attack shape the offset it adds cancels out of the latency.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .onsets import onsets

HOP = 128           # the coarse detector's hop (2.7 ms at 48 kHz), over a flux history of 32 hops
REL = 0.2           # the picker's threshold: this fraction of the way from the pre-event level to the peak


def pick_onsets(x, sr: int, *, refractory_ms: float = 50.0, factor: float = 4.0, floor_db: float = -20.0,
                rel: float = REL) -> np.ndarray:
    """Return the onsets of mono ``x`` as fractional sample positions (float64, increasing).

    Coarse: energy-flux onsets (hop 128, flux history 32 hops, at most one per ``refractory_ms``) whose flux
    exceeds ``factor`` times its recent mean and ``floor_db`` below the loudest hop's energy; then each is refined
    to the interpolated first crossing of a threshold ``rel`` of the way from the largest |x| of the 4 hops
    before it to the peak of the 3 hops around it.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(f"pick_onsets takes one channel (one dimension), not shape {x.shape}.")
    n_hops = len(x) // HOP
    if n_hops < 2:
        return np.zeros(0)
    peak_energy = float((x[:n_hops * HOP].reshape(n_hops, HOP) ** 2).mean(axis=1).max())
    if peak_energy <= 0.0:
        return np.zeros(0)
    floor = peak_energy * 10.0 ** (float(floor_db) / 10.0)
    coarse = onsets(x.astype(np.float32), sr, hop=HOP, history=32, factor=factor, floor=floor,
                    refractory_ms=refractory_ms)
    out = []
    a = np.abs(x)
    for c in coarse:
        lo, hi = max(0, c - HOP), min(len(x), c + 2 * HOP)
        before = a[max(0, lo - 4 * HOP):lo]
        base = float(before.max()) if before.size else 0.0
        top = float(a[lo:hi].max())
        if top <= base:
            continue
        thr = base + rel * (top - base)
        i = lo + int(np.argmax(a[lo:hi] > thr))
        prev = a[i - 1] if i > 0 else 0.0
        frac = (thr - prev) / (a[i] - prev) if a[i] > prev else 1.0
        out.append(i - 1 + float(np.clip(frac, 0.0, 1.0)))
    return np.asarray(out, dtype=np.float64)


def pair_events(inputs, outputs, sr: int, min_ms: float = 0.0, max_ms: float = 500.0) -> list:
    """Return [(input index, output index)]: each response belongs to the latest event at least min_ms and at most
    max_ms before it; the first response of an event pairs with it, so events without one (dropped responses)
    and further responses stay unpaired. Events must be further apart than the latency, as in any such rig."""
    lo, hi = float(min_ms) * sr / 1000.0, float(max_ms) * sr / 1000.0
    inputs = np.asarray(inputs, dtype=np.float64)
    pairs, used = [], set()
    for j, t in enumerate(outputs):
        i = int(np.searchsorted(inputs, t - lo, side="right")) - 1
        if i >= 0 and i not in used and t - inputs[i] <= hi:
            pairs.append((i, j))
            used.add(i)
    return pairs


def latency_stats(latencies_ms) -> dict:
    """Return count, mean, p50, p95, min, max and jitter (standard deviation) of latencies in ms (None if empty)."""
    v = np.asarray(latencies_ms, dtype=np.float64)
    if v.size == 0:
        return {"count": 0, **{k: None for k in ("mean_ms", "p50_ms", "p95_ms", "min_ms", "max_ms", "jitter_ms")}}
    return {"count": int(v.size), "mean_ms": float(v.mean()), "p50_ms": float(np.percentile(v, 50)),
            "p95_ms": float(np.percentile(v, 95)), "min_ms": float(v.min()), "max_ms": float(v.max()),
            "jitter_ms": float(v.std())}


def measure_latency(audio, sr: int, *, input_channel: int = 1, output_channel: int = 2, min_ms: float = 0.0,
                    max_ms: float = 500.0, refractory_ms: float = 50.0, factor: float = 4.0,
                    floor_db: float = -20.0) -> dict:
    """Return the latency report of a multi-channel recording (samples x channels): the statistics of
    ``latency_stats`` plus unmatched_inputs (events without a response), unmatched_outputs (responses without an
    event), the onsets found (seconds) and every pair's latency in ms. Channels are numbered from 1; the onset
    options (``refractory_ms``, ``factor``, ``floor_db``) are ``pick_onsets``'s, the same for both channels."""
    x = np.asarray(audio)
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError(f"a latency recording needs two channels (the event on one, the response on the other), "
                         f"not shape {x.shape}; record the input and the output together.")
    for name, ch in (("input", input_channel), ("output", output_channel)):
        if not 1 <= int(ch) <= x.shape[1]:
            raise InputError(f"the {name} channel is {ch}, but the recording has channels 1 to {x.shape[1]}.")
    if int(input_channel) == int(output_channel):
        raise InputError("the input and output channels are the same; give two different channels.")
    if not (0.0 <= float(min_ms) < float(max_ms)):
        raise InputError(f"the latency window must satisfy 0 <= min_ms < max_ms, not {min_ms} and {max_ms}.")
    opts = {"refractory_ms": refractory_ms, "factor": factor, "floor_db": floor_db}
    ins = pick_onsets(x[:, int(input_channel) - 1], sr, **opts)
    outs = pick_onsets(x[:, int(output_channel) - 1], sr, **opts)
    if ins.size == 0:
        raise InputError(f"no event found on the input channel {input_channel}: it is silent or holds no onset; "
                         f"check the channel order and the recording level.")
    pairs = pair_events(ins, outs, sr, min_ms, max_ms)
    lat = [(outs[j] - ins[i]) * 1000.0 / sr for i, j in pairs]
    return {**latency_stats(lat), "unmatched_inputs": len(ins) - len(pairs),
            "unmatched_outputs": len(outs) - len(pairs), "sample_rate": int(sr),
            "inputs_s": [float(t / sr) for t in ins], "outputs_s": [float(t / sr) for t in outs],
            "latencies_ms": [float(v) for v in lat]}


def latency_file(path, **options) -> dict:
    """Return ``measure_latency`` of a WAV recording (see there for the options), with its path."""
    from .io import read_wav
    audio, sr = read_wav(path)
    return {"recording": str(path), **measure_latency(audio, sr, **options)}


def summary_line(report: dict) -> str:
    """Return the one-line summary of a latency report."""
    r = report
    if not r["count"]:
        return (f"latency: no response paired with any of {r['unmatched_inputs']} event(s) "
                f"({r['unmatched_outputs']} unpaired response(s)).")
    return (f"latency: {r['count']} pairs, mean {r['mean_ms']:.3f} ms, p50 {r['p50_ms']:.3f} ms, p95 "
            f"{r['p95_ms']:.3f} ms, min {r['min_ms']:.3f} ms, max {r['max_ms']:.3f} ms, "
            f"jitter {r['jitter_ms']:.3f} ms; "
            f"unmatched: {r['unmatched_inputs']} event(s), {r['unmatched_outputs']} response(s).")
