"""tinyrt.audio features: the C DSP kernels against NumPy/SciPy and hand-written NumPy references, streaming,
refusals."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss

from tinyrt import audio as dsp
from tinyrt.c import HOST_DIR, RUNTIME_DIR
from tinyrt.c.build import build, compiler
from tinyrt.errors import InputError

SR = 16000


def _audio(n=6000, seed=0):
    """A tone plus growing noise with a stretch of digital silence: every feature has work to do."""
    r = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * r.normal(size=n) * np.linspace(0, 1, n)
    x[n // 3:n // 3 + 700] = 0.0
    return x.astype(np.float32)


# ---------- FFT, window, spectra ----------

@pytest.mark.parametrize("n", [4, 8, 64, 512, 4096])
def test_rfft_matches_numpy(n):
    x = np.random.default_rng(n).normal(size=(2, 3, n)).astype(np.float32)
    got, ref = dsp.rfft(x), np.fft.rfft(x.astype(np.float64))
    assert got.shape == ref.shape == (2, 3, n // 2 + 1) and got.dtype == np.complex64
    assert np.abs(got - ref).max() <= 1e-6 * np.abs(ref).max()  # measured <= 1.6e-7


def test_hann_window_and_windowed_spectra_match_scipy():
    for n in (2, 7, 512):
        assert np.abs(dsp.hann(n) - ss.get_window("hann", n)).max() <= 3e-7
    x = np.random.default_rng(1).normal(size=(5, 512)).astype(np.float32)
    ref = np.fft.rfft(x.astype(np.float64) * ss.get_window("hann", 512))
    scale = np.abs(ref).max()
    assert np.abs(dsp.rfft(x, window="hann") - ref).max() <= 1e-6 * scale
    assert np.abs(dsp.power_spectrum(x, "hann") - np.abs(ref) ** 2).max() <= 2e-6 * scale ** 2
    assert np.abs(dsp.magnitude_spectrum(x, "hann") - np.abs(ref)).max() <= 1e-6 * scale
    custom = np.linspace(0, 1, 512)
    assert np.abs(dsp.rfft(x, window=custom) - np.fft.rfft(x * custom)).max() <= 1e-6 * scale


# ---------- mel ----------

def _ref_hz_to_mel(f, htk):
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    return f * 3.0 / 200.0 if f < 1000.0 else 15.0 + 27.0 * np.log(f / 1000.0) / np.log(6.4)


def _ref_mel_to_hz(m, htk):
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return m * 200.0 / 3.0 if m < 15.0 else 1000.0 * 6.4 ** ((m - 15.0) / 27.0)


def _ref_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    """Triangles between consecutive edges equally spaced in mel; Slaney norm divides by half the width."""
    mels = np.linspace(_ref_hz_to_mel(fmin, htk), _ref_hz_to_mel(fmax, htk), n_mels + 2)
    edges = [_ref_mel_to_hz(m, htk) for m in mels]
    bank = np.zeros((n_mels, n_fft // 2 + 1))
    for b in range(n_mels):
        lo, mid, hi = edges[b:b + 3]
        for k in range(n_fft // 2 + 1):
            f = k * sr / n_fft
            w = (f - lo) / (mid - lo) if lo < f <= mid else (hi - f) / (hi - mid) if mid < f < hi else 0.0
            bank[b, k] = w * (2.0 / (hi - lo) if norm == "slaney" else 1.0)
    return bank


@pytest.mark.parametrize("sr, n_fft, n_mels, fmin, fmax", [(16000, 512, 40, 0.0, 8000.0),
                                                           (22050, 2048, 64, 20.0, 8000.0)])
@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_matches_a_hand_written_reference(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    got = dsp.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk, norm=norm)
    ref = _ref_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.abs(got - ref).max() <= 1e-7 * ref.max()
    np.testing.assert_array_equal(dsp.SparseBank(got).dense(), got)


def test_mel_filterbank_known_weights_sr16000_nfft512_40_bands():
    """Values also given by librosa 0.11 filters.mel for this case (checked once, outside the test suite)."""
    slaney = dsp.mel_filterbank(16000, 512, 40)
    for band, first, last, peak_bin, peak in [(0, 1, 4, 2, 0.011547202), (20, 53, 60, 56, 0.0072597903),
                                              (39, 220, 255, 237, 0.0017454237)]:
        nonzero = np.flatnonzero(slaney[band])
        assert (nonzero[0], nonzero[-1], slaney[band].argmax()) == (first, last, peak_bin)
        assert slaney[band].max() == pytest.approx(peak, rel=1e-6)
    htk = dsp.mel_filterbank(16000, 512, 40, htk=True, norm=None)
    np.testing.assert_array_equal(np.flatnonzero(htk[10]), np.arange(20, 25))
    np.testing.assert_allclose(htk[10, 20:25], [0.37435523, 0.7552357, 0.8719981, 0.5138229, 0.15564774],
                               rtol=1e-6)
    assert dsp.hz_to_mel(1000.0) == pytest.approx(15.0) and dsp.mel_to_hz(15.0) == pytest.approx(1000.0)
    assert dsp.mel_to_hz(dsp.hz_to_mel(6400.0, htk=True), htk=True) == pytest.approx(6400.0)


def _ref_frames(x, n, hop):
    return np.stack([x[i:i + n] for i in range(0, len(x) - n + 1, hop)]).astype(np.float64)


def _ref_mel(x, n_fft, hop, **bank):
    power = np.abs(np.fft.rfft(_ref_frames(x, n_fft, hop) * ss.get_window("hann", n_fft))) ** 2
    return power @ _ref_filterbank(SR, n_fft, fmin=0.0, fmax=SR / 2, **bank).T


def test_mel_and_log_mel_spectrograms_match_numpy():
    x = _audio()
    ref = _ref_mel(x, 512, 160, n_mels=40, htk=False, norm="slaney")
    mel = dsp.mel_spectrogram(x, SR, 512, 160)
    assert mel.shape == ref.shape == (1 + (len(x) - 512) // 160, 40)
    assert np.abs(mel - ref).max() <= 2e-6 * ref.max()  # measured 3e-7
    # 10 log10(max(S, amin)), clamped per frame at top_db below the frame's maximum
    db = 10 * np.log10(np.maximum(ref, 1e-10))
    db = np.maximum(db, db.max(axis=1, keepdims=True) - 80.0)
    assert np.abs(dsp.log_mel(x, SR, 512, 160) - db).max() <= 1e-4  # measured 3.5e-5 dB
    assert np.abs(dsp.log_mel(x, SR, 512, 160, top_db=None) - 10 * np.log10(np.maximum(ref, 1e-10))).max() <= 1e-4
    assert np.abs(dsp.log_mel(x, SR, 512, 160, log="ln", offset=1e-3) - np.log(ref + 1e-3)).max() <= 1e-5
    htk = _ref_mel(x, 256, 256, n_mels=20, htk=True, norm=None)
    got = dsp.mel_spectrogram(x, SR, 256, 256, n_mels=20, htk=True, norm=None)
    assert np.abs(got - htk).max() <= 2e-6 * htk.max()
    # power_to_db on a whole array clamps against the whole array's maximum, as librosa.power_to_db
    whole = 10 * np.log10(np.maximum(ref, 1e-10))
    assert np.abs(dsp.power_to_db(mel) - np.maximum(whole, whole.max() - 80.0)).max() <= 1e-4


# ---------- filters ----------

SOS_CASES = {"lowpass": ss.butter(8, 1000, fs=SR, output="sos"),
             "bandpass": ss.butter(8, [300, 3000], btype="bandpass", fs=SR, output="sos")}


@pytest.mark.parametrize("case", sorted(SOS_CASES))
def test_sosfilt_matches_scipy_and_streams_bit_exactly(case):
    sos = SOS_CASES[case]
    x = np.random.default_rng(3).normal(size=20000).astype(np.float32)
    ref = ss.sosfilt(sos, x.astype(np.float64))
    whole = dsp.sosfilt(sos, x)
    assert np.abs(whole - ref).max() <= 2e-5 * np.abs(ref).max()  # measured 1.4e-6 / 3.0e-6 of the peak
    rng = np.random.default_rng(4)
    cuts = np.sort(rng.choice(np.arange(1, len(x)), 40, replace=False))
    zi, parts = np.zeros((len(sos), 2)), []
    for block in np.split(x, cuts):
        y, zi = dsp.sosfilt(sos, block, zi)
        parts.append(y)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    start = ss.sosfilt_zi(sos) * 0.5
    y, zf = dsp.sosfilt(sos, x[:3000], start)
    y_ref, zf_ref = ss.sosfilt(sos, x[:3000].astype(np.float64), zi=start)
    assert np.abs(y - y_ref).max() <= 2e-5 * np.abs(y_ref).max() and np.abs(zf - zf_ref).max() <= 1e-4


def test_ema_matches_lfilter_and_streams_bit_exactly():
    x = np.random.default_rng(5).normal(size=5000).astype(np.float32)
    for alpha in (1.0, 0.3, 0.01):
        whole = dsp.ema(x, alpha)
        ref = ss.lfilter([alpha], [1.0, alpha - 1.0], x.astype(np.float64))
        assert np.abs(whole - ref).max() <= 1e-6  # measured 2.4e-7
        state, parts = 0.0, []
        for block in np.split(x, [1, 2, 700, 701, 3333]):
            y, state = dsp.ema(block, alpha, state)
            parts.append(y)
        np.testing.assert_array_equal(np.concatenate(parts), whole)
    y = dsp.ema(np.zeros(3, np.float32), 0.5, zi=2.0)[0]
    np.testing.assert_array_equal(y, [1.0, 0.5, 0.25])


# ---------- per-frame features ----------

def test_rms_and_zero_crossing_rate_match_numpy():
    frames = _ref_frames(_audio(), 400, 123).astype(np.float32)
    f64 = frames.astype(np.float64)
    assert np.abs(dsp.rms(frames) - np.sqrt((f64 ** 2).mean(axis=1))).max() <= 1e-6
    # ZCR: the fraction of the n - 1 adjacent pairs whose signs differ, a sign being "x < 0" (zero is positive)
    neg = frames < 0
    np.testing.assert_allclose(dsp.zero_crossing_rate(frames), (neg[:, 1:] != neg[:, :-1]).mean(axis=1),
                               rtol=1e-6)
    assert dsp.zero_crossing_rate(np.array([1.0, 0.0, -1.0, -0.0, 2.0, 3.0])) == pytest.approx(0.4)
    assert dsp.zero_crossing_rate(np.array([0.5])) == 0.0 and dsp.rms(np.zeros((2, 3))).tolist() == [0, 0]


def _ref_shape(s, sr):
    """librosa's definitions on a spectrum s (frames, bins) of an N = 2 (bins - 1) point FFT, f_k = k sr / N."""
    f = np.arange(s.shape[1]) * sr / (2 * (s.shape[1] - 1))
    total = s.sum(axis=1)
    centroid = (s * f).sum(axis=1) / total                                   # sum f s / sum s
    bandwidth = np.sqrt((s * (f - centroid[:, None]) ** 2).sum(axis=1) / total)  # (sum s/total |f - c|^2)^(1/2)
    cum = np.cumsum(s, axis=1)
    rolloff = f[np.argmax(cum >= 0.85 * total[:, None], axis=1)]            # first f where cumsum >= 0.85 total
    return centroid, bandwidth, rolloff


def test_spectral_features_match_numpy_references():
    mag = dsp.magnitude_spectrum(_ref_frames(_audio(), 512, 200).astype(np.float32), "hann")
    loud = mag[mag.sum(axis=1) > 0].astype(np.float64)
    centroid, bandwidth, rolloff = _ref_shape(loud, SR)
    assert np.abs(dsp.spectral_centroid(loud, SR) - centroid).max() <= 1e-5 * SR / 2  # measured 0.002 Hz
    assert np.abs(dsp.spectral_bandwidth(loud, SR) - bandwidth).max() <= 1e-5 * SR / 2
    np.testing.assert_array_equal(dsp.spectral_rolloff(loud, SR), rolloff)
    power = loud ** 2
    floored = np.maximum(power, 1e-10)
    flatness = np.exp(np.log(floored).mean(axis=1)) / floored.mean(axis=1)  # geometric / arithmetic mean
    assert np.abs(dsp.spectral_flatness(power) - flatness).max() <= 1e-6 * flatness.max()
    silent = np.zeros((1, 257))
    assert [float(fn(silent, SR)[0]) for fn in (dsp.spectral_centroid, dsp.spectral_bandwidth,
                                                dsp.spectral_rolloff)] == [0.0, 0.0, 0.0]
    assert dsp.spectral_flatness(silent)[0] == pytest.approx(1.0, abs=1e-6)
    assert dsp.spectral_rolloff(loud[:3], SR, 1.0).tolist() == _ref_max_bin(loud[:3], SR)


def _ref_max_bin(s, sr):
    """With fraction 1 the rolloff is the last non-zero bin."""
    return [np.flatnonzero(row)[-1] * sr / (2 * (s.shape[1] - 1)) for row in s]


# ---------- streaming ----------

ALL = ["log_mel", "mel", "power", "rms", "zcr", "centroid", "bandwidth", "rolloff", "flatness"]


def _offline(x, n_fft, hop, **mel):
    """Every feature of FeatureExtractor(features=ALL) computed by the off-line functions."""
    frames = dsp.frame(x, n_fft, hop)
    mag, power = dsp.magnitude_spectrum(frames, "hann"), dsp.power_spectrum(frames, "hann")
    cols = [dsp.log_mel(x, SR, n_fft, hop, **mel), dsp.mel_spectrogram(x, SR, n_fft, hop, **mel), power]
    cols += [v[:, None] for v in (dsp.rms(frames), dsp.zero_crossing_rate(frames), dsp.spectral_centroid(mag, SR),
                                  dsp.spectral_bandwidth(mag, SR), dsp.spectral_rolloff(mag, SR),
                                  dsp.spectral_flatness(power))]
    return np.concatenate(cols, axis=1)


def _stream(extractor, x, sizes):
    out, i = [], 0
    for size in sizes:
        out.append(extractor.process(x[i:i + size]))
        i += size
    assert i >= len(x)
    return np.concatenate(out)


@pytest.mark.parametrize("n_fft, hop", [(512, 160), (256, 256), (64, 1), (1024, 700)])
def test_streaming_extractor_equals_offline_framing(n_fft, hop):
    x = _audio(4000 if hop > 1 else 600)
    extractor = dsp.FeatureExtractor(SR, n_fft, hop, ALL, n_mels=24, fmax=7000.0)
    offline = _offline(x, n_fft, hop, n_mels=24, fmax=7000.0)
    assert extractor.n_features == offline.shape[1] == 24 + 24 + n_fft // 2 + 1 + 6
    rng = np.random.default_rng(n_fft + hop)
    random_blocks = _stream(extractor, x, list(rng.integers(0, 300, len(x))))
    np.testing.assert_array_equal(random_blocks, offline)  # the same C on the same frames: bit-exact
    extractor.reset()
    np.testing.assert_array_equal(_stream(extractor, x, [64] * (len(x) // 64 + 1)), offline)
    extractor.reset()
    np.testing.assert_array_equal(extractor.process(x), offline)


def test_extractor_feature_choice_names_and_power_spectrum_for_shape():
    x = _audio(3000)
    e = dsp.FeatureExtractor(SR, 256, 128, ["centroid", "rolloff", "log_mel"], n_mels=8, spectrum="power",
                             log="ln", offset=1e-2)
    assert e.names[:3] == ["centroid", "rolloff", "log_mel_0"] and e.n_features == 10
    out = e.process(x)
    power = dsp.power_spectrum(dsp.frame(x, 256, 128), "hann")
    np.testing.assert_array_equal(out[:, 0], dsp.spectral_centroid(power, SR))
    np.testing.assert_array_equal(out[:, 1], dsp.spectral_rolloff(power, SR))
    np.testing.assert_array_equal(out[:, 2:], dsp.log_mel(x, SR, 256, 128, n_mels=8, log="ln", offset=1e-2))


# ---------- builds ----------

def _c_path_outputs():
    """Outputs of every C entry point on fixed inputs (run in-process and in the sanitizer process)."""
    x = _audio(3000, seed=9)
    e = dsp.FeatureExtractor(SR, 256, 100, ALL, n_mels=16)
    out = {"stream": _stream(e, x, [1, 63, 64, 500, 7, 2365]), "rfft": dsp.rfft(x[:2048].reshape(4, 512)),
           "sos": dsp.sosfilt(SOS_CASES["bandpass"], x), "ema": dsp.ema(x, 0.2), "db": dsp.power_to_db(x ** 2)}
    return out


def test_sanitizer_build_runs_the_c_path_clean_and_equal():
    """AddressSanitizer and UBSan (profile "sanitize") abort the process on any memory or UB error."""
    libasan = subprocess.run([compiler(), "-print-file-name=libasan.so"], capture_output=True, text=True).stdout
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy as np; from tinyrt import audio as dsp; "
              "dsp.use_profile('sanitize'); import test_dsp; np.savez(sys.argv[2], **test_dsp._c_path_outputs())")
    out = Path(os.environ["TINYRT_CACHE"]) / f"dsp-sanitized-{os.getpid()}.npz"
    env = dict(os.environ, LD_PRELOAD=libasan.strip(), ASAN_OPTIONS="detect_leaks=0")
    proc = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent), str(out)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as sanitized:
        for name, value in _c_path_outputs().items():
            np.testing.assert_array_equal(sanitized[name], value, err_msg=name)
    out.unlink()


def test_c_is_pedantic_clean_and_needs_only_single_precision_math():
    """-Wdouble-promotion catches any float promoted to double (a double libm call on a float FPU)."""
    obj = build({"trt_dsp.c": (HOST_DIR / "trt_dsp.c").read_text()}, "trt_dsp.o", kind="object",
                extra_flags=["-pedantic", "-Wdouble-promotion", "-Wconversion", "-Wshadow"])
    nm = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    undefined = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    assert undefined <= {"cosf", "sinf", "sincosf", "logf", "log10f", "expf", "sqrtf", "memcpy", "memmove", "memset"}
    assert {"logf", "expf", "sqrtf"} <= undefined


def test_features_cross_compile_for_cortex_m4_with_single_precision_fpu_only(tmp_path):
    """The device build: arm-none-eabi-gcc for a Cortex-M4F; no double-precision helper may be linked in."""
    obj = tmp_path / "trt_dsp_m4.o"
    subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion",
                    "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-O2", "-fno-math-errno",
                    "-I", str(RUNTIME_DIR), "-c", str(HOST_DIR / "trt_dsp.c"), "-o", str(obj)], check=True)
    undefined = set(subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True,
                                   check=True).stdout.split()) - {"U"}
    assert undefined <= {"cosf", "sinf", "sincosf", "logf", "log10f", "expf", "memcpy", "memmove", "memset"}
    assert not any(name.startswith("__aeabi_d") for name in undefined)  # software doubles
    sizes = subprocess.run(["arm-none-eabi-size", str(obj)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in sizes.splitlines()[1].split()[:3])
    assert 0 < text < 16384 and data == bss == 0  # all state is the caller's


# ---------- refusals ----------

REFUSALS = [
    (lambda: dsp.rfft(np.zeros(500, np.float32)), "the frame length .FFT size. 500 is not a power of two"),
    (lambda: dsp.FeatureExtractor(SR, 500), "the FFT size 500 is not a power of two between 4 and 65536"),
    (lambda: dsp.mel_spectrogram(np.array([0.0, np.nan] * 600), SR), "the audio contains NaN or infinite"),
    (lambda: dsp.sosfilt(SOS_CASES["lowpass"], np.array([1.0, np.inf])), "the signal contains NaN or infinite"),
    (lambda: dsp.FeatureExtractor(SR, 512, 600), "the hop 600 must be a whole number of samples between 1 and"),
    (lambda: dsp.frame(np.zeros(100), 32, 0), "the hop 0 must be a whole number"),
    (lambda: dsp.mel_filterbank(SR, 512, fmax=9000), r"fmax 9000 Hz is above the Nyquist frequency \(8000 Hz\)"),
    (lambda: dsp.rms(np.zeros((3, 0))), "the frames is empty"),
    (lambda: dsp.ema(np.zeros(0), 0.5), "the signal is empty; pass at least one value"),
    (lambda: dsp.log_mel(np.zeros(100), SR), r"the audio \(100 samples\) is shorter than one frame \(512 samples\)"),
    (lambda: dsp.FeatureExtractor(SR).process(np.zeros(64, np.int16)), "the audio block has dtype int16"),
    (lambda: dsp.FeatureExtractor(SR).process(np.zeros((64, 2))), r"the audio block must be \(n,\), got shape"),
    (lambda: dsp.sosfilt(np.zeros((2, 5)), np.zeros(4)), r"sos must have shape \(n_sections, 6\)"),
    (lambda: dsp.sosfilt([[1, 0, 0, 2, 0, 0]], np.zeros(4)), r"every section's a0 \(sos\[:, 3\]\) must be 1"),
    (lambda: dsp.sosfilt(SOS_CASES["lowpass"], np.zeros(4), np.zeros(2)), r"zi must have shape \(4, 2\)"),
    (lambda: dsp.ema(np.zeros(4), 1.5), r"alpha must be in \(0, 1\]"),
    (lambda: dsp.FeatureExtractor(SR, features=["mfcc"]),
     r"unknown features \['mfcc'\]; choose from power, mel, log_mel,"),
    (lambda: dsp.FeatureExtractor(SR, features=[]), "no features were named; choose from"),
    (lambda: dsp.spectral_centroid(-np.ones(9), SR), "the spectrum has negative values"),
    (lambda: dsp.rfft(np.zeros(8), window=np.ones(4)), "the window must have 8 values"),
    (lambda: dsp.log_mel(np.zeros(1024), SR, log="log2"), "log must be 'db'"),
]


@pytest.mark.parametrize("call, message", REFUSALS, ids=[m[:30] for _, m in REFUSALS])
def test_refusals_say_what_is_wrong(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_features_from_the_command_line(tmp_path):
    from test_cli import fail, run
    from tinyrt.audio import write_wav
    sr = 16000
    audio = (0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)
    write_wav(tmp_path / "tone.wav", audio, sr)
    write_wav(tmp_path / "stereo.wav", np.stack([audio, audio], axis=1), sr)
    proc = run("features", tmp_path / "tone.wav", "-o", tmp_path / "f.npy", "--features", "log_mel,rms,centroid",
               "--hop", "160", "--block", "100")
    assert "97 frames x 42 values" in proc.stdout
    frames = np.load(tmp_path / "f.npy")
    # the same frames as the Python API fed the whole file at once, to the last bit
    want = dsp.FeatureExtractor(sr, 512, 160, ["log_mel", "rms", "centroid"]).process(audio)
    np.testing.assert_array_equal(frames, want)
    assert abs(float(np.median(frames[:, -1])) - 440) < 20
    run("features", tmp_path / "tone.wav", "-o", tmp_path / "f.csv", "--features", "zcr")
    assert (tmp_path / "f.csv").read_text().splitlines()[0] == "zcr"
    fail("features", tmp_path / "stereo.wav", "-o", tmp_path / "x.npy", message="has 2 channels")
    fail("features", tmp_path / "tone.wav", "-o", tmp_path / "x.txt", message="must end in .npy or .csv")
    fail("features", tmp_path / "tone.wav", "-o", tmp_path / "x.npy", "--features", "mfcc", message="unknown features")
    fail("features", tmp_path / "tone.wav", "-o", tmp_path / "x.npy", "--n-fft", "500", message="not a power of two")
    fail("features", tmp_path / "tone.wav", "-o", tmp_path / "x.npy", "--block", "0",
         message="argument --block: must be at least 1")
