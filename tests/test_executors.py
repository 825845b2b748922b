"""Sweeps and training grids on a real Ray cluster (started here by `ray start --head`) and on local
processes: the same tables whichever executor ran them, a failed trial reported and retried once."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_cli import TINYRT, run

RAY = Path(sys.executable).parent / "ray"
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None or not RAY.is_file(),
                               reason="Ray is not installed (pip install ray): the Ray executor cannot be tested")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """A one-node Ray cluster of 2 CPUs on 127.0.0.1, stopped (its whole process group) afterwards."""
    port, temp = free_port(), tempfile.mkdtemp(prefix="ray", dir="/tmp")
    # no token authentication on this private test cluster (a local Ray instance run earlier may have left
    # ~/.ray/auth_token, which would turn it on for the head but not for its clients); set for the tinyrt
    # commands the test runs too
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_AUTH_MODE", "disabled")
    patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    env = dict(os.environ)
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
                             str(port), "--num-cpus", "2", "--include-dashboard=false", "--disable-usage-stats",
                             "--temp-dir", temp], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while subprocess.run([str(RAY), "status", "--address", f"127.0.0.1:{port}"], capture_output=True,
                             env=env).returncode != 0:  # about a second a try
            assert head.poll() is None, head.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the Ray head did not come up in 90 s"
            time.sleep(1)
        yield f"127.0.0.1:{port}"
    finally:
        for sig, wait in ((signal.SIGTERM, 1), (signal.SIGKILL, 5)):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while time.monotonic() < end:
                try:
                    os.killpg(head.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
        head.wait(timeout=10)
        shutil.rmtree(temp, ignore_errors=True)
        patch.undo()


@pytest.fixture(scope="module")
def grid_list(tmp_path_factory):
    """A TOML list of two tiny trainings on 6 s of example guitar: one good, one whose target is missing."""
    from tinyrt.data.example import write_example_data
    from tinyrt.train import Config
    root = tmp_path_factory.mktemp("grid")
    write_example_data(root / "data", seconds=6.0, effects=("overdrive",), notes=False, seed=0)
    tables = []
    for name, target in (("good", "data/tracks/overdrive.wav"), ("broken", "data/tracks/missing.wav")):
        cfg = Config(name=name, sample_rate=48000, seed=0)
        cfg.data.clean, cfg.data.target = "data/tracks/clean.wav", target
        cfg.model.hidden_size, cfg.train.epochs = 4, 1
        tables.append("[[config]]\n" + cfg.to_toml().replace("\n[", "\n[config."))
    (root / "grid.toml").write_text("\n".join(tables))
    return root / "grid.toml"


def table_of(stdout: str) -> list:
    return [line for line in stdout.splitlines() if line.startswith(("trial ", "good ", "broken "))]


@needs_ray
def test_a_grid_and_a_sweep_on_a_ray_cluster_match_local_processes(ray_cluster, grid_list, tmp_path):
    t0 = time.monotonic()
    on_ray = run("grid", grid_list, "--executor", "ray", "--address", ray_cluster, "--out", tmp_path / "ray", ok=False)
    t1 = time.monotonic()
    local = run("grid", grid_list, "--out", tmp_path / "local", ok=False)
    t2 = time.monotonic()
    for proc, where in ((on_ray, f"the Ray cluster {ray_cluster} (2 CPUs)"), (local, "2 local process(es)")):
        assert proc.returncode == 1, proc.stderr  # a trial failed twice
        assert f"running 2 trial(s) on {where}" in proc.stdout
        assert "broken failed (" in proc.stdout and "retrying it once" in proc.stdout
        assert "broken: FAILED twice" in proc.stdout and "missing.wav" in proc.stdout
    assert table_of(on_ray.stdout) == table_of(local.stdout) and len(table_of(local.stdout)) == 3
    rows = [json.loads((tmp_path / d / "grid.json").read_text())["rows"] for d in ("ray", "local")]
    assert [{k: v for k, v in r.items() if k not in ("seconds", "model_path")} for r in rows[0]] == \
        [{k: v for k, v in r.items() if k not in ("seconds", "model_path")} for r in rows[1]]
    assert (tmp_path / "ray" / "grid.png").stat().st_size > 1000
    assert (tmp_path / "ray" / "good" / "good.tinyrt").is_file()
    # a capacity sweep: each (model block, host block) cell is one Ray task; the known answer comes back
    proc = run("sweep", "--cell", "gru", "--blocks", "2048", "--model-blocks", "1,16", "--max-hidden", "8",
               "--executor", "ray", "--address", ray_cluster, "--json", tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())["largest_hidden"] == {"1": {"2048": 8}, "16": {"2048": 8}}
    assert "running 2 trial(s) on the Ray cluster" in proc.stdout
    print(f"grid on Ray {t1 - t0:.1f} s, on processes {t2 - t1:.1f} s, sweep on Ray {time.monotonic() - t2:.1f} s")


def test_executor_refusals(tmp_path):
    proc = subprocess.run([TINYRT, "sweep", "--address", "127.0.0.1:1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--address names a Ray cluster; use it with --executor ray" in proc.stderr
    (tmp_path / "empty.toml").write_text("[[config]]\nname = 3\n")
    proc = subprocess.run([TINYRT, "grid", tmp_path / "empty.toml"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("tinyrt: error:"), proc.stderr


def flaky(marker: str) -> str:
    """Fail the first time (leaving a marker), succeed the second: a trial worth its one retry."""
    if not os.path.exists(marker):
        Path(marker).write_text("failed once")
        raise RuntimeError("the first attempt fails")
    return "second attempt"


def test_a_failed_trial_is_reported_and_retried_once(tmp_path):
    from tinyrt.train.executors import executor
    lines = []
    results = executor("process", workers=2).map(flaky, [str(tmp_path / "a"), str(tmp_path / "b")], ["a", "b"],
                                                 log=lines.append)
    assert results == ["second attempt", "second attempt"]
    assert sum("failed (RuntimeError: the first attempt fails); retrying it once" in line for line in lines) == 2
    assert lines[-1].startswith("  [####################] 2/2 ") and "2 retried" in lines[-1]
