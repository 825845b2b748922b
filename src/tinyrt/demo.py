"""`tinyrt demo`: the whole path on built-in data, from a PyTorch model to a proven C engine.

Steps: build a guitar-effect-shaped PyTorch model (LSTM-16 + dense head + input skip, weights
from a fixed seed), import it, save the `.tinyrt` file, export it to C, ONNX, RTNeural JSON and
TorchScript, prove every engine against the reference (parity, split invariance, C real-time
safety), render a test signal through the C engine, and time the engines on 64-sample blocks.
Everything lands in the output folder with `report.json` and `report.txt`.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np

from .backends import backend, export
from .errors import DependencyError


def _log(msg: str) -> None:
    print(msg, flush=True)


def _torch_model():
    """Return the demo's PyTorch module: LSTM-16 -> dense, plus the input (the CoreAudioML shape)."""
    import torch

    class Pedal(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rec = torch.nn.LSTM(1, 16, batch_first=True)
            self.lin = torch.nn.Linear(16, 1)

        def forward(self, x):
            y, _ = self.rec(x)
            return self.lin(y) + x

    torch.manual_seed(0)
    return Pedal().eval()


def _time_engine(model, name: str, frames: np.ndarray, block: int = 64) -> float:
    """Return the median ns per sample of an engine over frames in host blocks."""
    from .backends.c import harness
    if name == "c":
        t = harness.time(model, len(frames), block, 5, profile="native")
        return statistics.median(t["pass_ns"]) / (len(frames) // block * block)
    engine = backend(model, name)
    passes = []
    for _ in range(3):
        engine.reset()
        t0 = time.perf_counter()
        for i in range(0, len(frames) - block + 1, block):
            engine.process(frames[i:i + block])
        passes.append((time.perf_counter() - t0) / (len(frames) // block * block) * 1e9)
    return statistics.median(passes)


def run_demo(out: Path, quick: bool = False) -> int:
    """Run the demo into folder `out` and return the exit code (0 when every proof passed)."""
    from . import from_torch
    from .audio import write_wav
    from .backends.verify import audio_signal, signal_frames, verify

    try:
        import torch
    except ImportError:
        raise DependencyError("the demo needs PyTorch; run `make demo`, which installs it.") from None
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    seconds = 0.5 if quick else 3.0
    t_start = time.perf_counter()

    _log("[1/6] building the PyTorch model (LSTM-16 + dense + input skip) and importing it")
    module = _torch_model()
    example = torch.from_numpy(audio_signal(4800, 48000.0)).reshape(1, -1, 1)
    model = from_torch(module, example, sample_rate=48000.0, name="demo_pedal")
    path = model.save(out / "demo_pedal.tinyrt")
    _log(model.summary())

    _log("[2/6] exporting: C sources, ONNX, RTNeural JSON, TorchScript")
    files = {fmt: str(export(model, fmt, out / target, **opts)) for fmt, target, opts in
             (("c", "c", {}), ("onnx", "demo_pedal.onnx", {}),
              ("rtneural", "demo_pedal.rtneural.json", {"skip": "strip"}), ("torch", "demo_pedal.pt", {}))}

    _log(f"[3/6] proving parity on {seconds:g} s of test audio in random block splits")
    report = verify(model, ("c", "onnxruntime", "torch"), seconds=seconds)
    _log(report.table())

    _log("[4/6] rendering the test signal through the C engine")
    frames = signal_frames(model, seconds, seed=3)
    audio = frames[:, 0]
    rendered = backend(model, "c")(audio, 48000)
    write_wav(out / "input.wav", audio, 48000)
    write_wav(out / "output_c.wav", rendered, 48000)

    _log("[5/6] timing the engines on 64-sample host blocks (one thread)")
    timing = {name: _time_engine(model, name, frames) for name in ("c", "onnxruntime", "torch")}
    budget_ns = 64 / 48000 * 1e9
    for name, ns in timing.items():
        _log(f"  {name:<12} {ns:9.1f} ns/sample   load at 48 kHz / 64: {100 * ns * 64 / budget_ns:6.2f} %")

    _log("[6/6] writing the report")
    result = {"model": str(path), "summary": model.summary(), "exports": files, "verification": report.to_json(),
              "ns_per_sample_block64": timing, "seconds": round(time.perf_counter() - t_start, 1)}
    (out / "report.json").write_text(json.dumps(result, indent=1))
    (out / "report.txt").write_text(model.summary() + "\n\n" + report.table() + "\n\n" + "\n".join(
        f"{k:<12} {v:9.1f} ns/sample at 64-sample blocks" for k, v in timing.items()) + "\n")
    _log(f"done in {result['seconds']} s: {out / 'report.txt'}")
    return 0 if report.passed else 1

