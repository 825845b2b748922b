"""Paired-data pipeline: latency detection, resampling, note and fragment datasets, splits and bad data."""
import numpy as np
import pytest
from scipy.signal import butter, lfilter

from tinyrt.audio import write_wav
from tinyrt.audio.align import _onset, align, detect_blips, detect_latency, latency_from_blips
from tinyrt.audio.resample import resample, to_mono
from tinyrt.data.pairs import Dataset, Pair, clipped_fraction, common_latency, fragments, load_pairs, paired_notes
from tinyrt.errors import FormatError, InputError

SR = 48000


def noise(seconds: float, seed: int = 0, level: float = 0.3) -> np.ndarray:
    """Band-limited noise: a stand-in for a guitar DI signal."""
    b, a = butter(2, 3000 / (SR / 2))
    x = np.random.default_rng(seed).standard_normal(int(seconds * SR))
    return (level * lfilter(b, a, x)).astype(np.float32)


def effect(x: np.ndarray) -> np.ndarray:
    """A drive pedal: tanh(8x) then a one-pole low-pass."""
    return lfilter([0.2], [1.0, -0.8], np.tanh(8.0 * np.asarray(x, np.float64))).astype(np.float32)


def capture(x: np.ndarray, latency: int) -> np.ndarray:
    """The effect recorded with `latency` samples of round-trip delay, same length as x."""
    return np.concatenate((np.zeros(latency, np.float32), effect(x)))[:len(x)]


@pytest.mark.parametrize("latency", [0, 1, 37, 480, 2400])
def test_latency_is_exact_through_a_nonlinear_effect(latency):
    clean = noise(1.0, seed=latency)
    assert detect_latency(clean, capture(clean, latency), SR) == latency


def test_latency_is_the_start_of_the_correlation_lobe_never_past_zero():
    lobe = np.zeros(100)
    lobe[[36, 37, 38, 39]] = [0.1, 0.5, 1.0, 0.6]        # a tone filter puts the peak one sample late
    assert _onset(lobe, 38, SR) == 37
    assert _onset(-lobe, 38, SR) == 37                   # polarity-inverted effect
    early = np.roll(lobe, -38)
    assert _onset(early, 0, SR) == 0                     # a zero latency never becomes a lead


def test_a_one_sample_lead_through_a_dark_filter_is_no_latency():
    clean = noise(1.0, seed=0)
    dark = lfilter(*butter(1, 2000 / (SR / 2)), capture(clean, 0)).astype(np.float32)
    assert detect_latency(clean, dark, SR) == -1           # the correlation peak is at -1 on this signal
    c, p, latency = align(clean, dark, SR)
    assert latency == 0 and len(c) == len(p) == len(clean)


def test_blips_and_correlation_agree():
    clean = np.zeros(3 * SR, np.float32)
    clean[[12000, 24000]] = 0.9
    clean[SR:] = noise(2.0)
    processed = capture(clean, 37)
    assert detect_blips(clean, SR) == [12000, 24000]
    assert detect_blips(processed, SR) == [12037, 24037]
    assert latency_from_blips(clean, processed, SR) == 37 == detect_latency(clean, processed, SR)
    c, p, latency = align(clean, processed, SR)
    assert latency == 37 and len(c) == len(p) == len(clean) - 37
    np.testing.assert_array_equal(p, effect(clean)[:len(p)])
    no_blips = noise(2.0)
    assert detect_blips(no_blips, SR) == [] and latency_from_blips(no_blips, capture(no_blips, 5), SR) is None


def test_align_refuses_leading_late_unrelated_and_nan():
    clean = noise(2.0)
    with pytest.raises(InputError, match="starts 100 samples before the clean audio.*swapped"):
        align(clean, np.concatenate((effect(clean)[100:], np.zeros(100, np.float32))), SR)
    with pytest.raises(InputError, match=r"lags the clean audio by 0\.300 s, more than max_latency=0\.1 s"):
        align(clean, capture(clean, int(0.3 * SR)), SR)
    with pytest.raises(InputError, match="does not look like a processed version of the clean audio"):
        align(clean, noise(2.0, seed=9), SR)
    bad = clean.copy()
    bad[10] = np.nan
    with pytest.raises(InputError, match="the clean audio contains NaN"):
        align(bad, capture(clean, 3), SR)


def test_resample_keeps_frequency_level_and_exact_length():
    t = np.arange(44100) / 44100
    sine = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = resample(sine, 44100, 48000)
    assert out.dtype == np.float32 and len(out) == 48000
    middle = out[4800:-4800].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), 1 << 20))
    assert abs(np.argmax(spectrum) * 48000 / (1 << 20) - 1000) < 0.1
    level_db = 20 * np.log10(np.sqrt(np.mean(middle ** 2)) / (0.5 / np.sqrt(2)))
    assert abs(level_db) < 0.1
    stereo = np.stack([sine, -sine, np.zeros_like(sine)], axis=1)[:100]
    np.testing.assert_allclose(to_mono(stereo), np.zeros(100), atol=1e-7)


def write_note_tree(root, clean_name, effect_name, names, latency=24):
    """Write note WAVs in an EGFxSet-like tree (latency: one for all or one per note); returns {name: clean}."""
    notes = {}
    latencies = latency if isinstance(latency, list) else [latency] * len(names)
    for i, rel in enumerate(names):
        clean = noise(0.5, seed=i) * np.exp(-np.arange(SR // 2) / SR * 4).astype(np.float32)
        for folder, audio in ((clean_name, clean), (effect_name, capture(clean, latencies[i]))):
            (root / folder / rel).parent.mkdir(parents=True, exist_ok=True)
            write_wav(root / folder / rel, audio, SR)
        notes[rel] = clean
    return notes


def test_paired_notes_match_by_relative_path_and_report_the_unmatched(tmp_path):
    notes = write_note_tree(tmp_path, "Clean", "Overdrive", ["Bridge/1-0.wav", "Bridge/1-5.wav", "Neck/6-3.wav"])
    write_wav(tmp_path / "Overdrive" / "Neck" / "2-7.wav", noise(0.5), SR)
    write_wav(tmp_path / "Clean" / "Bridge" / "3-3.wav", noise(0.5), SR)
    ds = paired_notes(tmp_path, "overdrive", sample_rate=SR)
    assert [p.name for p in ds.pairs] == ["Bridge/1-0.wav", "Bridge/1-5.wav", "Neck/6-3.wav"]
    assert [p.group for p in ds.pairs] == [p.name for p in ds.pairs]
    assert [c.latency for c in ds.checks] == [24, 24, 24]
    for p in ds.pairs:
        np.testing.assert_array_equal(p.target, effect(notes[p.name])[:len(p.target)])
    summary = ds.summary()
    assert "skipped 2 file(s) without a partner: Overdrive/Neck/2-7.wav, Clean/Bridge/3-3.wav" in summary
    assert "24 samples" in summary
    train, valid, test = ds.split(valid=0.3, test=0.3, seed=1)
    assert len(train) == len(valid) == len(test) == 1


def test_paired_notes_lowercase_trees_and_all_unmatched(tmp_path):
    write_note_tree(tmp_path, "clean", "fuzz", ["a/1-1.wav", "a/1-2.wav"], latency=5)
    ds = paired_notes(tmp_path, "FUZZ", sample_rate=SR)
    assert len(ds.pairs) == 2 and {c.latency for c in ds.checks} == {5}
    other = tmp_path / "other"
    write_note_tree(other, "Clean", "Chorus", ["Bridge/1-0.wav"])
    (other / "Chorus" / "Bridge" / "1-0.wav").rename(other / "Chorus" / "Bridge" / "2-0.wav")
    with pytest.raises(InputError, match="none of the 1 files in .*Chorus has a partner .*'bridge/2-0.wav' vs "
                                         "'bridge/1-0.wav'"):
        paired_notes(other, "Chorus")
    with pytest.raises(InputError, match="has no folder named 'Phaser'.*folders there: Chorus, Clean"):
        paired_notes(other, "Phaser")


def test_notes_share_one_latency_unless_they_scatter(tmp_path):
    names = [f"Bridge/1-{i}.wav" for i in range(5)]
    notes = write_note_tree(tmp_path / "close", "Clean", "Rat", names, latency=[24, 25, 24, 24, 25])
    ds = paired_notes(tmp_path / "close", "Rat", sample_rate=SR)
    assert [c.latency for c in ds.checks] == [24] * 5
    late = ds.pairs[1].target   # recorded 25 samples late, 24 removed: one sample of delay left
    np.testing.assert_array_equal(late, np.concatenate(([0.0], effect(notes[names[1]])))[:len(late)])
    assert "one latency removed from every note: 24 samples (per-note measurements 24..25)" in ds.summary()
    write_note_tree(tmp_path / "far", "Clean", "Rat", names, latency=[3, 30, 300, 24, 25])
    assert [c.latency for c in paired_notes(tmp_path / "far", "Rat", sample_rate=SR).checks] == [3, 30, 300, 24, 25]
    assert common_latency([37, 36, 37, 38, 37, 37]) == 37 and common_latency([1, 2, 3]) is None


def write_track(tmp_path, seconds=12, latency=37, target_rate=SR):
    """A clean track with silent seconds 3 and 7, and its capture (written at target_rate)."""
    clean = noise(seconds, seed=3)
    clean[3 * SR:4 * SR] = 0.0
    clean[7 * SR:8 * SR] = 0.0
    processed = capture(clean, latency)
    if target_rate != SR:
        processed = resample(processed, SR, target_rate)
    return clean, write_wav(tmp_path / "clean.wav", clean, SR), write_wav(tmp_path / "od.wav", processed, target_rate)


def test_fragments_count_silence_groups_split_and_summary(tmp_path):
    clean, clean_path, target_path = write_track(tmp_path)
    ds = fragments(clean_path, target_path, seconds=1.0, sample_rate=SR, regions=4)
    kept = [i for i in range(11) if i not in (3, 7)]   # 12 s - 37 samples: 11 whole fragments, 2 silent
    assert [p.name for p in ds.pairs] == [f"od-{i:04d}" for i in kept]
    assert all(len(p.clean) == len(p.target) == SR and p.clean.dtype == np.float32 for p in ds.pairs)
    assert [p.group for p in ds.pairs] == [f"region-{i * 4 // 11}" for i in kept]
    np.testing.assert_array_equal(ds.pairs[1].target, effect(clean)[SR:2 * SR])
    train, valid, test = ds.split(valid=0.25, test=0.25, seed=7)
    groups = [{p.group for p in s} for s in (train, valid, test)]
    assert all(groups) and not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert sorted(p.name for s in (train, valid, test) for p in s) == sorted(p.name for p in ds.pairs)
    again = ds.split(valid=0.25, test=0.25, seed=7)
    assert [[p.name for p in s] for s in again] == [[p.name for p in s] for s in (train, valid, test)]
    summary = ds.summary()
    assert "latency found and removed: 37 samples (0.77 ms)" in summary
    assert "2 of 11 fragments dropped as silent" in summary


def test_fragments_resample_a_target_at_another_rate(tmp_path):
    _, clean_path, target_path = write_track(tmp_path, seconds=5, latency=40, target_rate=96000)
    ds = fragments(clean_path, target_path, sample_rate=SR)
    assert ds.checks[0].latency == 40 and len(ds.pairs) == 3


def test_split_needs_enough_groups():
    pairs = [Pair(f"p{i}", f"g{i % 2}", np.zeros(4, np.float32), np.zeros(4, np.float32)) for i in range(4)]
    ds = Dataset(pairs, SR)
    with pytest.raises(InputError, match=r"has 2 group\(s\) \(g0, g1\) but a train/valid/test split needs at least 3"):
        ds.split()
    train, valid, test = ds.split(valid=0.5, test=0.0)
    assert len(train) == len(valid) == 2 and test == []


def test_clipped_fraction_counts_runs_only():
    x = np.zeros(1000, np.float32)
    x[10] = 1.0                 # one touching sample: not clipping
    x[100:120] = -1.0           # a 20-sample run
    assert clipped_fraction(x) == pytest.approx(0.02)


def test_bad_files_are_refused_with_one_sentence(tmp_path):
    clean = noise(5.0)
    c_path = write_wav(tmp_path / "clean.wav", clean, SR)

    def refused(target, match, error=InputError, rate=SR, clean_path=c_path):
        t_path = write_wav(tmp_path / "target.wav", target, rate)
        with pytest.raises(error, match=match):
            fragments(clean_path, t_path, sample_rate=SR)

    refused(np.concatenate((capture(clean, 10), noise(3.2, seed=1))),
            r"lengths differ by 3\.2 s, more than a latency can explain; are these the same take\?")
    refused(capture(clean, 10) * 1e-4, r"target\.wav is silent \(-\d+\.\d dBFS RMS\)")
    refused(np.clip(4 * capture(clean, 10), -1, 1), r"target\.wav is clipped: \d+\.\d % of its samples")
    loud = write_wav(tmp_path / "loud.wav", np.clip(40 * clean, -1, 1), SR)
    refused(capture(clean, 10), r"loud\.wav is clipped", clean_path=loud)
    refused(np.stack([capture(clean, 10)] * 2, axis=1), r"clean\.wav is mono and .*target\.wav is stereo; "
                                                        r"export both in the same channel layout")
    refused(noise(5.0, seed=4), r"target\.wav does not look like a processed version of .*clean\.wav")
    refused(np.concatenate((effect(clean)[50:], np.zeros(50, np.float32))), r"target\.wav starts 50 samples before")
    nan = capture(clean, 10)
    nan[5] = np.nan
    refused(nan, r"target\.wav: the audio contains NaN")
    (tmp_path / "target.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(FormatError, match=r"target\.wav: not a readable WAV file"):
        fragments(c_path, tmp_path / "target.wav")


def test_both_stereo_is_mixed_to_mono(tmp_path):
    clean = noise(3.0)
    c_path = write_wav(tmp_path / "c.wav", np.stack([clean, clean], axis=1), SR)
    t_path = write_wav(tmp_path / "t.wav", np.stack([capture(clean, 8)] * 2, axis=1), SR)
    ds = fragments(c_path, t_path, sample_rate=SR)
    assert ds.checks[0].latency == 8 and "mixed to mono" in ds.summary()


def test_load_pairs_resolves_paths_against_base(tmp_path):
    write_track(tmp_path, seconds=4)
    ds = load_pairs({"kind": "fragments", "clean": "clean.wav", "target": "od.wav", "fragment_seconds": 0.5,
                     "silence_db": -50.0}, SR, base=tmp_path)
    assert len(ds.pairs) == 6 and ds.checks[0].latency == 37
    write_note_tree(tmp_path / "notes", "Clean", "Drive", ["x/1-1.wav", "x/1-2.wav", "x/1-3.wav"])
    ds = load_pairs({"kind": "notes", "root": "notes", "effect": "drive", "fragment_seconds": 1.0}, SR, base=tmp_path)
    assert len(ds.pairs) == 3
    with pytest.raises(InputError, match="data key\\(s\\) target are not used by kind 'notes'"):
        load_pairs({"kind": "notes", "root": "notes", "effect": "drive", "target": "x"}, SR, base=tmp_path)
    with pytest.raises(InputError, match="data kind 'clips' is unknown"):
        load_pairs({"kind": "clips"}, SR)
    with pytest.raises(InputError, match="the 'fragments' data needs a 'target' path"):
        load_pairs({"kind": "fragments", "clean": "clean.wav"}, SR, base=tmp_path)
