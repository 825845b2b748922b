"""The replay and latency verbs: a recording through the device's event logic on the PC (host-based simulation),
and end-to-end latency from a two-channel recording of an event and the system's response."""
from __future__ import annotations

import json


def cmd_replay(args) -> int:
    """Replay the recording through the event engine; print the one-line summary (and write trace/plot/JSON)."""
    from ..files import write_json
    from ..rt.replay import replay
    opts = {k: v for k, v in (("window_ms", args.window_ms), ("factor", args.onset_threshold),
                              ("floor", args.onset_floor), ("refractory_ms", args.refractory_ms),
                              ("n_mels", args.n_mels), ("history", args.onset_history)) if v is not None}
    result = replay(args.recording, args.classifier, annotations=args.annotations, block=args.block, trace=args.trace,
                    plot=args.plot, rate=args.rate, tolerance_ms=args.tolerance_ms, event_options=opts,
                    response=args.response)
    if args.json:
        doc = {k: result[k] for k in ("recording", "sample_rate", "block", "classes", "counters", "latency",
                                      "summary") if k in result}
        doc["score"] = {k: v for k, v in result.get("score", {}).items() if k != "matches"} or None
        write_json(args.json, doc, "replay summary")
    print(result["summary"])
    return 0


def cmd_latency(args) -> int:
    """Measure the latency distribution of the recording; print the one-line summary (and write JSON)."""
    from ..audio.latency import latency_file, summary_line
    from ..files import write_json
    report = latency_file(args.recording, input_channel=args.input_channel, output_channel=args.output_channel,
                          min_ms=args.min_ms, max_ms=args.max_ms, refractory_ms=args.refractory_ms,
                          factor=args.onset_threshold, floor_db=args.floor_db)
    if args.json:
        write_json(args.json, report, "latency report")
    print(summary_line(report))
    if args.verbose:
        print(json.dumps({k: v for k, v in report.items() if not k.endswith("_s")}))
    return 0


def add_parsers(sub) -> None:
    """Add the replay and latency verbs to the command's subparsers."""
    s = sub.add_parser("replay", help="replay a recording through the device's onset + classifier logic on the PC",
                       description="The live host's compiled event engine (onset detector, window capture, worker "
                                   "with the classifier's C) fed the recording block by block; a trace of every "
                                   "step, a plot, and scores against annotations.")
    s.add_argument("recording", help="mono WAV at the device's rate (16-bit PCM or float)")
    s.add_argument("--classifier", "--chain", required=True, help="the classifier the event worker runs (.tinyrt)")
    s.add_argument("--annotations", help="CSV of time (s) or sample, label: onset F-measure and accuracy")
    s.add_argument("--trace", help="write the trace of every step (JSON) here")
    s.add_argument("--plot", help="write the signal, onsets and results (PNG) here")
    s.add_argument("--json", help="write the summary and scores (JSON) here")
    s.add_argument("--response", help="write the recording and a click per result (two channels, for tinyrt "
                                      "latency) here")
    s.add_argument("--block", type=int, default=64, help="frames per callback (64)")
    s.add_argument("--rate", type=int, help="the device's rate when the classifier does not record one")
    s.add_argument("--tolerance-ms", type=float, default=20.0, help="onset match tolerance (+-20 ms)")
    g = s.add_argument_group("the device's event options (as tinyrt live takes them; defaults: the live host's)")
    g.add_argument("--onset-threshold", type=float, help="flux factor over its recent mean (4)")
    g.add_argument("--onset-floor", type=float, help="absolute flux floor (1e-4)")
    g.add_argument("--onset-history", type=int, help="hops of flux history the mean is taken over (16)")
    g.add_argument("--refractory-ms", type=float, help="no new onset for this long after one (150)")
    g.add_argument("--window-ms", type=float, help="audio classified from each onset (100 ms)")
    g.add_argument("--n-mels", type=int, help="mel bands of the classifier's features (20)")
    s.set_defaults(func=cmd_replay)

    s = sub.add_parser("latency", help="end-to-end latency from a recording of an event and the system's response",
                       description="Onsets of the event (input channel) and the response (output channel), found "
                                   "to a fraction of a sample and paired; prints count, mean, p50, p95, min, max, "
                                   "jitter (standard deviation) and the unmatched events.")
    s.add_argument("recording", help="WAV with the event and the response on two channels")
    s.add_argument("--json", help="write the report (every pair's latency) here")
    s.add_argument("--input-channel", type=int, default=1, help="channel of the physical event (1)")
    s.add_argument("--output-channel", type=int, default=2, help="channel of the system's response (2)")
    s.add_argument("--min-ms", type=float, default=0.0, help="a response is at least this late (0)")
    s.add_argument("--max-ms", type=float, default=500.0, help="and at most this late (500 ms)")
    s.add_argument("--refractory-ms", type=float, default=50.0, help="events (and responses) are at least this far "
                                                                      "apart (50 ms)")
    s.add_argument("--onset-threshold", type=float, default=4.0, help="flux factor over its recent mean (4)")
    s.add_argument("--floor-db", type=float, default=-20.0, help="ignore onsets this far below the loudest (-20 dB)")
    s.add_argument("--verbose", action="store_true", help="also print the report as JSON")
    s.set_defaults(func=cmd_latency)
