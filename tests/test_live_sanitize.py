"""The live host program built with AddressSanitizer and UndefinedBehaviorSanitizer: the offline mode, with
scripted switches through the control ring, runs clean and gives the same samples as the normal build."""
import json
import subprocess

import numpy as np
from scipy.io import wavfile

from test_live import _models
from test_live_events import KINDS, SR, TIMES, classifier, scene  # noqa: F401  (classifier: a fixture)
from tinyrt.rt.host import build_host


def _render(program, tmp_path, tag):
    out = tmp_path / f"{tag}.wav"
    proc = subprocess.run([str(program), "--input", str(tmp_path / "in.wav"), "--output", str(out),
                           "--control", str(tmp_path / "control.txt"), "--block", "37"],
                          capture_output=True, text=True, timeout=300,
                          env={"ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1", "UBSAN_OPTIONS": "halt_on_error=1"})
    return proc, out


def test_the_sanitized_host_runs_clean_and_equals_the_normal_build(tmp_path):
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 24000).astype(np.float32)
    x[5000] = np.nan  # the processor replaces it; the sanitizers watch the path that does
    wavfile.write(tmp_path / "in.wav", 48000, x)
    (tmp_path / "control.txt").write_text("3000 effect 1\n9000 output_gain -6\n12000 bypass 1\n15000 bypass 0\n")
    normal = build_host(_models(), "sanlive")
    sanitized = build_host(_models(), "sanlive", profile="sanitize")
    assert sanitized.program != normal.program
    linked = subprocess.run(["ldd", str(sanitized.program)], capture_output=True, text=True).stdout
    assert "libasan" in linked and "libubsan" in linked
    a, out_a = _render(normal.program, tmp_path, "normal")
    b, out_b = _render(sanitized.program, tmp_path, "sanitized")
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    assert "runtime error" not in b.stderr and "AddressSanitizer" not in b.stderr and "LeakSanitizer" not in b.stderr
    ya, yb = wavfile.read(out_a)[1], wavfile.read(out_b)[1]
    assert len(ya) == len(x) and np.isfinite(ya).all()
    assert np.abs(ya - yb).max() <= 1e-6  # -O1 -g build: same C, same numbers


def test_the_event_worker_and_its_rings_run_clean_under_threadsanitizer(classifier, tmp_path):  # noqa: F811
    _, clf = classifier
    x = scene(np.random.default_rng(6), TIMES, KINDS)
    wavfile.write(tmp_path / "in.wav", SR, x.astype(np.float32))
    runs = {}
    for profile in ("portable", "thread"):
        build = build_host(_models()[:1], "tsanlive", classifier=clf, profile=profile)
        out = tmp_path / f"{profile}.json"
        proc = subprocess.run([str(build.program), "--input", str(tmp_path / "in.wav"), "--output",
                               str(tmp_path / f"{profile}.wav"), "--block", "64", "--events", str(out)],
                              capture_output=True, text=True, timeout=300,
                              env={"TSAN_OPTIONS": "halt_on_error=1 second_deadlock_stack=1"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "ThreadSanitizer" not in proc.stderr, proc.stderr[-3000:]
        runs[profile] = json.loads(out.read_text())
    linked = subprocess.run(["ldd", str(build.program)], capture_output=True, text=True).stdout
    assert "libtsan" in linked
    assert runs["thread"]["detected"] == runs["portable"]["detected"] == len(TIMES)
    assert [e["class"] for e in runs["thread"]["events"]] == [e["class"] for e in runs["portable"]["events"]] == KINDS
