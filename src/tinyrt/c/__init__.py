"""The hand-written C99 runtime (headers in this folder) and the toolchains that build it."""
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent


def runtime_headers() -> dict:
    """Return {file name: text} of every runtime header."""
    return {p.name: p.read_text() for p in sorted(RUNTIME_DIR.glob("trt_*.h"))}
