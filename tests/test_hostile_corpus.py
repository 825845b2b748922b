"""Every file of tests/data/hostile/ (listed in its README.md) is refused by the CLI: exit code 2, exactly one line
"tinyrt: error: ..." holding the manifest's fragment, no traceback, within 10 s. Adding a case is adding a file and a
row to the manifest."""
import contextlib
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinyrt
from tinyrt.audio import write_wav
from tinyrt.cli import main
from tinyrt.cli.common import samples_table

HOSTILE = Path(__file__).parent / "data" / "hostile"
ROW = re.compile(r"^\| (?P<file>[^|]+?) \| (?P<command>\w+) \| (?P<env>[^|]*?) \| (?P<what>.*?) \| "
                 r"(?P<fragment>.+) \|$")


def manifest() -> list:
    rows = []
    for line in (HOSTILE / "README.md").read_text().splitlines():
        m = ROW.match(line)
        if m and m["file"] not in ("file", "---"):
            rows.append({k: v.replace("\\|", "|").strip() for k, v in m.groupdict().items()})
    return rows


ROWS = manifest()


def argv_for(row, tmp_path) -> list:
    path = str(HOSTILE / row["file"])
    if row["command"] == "features":
        return ["features", path, "-o", str(tmp_path / "features.npy")]
    return [row["command"], path]


def run_in_process(argv, monkeypatch, env: str):
    """Return (exit code, stderr, seconds) of the CLI run in this process."""
    for item in filter(None, env.split()):
        name, _, value = item.partition("=")
        monkeypatch.setenv(name, value)
    err = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        if argv[0] == "table":  # the samples reader of `tinyrt predict`, without compiling a model first
            try:
                samples_table(argv[1])
                code = 0
            except tinyrt.Error as exc:
                print(f"tinyrt: error: {exc}", file=sys.stderr)
                code = 2
        else:
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
    return code, err.getvalue(), time.perf_counter() - start


def assert_refused(code, err, seconds, fragment, what):
    lines = err.strip().splitlines()
    assert code == 2, f"{what}: exit code {code}, stderr {err!r}"
    assert len(lines) == 1 and lines[0].startswith("tinyrt: error: "), f"{what}: not one error line: {err!r}"
    assert "Traceback" not in err
    assert fragment in lines[0], f"{what}: {fragment!r} not in {lines[0]!r}"
    assert seconds < 10, f"{what}: took {seconds:.1f} s"


def test_the_manifest_lists_every_file_and_every_file_is_small():
    listed = {r["file"] for r in ROWS}
    present = {p.name for p in HOSTILE.iterdir() if p.suffix not in (".md", ".py")}
    assert len(ROWS) >= 40 and len(listed) == len(ROWS), "duplicate or too few rows"
    assert listed == present, f"unlisted: {sorted(present - listed)}; missing: {sorted(listed - present)}"
    big = [p.name for p in HOSTILE.iterdir() if p.stat().st_size >= 50_000]
    assert not big, f"corpus files of 50 kB or more: {big}"


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_hostile_file_is_refused_in_one_line(row, tmp_path, monkeypatch):
    code, err, seconds = run_in_process(argv_for(row, tmp_path), monkeypatch, row["env"])
    assert_refused(code, err, seconds, row["fragment"], row["file"])
    assert not (tmp_path / "features.npy").exists(), "a refused input left an output file"


@pytest.fixture(scope="module")
def clean_wav(tmp_path_factory):
    return write_wav(tmp_path_factory.mktemp("wav") / "in.wav", 0.1 * np.sin(np.arange(480) * 0.05), 48000)


MODEL_ROWS = [r for r in ROWS if r["command"] == "info"]


@pytest.mark.parametrize("row", MODEL_ROWS, ids=[r["file"] for r in MODEL_ROWS])
def test_hostile_model_is_refused_by_run_check_and_convert(row, tmp_path, monkeypatch, clean_wav):
    """The other verbs that load a model refuse it the same way, and write nothing."""
    path = str(HOSTILE / row["file"])
    out = tmp_path / "out"
    for argv in (["run", path, str(clean_wav), str(out / "o.wav")], ["check", path, "--engines", "c"],
                 ["convert", path, "-o", str(out / "m.tinyrt")]):
        code, err, seconds = run_in_process(argv, monkeypatch, row["env"])
        assert_refused(code, err, seconds, row["fragment"], f"{argv[0]} {row['file']}")
    assert not out.exists() or not any(out.iterdir()), f"refused model left files: {list(out.iterdir())}"


@pytest.mark.parametrize("name", ["zip_bomb.tinyrt", "npy_40gb.tinyrt", "truncated.wav"])
def test_the_real_command_prints_one_line(name, tmp_path):
    """Through python -m tinyrt.cli in a fresh process: one line on stderr, exit 2."""
    row = next(r for r in ROWS if r["file"] == name)
    env_items = dict(item.split("=", 1) for item in row["env"].split())
    env = {**os.environ, "PYTHONPATH": str(Path(tinyrt.__file__).parents[1]), **env_items}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tinyrt.cli", *argv_for(row, tmp_path)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert_refused(proc.returncode, proc.stderr, time.perf_counter() - start, row["fragment"], name)
