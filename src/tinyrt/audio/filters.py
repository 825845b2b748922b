"""Streaming filters on the C runtime (trt_biquad.h): biquad cascades (scipy.signal.sosfilt) and the EMA."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._lib import library, positive, ptr, samples


def sosfilt(sos, x, zi=None):
    """Return scipy.signal.sosfilt(sos, x) as float32, or (y, zf) when the state zi (n_sections, 2) is given.

    Passing each call's zf as the next call's zi filters a stream in blocks with exactly the
    output of one call.
    """
    s = samples(sos, "sos", ndim=2, kinds="iuf")
    if s.shape[1] != 6:
        raise InputError(f"sos must have shape (n_sections, 6) (b0 b1 b2 a0 a1 a2 per row), got {s.shape}.")
    if not (s[:, 3] == 1.0).all():
        raise InputError("every section's a0 (sos[:, 3]) must be 1; divide each row by its a0, "
                         "as scipy.signal.butter(..., output='sos') already does.")
    y = samples(x, "the signal", ndim=1).copy()
    state = np.zeros((len(s), 2), np.float32)
    if zi is not None:
        state = samples(zi, "zi", ndim=None, kinds="iuf").copy()
        if state.shape != (len(s), 2):
            raise InputError(f"zi must have shape ({len(s)}, 2) (two state values per section), got {state.shape}.")
    library().trt_dsp_sosfilt(ptr(s), len(s), ptr(state), ptr(y), ptr(y), len(y))
    return y if zi is None else (y, state)


def ema(x, alpha: float, zi=None):
    """Return the exponential moving average y[n] = y[n-1] + alpha (x[n] - y[n-1]) as float32.

    It equals scipy.signal.lfilter([alpha], [1, alpha - 1], x). zi is the output before the first
    sample (0 by default); when it is given, (y, zf) is returned with zf = y[-1] for the next call.
    """
    if not 0.0 < positive(alpha, "alpha") <= 1.0:
        raise InputError(f"alpha must be in (0, 1], got {alpha!r}.")
    y = samples(x, "the signal", ndim=1).copy()
    state = np.zeros(1, np.float32)
    if zi is not None:
        state = samples(np.reshape(zi, -1), "zi", ndim=1, kinds="iuf").copy()
        if state.shape != (1,):
            raise InputError(f"zi of the moving average is one value (the previous output), got shape "
                             f"{np.shape(zi)}.")
    library().trt_dsp_ema(ptr(state), float(alpha), ptr(y), ptr(y), len(y))
    return y if zi is None else (y, state)
