"""tinyrt deploy: the target registry, and the c-project target built with make and run against the reference."""
import subprocess

import numpy as np
import pytest

import tinyrt
from test_cli import fail, run
from tinyrt.bench import models as R
from tinyrt.deploy import TARGETS


def _models():
    rng = np.random.default_rng(3)
    lstm = R.effect_model(rng, "lstm", 8, skip=True)
    conv = R.stack_model(rng, 3)
    conv.name = "stack"
    return [lstm, conv]


def _stream(runner, which, frames: np.ndarray) -> np.ndarray:
    proc = subprocess.run([str(runner), which], input=frames.astype("<f4").tobytes(), capture_output=True,
                          timeout=60, check=True)
    return np.frombuffer(proc.stdout, dtype="<f4")


def test_c_project_builds_with_make_and_every_model_equals_the_reference(tmp_path):
    models = _models()
    result = tinyrt.deploy("c-project", models, tmp_path / "proj", name="pedals")
    assert result.built == ["libpedals.a", "pedals_run"]
    assert {"Makefile", "run.c", "lstm8.h", "lstm8.c", "stack.h", "stack.c"} <= set(result.files)
    runner = tmp_path / "proj" / "pedals_run"
    rng = np.random.default_rng(4)
    for which, model in (("0", models[0]), ("stack", models[1])):
        frames = rng.uniform(-1, 1, (1000, model.input_size)).astype(np.float32)
        got = _stream(runner, which, frames).reshape(len(frames), model.output_size)
        ref = model.reference().process(frames)
        assert np.abs(got - ref).max() <= 1e-5 * max(1.0, np.abs(ref).max())
    proc = subprocess.run([str(runner), "nope"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "lstm8 stack" in proc.stderr


def test_c_project_from_the_command_line_and_its_refusals(tmp_path):
    paths = []
    for m in _models():
        paths.append(m.save(tmp_path / f"{m.name}.tinyrt"))
    out = run("deploy", "c-project", *paths, "-o", tmp_path / "cli", "--no-build").stdout
    assert "c-project: wrote" in out and "lstm8, stack" in out
    assert not (tmp_path / "cli" / "models_run").exists()
    subprocess.run(["make", "-s", "-C", str(tmp_path / "cli")], check=True, capture_output=True, timeout=120)
    assert (tmp_path / "cli" / "models_run").exists()
    fail("deploy", "c-project", paths[0], paths[0], "-o", tmp_path / "twice", message="both be named 'lstm8'")
    (tmp_path / "file").write_text("x")
    fail("deploy", "c-project", paths[0], "-o", tmp_path / "file", message="is a file")
    fail("deploy", "c-project", tmp_path / "missing.tinyrt", "-o", tmp_path / "x", message="no such file")
    proc = run("deploy", "no-such-target", paths[0], "-o", tmp_path / "y", ok=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_the_registry_refuses_an_unknown_target_in_one_sentence(tmp_path):
    with pytest.raises(tinyrt.UnsupportedError, match="unknown deploy target 'lv3'; choose one of c-project"):
        tinyrt.deploy("lv3", _models(), tmp_path)
    with pytest.raises(tinyrt.InputError, match="at least one model"):
        tinyrt.deploy("c-project", [], tmp_path)
    assert all(len(entry) == 3 and entry[0].startswith("tinyrt.deploy.") for entry in TARGETS.values())
