"""Audio: file input/output, resampling and alignment of clean/processed pairs."""
from .align import align, detect_blips, detect_latency, latency_from_blips
from .io import read_wav, write_wav
from .resample import resample, to_mono

__all__ = ["align", "detect_blips", "detect_latency", "latency_from_blips", "read_wav", "write_wav", "resample",
           "to_mono"]
