"""Audio and sensor features on the C runtime, parity-tested against NumPy/SciPy.

Every function runs the hand-written C99 kernels (src/tinyrt/c/trt_fft.h, trt_mel.h,
trt_biquad.h, trt_features.h, trt_frames.h) that a device build includes, compiled once with
tinyrt.c.build and loaded with ctypes; arguments are checked here, so the C does no checks.
"""
from ._lib import use_profile
from .features import (rms, spectral_bandwidth, spectral_centroid, spectral_flatness, spectral_rolloff,
                       zero_crossing_rate)
from .filters import ema, sosfilt
from .mel import SparseBank, hz_to_mel, mel_filterbank, mel_to_hz
from .spectral import (frame, hann, log_mel, magnitude_spectrum, mel_spectrogram, power_spectrum, power_to_db,
                       rfft, spectrogram)
from .stream import FeatureExtractor

__all__ = ["FeatureExtractor", "SparseBank", "ema", "frame", "hann", "hz_to_mel", "log_mel", "magnitude_spectrum",
           "mel_filterbank", "mel_spectrogram", "mel_to_hz", "power_spectrum", "power_to_db", "rfft", "rms",
           "sosfilt", "spectral_bandwidth", "spectral_centroid", "spectral_flatness", "spectral_rolloff",
           "spectrogram", "use_profile", "zero_crossing_rate"]
