"""Audio: file input/output, resampling, alignment of clean/processed pairs, metrics, plots, and features.

The feature functions (FFT, mel, filters, frame features, the streaming extractor) run the
hand-written C99 kernels (src/tinyrt/c/runtime/trt_fft.h, trt_mel.h, trt_biquad.h, trt_features.h,
trt_frames.h) that a device build includes, compiled once with tinyrt.c.build and loaded with
ctypes; arguments are checked here, so the C does no checks. Their results are parity-tested
against NumPy/SciPy.
"""
from ._lib import use_profile
from .align import align, detect_blips, detect_latency, latency_from_blips
from .features import (
                       rms,
                       spectral_bandwidth,
                       spectral_centroid,
                       spectral_flatness,
                       spectral_rolloff,
                       zero_crossing_rate,
)
from .filters import ema, sosfilt
from .io import read_wav, write_wav
from .mel import SparseBank, hz_to_mel, mel_filterbank, mel_to_hz
from .metrics import esr, mse, pair_metrics, pre_emphasis, verdict
from .resample import resample, to_mono
from .spectral import (
                       frame,
                       hann,
                       log_mel,
                       magnitude_spectrum,
                       mel_spectrogram,
                       power_spectrum,
                       power_to_db,
                       rfft,
                       spectrogram,
)
from .stream import FeatureExtractor

__all__ = ["align", "detect_blips", "detect_latency", "latency_from_blips", "read_wav", "write_wav", "resample",
           "to_mono", "esr", "mse", "pair_metrics", "pre_emphasis", "verdict",
           "FeatureExtractor", "SparseBank", "ema", "frame", "hann", "hz_to_mel", "log_mel", "magnitude_spectrum",
           "mel_filterbank", "mel_spectrogram", "mel_to_hz", "power_spectrum", "power_to_db", "rfft", "rms",
           "sosfilt", "spectral_bandwidth", "spectral_centroid", "spectral_flatness", "spectral_rolloff",
           "spectrogram", "use_profile", "zero_crossing_rate"]
