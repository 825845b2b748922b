"""Model zoo benchmark: every block kind at a few sizes on every engine, checked against the reference.

Each (block, engine) pair first runs four calls on the reference's input and is timed only when its
output agrees (tinyrt.bench.zoo.bench_zoo); cells are mean microseconds per call of 64 frames
(one frame per sample at 48 kHz; transformer calls carry its tokens), one thread, flat out.
Pairs an engine cannot run show the reason. Writes bench-out/zoo.json and bench-out/zoo.txt.

    python benchmarks/zoo.py [--out bench-out] [--seconds 1] [--engines reference,c,onnxruntime,torch,torchscript]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from tinyrt.bench.zoo import DEFAULT_ENGINES, bench_zoo, zoo_table  # noqa: E402
from tinyrt.ir.layers import ACTIVATIONS  # noqa: E402

DEFAULT_SET = [
    "matvec:in=16,out=16", "matvec:in=64,out=64", "matvec:in=256,out=256",
    "matvec_int8:in=64,out=64", "matvec_int8:in=256,out=256",
    "matvec_sparse:in=256,out=256,density=0.1", "matvec_sparse:in=1024,out=1024,density=0.02",
    "conv1d:channels=16,kernel=3,dilation=2,groups=4", "conv1d:channels=32,kernel=5,dilation=8,groups=1",
    "lstm:input=1,hidden=16", "lstm:input=1,hidden=64", "gru:input=1,hidden=16", "gru:input=1,hidden=64",
    *[f"mlp:widths=16-64-64-16,activation={a}" for a in ACTIVATIONS],
    "transformer:d_model=32,heads=4,ff=64,tokens=64", "transformer:d_model=64,heads=8,ff=256,tokens=64",
    "mdn:in=32,mixtures=4,dims=2,scale=exp", "mdn:in=64,mixtures=8,dims=4,scale=softplus",
    "gaussian:latent=16", "gaussian:latent=64",
]


def main(argv=None) -> int:
    """Run the zoo over the default set and write bench-out/zoo.json and zoo.txt."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds of audio per block and engine")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"tinyrt model zoo: {len(DEFAULT_SET)} blocks on {args.engines}", flush=True)
    result = bench_zoo(DEFAULT_SET, args.engines.split(","), seconds=args.seconds,
                       log=lambda line: print(line, flush=True))
    result["machine"] = {"processor": platform.processor() or platform.machine(), "python": platform.python_version()}
    text = zoo_table(result)
    (out / "zoo.json").write_text(json.dumps(result, indent=1))
    (out / "zoo.txt").write_text(text + "\n")
    print(text)
    print(f"wrote {out / 'zoo.json'} and {out / 'zoo.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
