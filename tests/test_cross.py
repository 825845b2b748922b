"""Cross-builds for the boards (pi4: AArch64, armhf: Bela's Cortex-A8): every layer type's C harness and the
processor built with the ARM cross compilers, run under qemu-user and held to the float64 reference; NEON
in the recurrent kernels; the deploy targets from Python and the command line, hostile names included."""
import json
import re
import subprocess

import numpy as np
import pytest

import tinyrt
from test_c_engine import MODELS
from test_cli import run
from tinyrt.backends.c import generate
from tinyrt.backends.c.processor import Processor, generate_processor
from tinyrt.bench import models as R
from tinyrt.c.cross import TOOLCHAINS, cross_build, emulate
from tinyrt.deploy import TARGETS
from tinyrt.deploy.cross import cross_harness, cross_processor, harness_source

ARCHES = ("aarch64", "armhf")
RATE = 48000


def _emulated_run(code, arch, frames, seed, tmp_path):
    exe = cross_harness(code, arch)
    src, dst = tmp_path / f"{arch}-in.f32", tmp_path / f"{arch}-out.f32"
    np.ascontiguousarray(frames, dtype=np.float32).tofile(src)
    proc = emulate(arch, [exe, "run", src, dst, seed], timeout=120)
    assert proc.returncode == 0, proc.stderr
    return np.fromfile(dst, dtype=np.float32)


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("case", sorted(MODELS))
def test_every_layer_type_cross_built_equals_the_reference_under_qemu(case, arch, tmp_path):
    m = MODELS[case]
    rng = np.random.default_rng(5)
    frames = rng.normal(0, 2.0, (RATE // 2 // m.block_size, m.input_size)).astype(np.float32)
    got = _emulated_run(generate(m), arch, frames, seed=11, tmp_path=tmp_path).reshape(len(frames), m.output_size)
    ref = m.reference().process(frames)
    err = np.abs(got - ref).max()
    assert err <= 1e-5 * max(1.0, np.abs(ref).max()), f"{case} on {arch}: max error {err:.3g}"


def _instructions(arch, obj, function):
    """Return the disassembled lines of one function in an object file."""
    dump = subprocess.run([f"{TOOLCHAINS[arch].cc[:-3]}objdump", "-d", "--no-show-raw-insn", str(obj)],
                          capture_output=True, text=True, check=True).stdout
    body = re.search(rf"<{function}>:\n(.*?)(?:\n\n|\Z)", dump, re.S)
    assert body, f"{function} not in {obj}"
    return body.group(1).splitlines()


# a multiply-accumulate or multiply on whole 128-bit vectors of four floats
NEON = {"aarch64": re.compile(r"\tf(mla|mul)\tv\d+\.4s, v\d+\.4s, v\d+\.4s"),
        "armhf": re.compile(r"\tv(mla|fma|mul)\.f32\tq\d+, q\d+, q\d+")}
# trt_dense.h keeps TRT_VB vectors of accumulators (16 on AArch64's 32 registers, 8 on ARMv7's 16) for the
# input product and again for the recurrent one: at least 2 * TRT_VB vector multiply-accumulates
MIN_VECTOR_MACS = {"aarch64": 32, "armhf": 16}


@pytest.mark.parametrize("arch", ARCHES)
def test_the_recurrent_kernels_use_neon_vectors(arch):
    code = generate(R.effect_model(np.random.default_rng(0), "lstm", 32))
    obj = cross_build(code.files(), f"{code.name}.o", arch, kind="object")
    lines = _instructions(arch, obj, f"{code.name}_process")
    vector = [ln for ln in lines if NEON[arch].search(ln)]
    assert len(vector) >= MIN_VECTOR_MACS[arch], f"{arch}: {len(vector)} NEON vector multiplies"
    if arch == "armhf":
        # why the armhf toolchain carries -funsafe-math-optimizations: without it GCC keeps every float
        # operation on scalar VFP registers (NEON flushes denormals, so it is not IEEE)
        plain = cross_build(code.files(), f"{code.name}.o", arch, kind="object",
                            extra_flags=["-fno-unsafe-math-optimizations"])
        scalar = _instructions(arch, plain, f"{code.name}_process")
        assert not any(NEON[arch].search(ln) for ln in scalar)
        assert any(re.search(r"\tvmla\.f32\ts\d+", ln) for ln in scalar)


def _processor_models():
    rng = np.random.default_rng(7)
    a = R.effect_model(rng, "lstm", 8, skip=True)
    b = R.effect_model(rng, "gru", 6, block_size=16)
    b.name = "gru_block16"
    return [a, b]


@pytest.fixture(scope="module")
def processor():
    return Processor(_processor_models(), "pedalboard")


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("settings", [{}, {"effect": 1, "input_gain": 4.0, "output_gain": -3.0}])
def test_the_processor_cross_built_equals_the_host_processor_under_qemu(processor, arch, settings):
    audio = np.random.default_rng(3).uniform(-0.8, 0.8, RATE // 2).astype(np.float32)
    chunk = 96
    for name, value in {"effect": 0, "bypass": 0, "input_gain": 0.0, "output_gain": 0.0, **settings}.items():
        processor.set_param(name, value)
    processor.reset()
    want = np.concatenate([processor.process(audio[i:i + chunk]) for i in range(0, len(audio), chunk)])
    exe = cross_processor(generate_processor(_processor_models(), "pedalboard"), arch)
    params = [f"{p.index}={v}" for p in processor.params for k, v in settings.items() if p.name == k]
    proc = emulate(arch, [exe, RATE, chunk, *params], input=audio.tobytes(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = np.frombuffer(proc.stdout, dtype=np.float32)
    assert got.shape == want.shape and np.abs(want).max() > 0.05
    assert np.abs(got - want).max() <= 1e-6
    wrong_rate = emulate(arch, [exe, 44100, chunk], input=audio[:64].tobytes(), timeout=60)
    assert wrong_rate.returncode == 2 and b"refused sample rate" in wrong_rate.stderr


def test_deploy_pi4_from_the_command_line_runs_time_and_run_under_qemu(tmp_path):
    m = R.effect_model(np.random.default_rng(2), "gru", 8, skip=True)
    path = m.save(tmp_path / "pedal.tinyrt")
    out = run("deploy", "pi4", path, "-o", tmp_path / "pi").stdout
    assert "pi4: wrote" in out and "built gru8-harness" in out
    folder = tmp_path / "pi"
    assert {"gru8.c", "gru8.h", "trt_harness.c", "trt_gru.h", "README.txt", "gru8-harness"} <= {
        p.name for p in folder.iterdir()}
    assert (folder / "trt_harness.c").read_text() == harness_source()
    readme = (folder / "README.txt").read_text()
    assert "./gru8-harness time 48000 64 5" in readme and "./gru8-harness run in.f32 out.f32 7" in readme
    assert "ELF 64-bit" in subprocess.run(["file", str(folder / "gru8-harness")], capture_output=True,
                                          text=True).stdout
    timing = json.loads(emulate("aarch64", [folder / "gru8-harness", "time", 4800, 64, 1]).stdout)
    assert timing["calls"] == 75 and timing["call_ns"]["max"] >= timing["call_ns"]["median"] > 0
    frames = np.random.default_rng(4).uniform(-1, 1, (4000, 1)).astype(np.float32)
    frames.tofile(tmp_path / "in.f32")
    proc = emulate("aarch64", [folder / "gru8-harness", "run", tmp_path / "in.f32", tmp_path / "o.f32", 3])
    assert proc.returncode == 0
    got = np.fromfile(tmp_path / "o.f32", dtype=np.float32)[:, None]
    assert np.abs(got - m.reference().process(frames)).max() <= 1e-5
    run("deploy", "armhf", path, "-o", tmp_path / "bela", "--no-build")
    assert not (tmp_path / "bela" / "gru8-harness").exists() and (tmp_path / "bela" / "gru8.c").is_file()


def test_a_hostile_model_name_builds_and_runs_on_both_arches(tmp_path):
    m = R.effect_model(np.random.default_rng(6), "lstm", 4)
    m.name = 'a"b */ <x>\n$(rm -rf /) ü\'"'
    for target, arch in (("pi4", "aarch64"), ("armhf", "armhf")):
        result = tinyrt.deploy(target, [m], tmp_path / target)
        exe = result.path / result.built[0]
        assert re.fullmatch(r"[a-z0-9_]+-harness", exe.name)
        assert "rm -rf" not in (result.path / "README.txt").read_text()
        frames = np.linspace(-1, 1, 800, dtype=np.float32)[:, None]
        frames.tofile(tmp_path / "in.f32")
        assert emulate(arch, [exe, "run", tmp_path / "in.f32", tmp_path / "o.f32", 5]).returncode == 0
        got = np.fromfile(tmp_path / "o.f32", dtype=np.float32)[:, None]
        assert np.abs(got - m.reference().process(frames)).max() <= 1e-5


def test_the_targets_are_registered_and_refuse_clashes(tmp_path):
    assert TARGETS["pi4"][:2] == ("tinyrt.deploy.cross", "deploy_pi4")
    assert TARGETS["armhf"][:2] == ("tinyrt.deploy.cross", "deploy_armhf")
    m = R.effect_model(np.random.default_rng(1), "lstm", 4)
    with pytest.raises(tinyrt.InputError, match="both be named 'lstm4'"):
        tinyrt.deploy("pi4", [m, m], tmp_path / "x", build=False)
