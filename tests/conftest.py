"""Shared test setup: single-threaded math libraries and a compiled-model cache inside the repo."""
import os
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("TINYRT_CACHE", str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "tinyrt"))
