"""Audio: file input/output and signal helpers."""
from .io import read_wav, write_wav

__all__ = ["read_wav", "write_wav"]
