"""FeatureExtractor: feature frames from a stream fed in blocks of any size (trt_frames.h on the C runtime)."""
from __future__ import annotations

import ctypes

import numpy as np

from ..errors import InputError
from ._lib import KINDS, FeatureConfig, Framer, fft_size, library, positive, ptr, samples
from .mel import SparseBank, mel_filterbank
from .spectral import hop_size, log_params, plan, power_exponent, window_values

_SPECTRUMS = {"magnitude": 1, "power": 2}


class FeatureExtractor:
    """Streams audio into feature frames: window n_fft, hop samples apart, as trt_frames.h does on a device.

    ``features`` names the columns, in order: "log_mel" and "mel" (n_mels values each), "power"
    (n_fft // 2 + 1), "rms", "zcr", "centroid", "bandwidth", "rolloff", "flatness" (one each).
    ``process(block)`` takes any number of samples and returns the frames completed by them, the
    same frames as the off-line functions give for frame(audio, n_fft, hop). Centroid, bandwidth
    and rolloff use the ``spectrum`` ("magnitude", librosa's default, or "power"); log-mel clamps
    ``top_db`` per frame.
    """

    def __init__(self, sample_rate, n_fft: int = 512, hop=None, features=("log_mel",), *, n_mels: int = 40,
                 fmin: float = 0.0, fmax=None, htk: bool = False, norm="slaney", window="hann", power=2.0,
                 spectrum: str = "magnitude", log: str = "db", amin: float = 1e-10, top_db=80.0,
                 offset: float = 1e-6, rolloff: float = 0.85):
        self.sample_rate = positive(sample_rate, "the sample rate")
        self.n_fft = fft_size(n_fft)
        self.hop = hop_size(hop, self.n_fft)
        names = [features] if isinstance(features, str) else list(features)
        unknown = [f for f in names if f not in KINDS]
        if not names or unknown:
            what = f"unknown features {unknown}" if unknown else "no features were named"
            raise InputError(f"{what}; choose from {', '.join(KINDS)}.")
        if spectrum not in _SPECTRUMS:
            raise InputError(f"spectrum must be 'magnitude' or 'power', got {spectrum!r}.")
        if not 0.0 < rolloff <= 1.0:
            raise InputError(f"the rolloff fraction must be in (0, 1], got {rolloff!r}.")
        log_kind, amin, top_db, offset = log_params(log, amin, top_db, offset)
        self.bank = SparseBank(mel_filterbank(self.sample_rate, self.n_fft, n_mels, fmin, fmax, htk, norm))
        self.features = names
        self._plan = plan(self.n_fft)
        self._window = window_values(window, self.n_fft)
        self._kinds = np.array([KINDS[f] for f in names], np.int32)
        self._config = FeatureConfig(
            self._plan.struct, None if self._window is None else ptr(self._window), self.bank.struct,
            self.sample_rate, power_exponent(power), _SPECTRUMS[spectrum], log_kind, amin, top_db, offset,
            float(rolloff),
            amin, ptr(self._kinds), len(self._kinds))
        widths = {"power": self.n_fft // 2 + 1, "mel": self.bank.n_mels, "log_mel": self.bank.n_mels}
        self.names = [f"{f}_{i}" if f in widths else f for f in names for i in range(widths.get(f, 1))]
        self._ring = np.zeros(self.n_fft, np.float32)
        self._frame = np.zeros(self.n_fft, np.float32)
        self._scratch = np.zeros(self.n_fft + 2 + self.n_fft // 2 + 1, np.float32)
        self._framer = Framer()
        self.reset()

    @property
    def n_features(self) -> int:
        """Return the number of values in one feature frame."""
        return len(self.names)

    def reset(self) -> None:
        """Forget buffered samples: the next sample starts frame 0 again."""
        library().trt_dsp_framer_init(ctypes.byref(self._framer), ptr(self._ring), self.n_fft, self.hop)

    def process(self, block) -> np.ndarray:
        """Return the (frames completed by this block, n_features) float32 feature frames, keeping state."""
        x = np.asarray(block)
        if x.size == 0 and x.ndim == 1:
            return np.zeros((0, self.n_features), np.float32)
        x = samples(x, "the audio block")
        # the first frame takes `need` >= 1 samples, every further one hop: at most len // hop + 1 frames
        out = np.empty((len(x) // self.hop + 1, self.n_features), np.float32)
        count = library().trt_dsp_stream(ctypes.byref(self._config), ctypes.byref(self._framer), ptr(x), len(x),
                                         ptr(self._frame), ptr(self._scratch), ptr(out))
        return out[:count]
