"""The block C engine (blockgen.py, trt_block.h): NAM WaveNets and stacks of stateless or conv1d layers run in
chunks of frames, held to the float64 reference in odd call splits across many history rewinds, equal in
every split, allocation- and lock-free, behind the processor, and cross-built for the boards."""
import ctypes
import re
import subprocess

import numpy as np
import pytest

import tinyrt
from tinyrt.backends.c import generate
from tinyrt.backends.c import harness as H
from tinyrt.backends.c.blockgen import BLOCK_FRAMES
from tinyrt.backends.c.engine import CBackend
from tinyrt.backends.c.processor import Processor
from tinyrt.bench import models as R
from tinyrt.c import runtime_headers
from tinyrt.c.build import flags_for, section_sizes
from tinyrt.c.cross import cross_build, emulate
from tinyrt.deploy.cross import cross_harness
from tinyrt.errors import UnsupportedError
from tinyrt.frontends.wavenet import LayerArray, preset_arrays, wavenet_model
from tinyrt.ir import Layer, Model

SPLITS = (1, 7, 64, 65, 1000)


def _preset(name, seed=0):
    arrays, scale = preset_arrays(name, np.random.default_rng(seed))
    return wavenet_model(arrays, scale, name=name)


def _gated():
    """Two gated arrays with a head bias on each and an odd channel count (5): partial tiles everywhere."""
    rng = np.random.default_rng(3)
    a = LayerArray(1, 1, 5, 3, 3, [1, 2, 4, 8, 16, 32], gated=True).random(rng, head_bias=True)
    b = LayerArray(5, 1, 3, 1, 2, [64, 128, 256, 1, 3], gated=True).random(rng, head_bias=True)
    return wavenet_model([a, b], 0.3, name="gated")


def _standard_like():
    """The standard preset's widths (16 then 8 channels, kernel 3) with shorter dilation lists."""
    rng = np.random.default_rng(4)
    a = LayerArray(1, 1, 16, 8, 3, [1, 2, 4, 8, 16, 512]).random(rng)
    b = LayerArray(16, 1, 8, 1, 3, [1, 4, 32, 256]).random(rng, head_bias=True)
    return wavenet_model([a, b], 0.02, name="standard_like")


MODELS = {"nano": lambda: _preset("nano"), "feather": lambda: _preset("feather"), "gated": _gated,
          "standard_like": _standard_like}


@pytest.fixture(scope="module")
def signal():
    # 5000 frames: the dilation-512 history (1024 past frames, room for 1024 more) rewinds 3 times, the short
    # ones dozens of times; the loud part drives tanh into saturation
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.5, 0.5, 5000)
    x[2000:2600] *= 8.0
    return x.astype(np.float32)[:, None]


def _in_calls(engine, x, size):
    engine.reset()
    return np.concatenate([engine.process(x[i:i + size]) for i in range(0, len(x), size)])


@pytest.mark.parametrize("case", sorted(MODELS))
def test_a_wavenet_in_blocks_equals_the_reference_in_every_call_split(case, signal):
    model = MODELS[case]()
    code = generate(model)
    assert "trt_blk_linear" in code.source and f"{code.name}_chunk" in code.source  # the block engine ran
    engine = CBackend(model, profile="native")
    truth = model.reference().process(signal)
    scale = np.abs(truth).max()
    assert scale > 1e-3
    outs = {size: _in_calls(engine, signal, size) for size in SPLITS}
    for size, out in outs.items():
        err = np.abs(out - truth).max()
        assert err <= 1e-5 * scale, f"{case}, calls of {size}: max error {err:.3g} for output scale {scale:.3g}"
        np.testing.assert_array_equal(out, outs[64])  # any split gives the same output, to the bit


def test_fast_activations_stay_close_and_the_frame_engine_stays_available(signal):
    model = _preset("nano")
    truth = model.reference().process(signal)
    fast = CBackend(model, activations="fast").process(signal)
    assert 1e-9 < np.abs(fast - truth).max() <= 5e-4 * np.abs(truth).max()
    frame = generate(model, block=False)
    assert "trt_conv1d_step" in frame.source and "trt_blk_linear" not in frame.source
    out = H.run(model, signal, seed=5, block=False)
    assert np.abs(out - truth).max() <= 1e-5 * np.abs(truth).max()


def test_the_plain_c_kernels_and_another_chunk_size_compute_the_same_model(signal):
    """-DTRT_PLAIN_C (what a target without SIMD compiles) and 16-frame chunks, on the gated model's odd sizes."""
    model = _gated()
    truth = model.reference().process(signal)
    for options in ({"extra_flags": ("-DTRT_PLAIN_C",)}, {"block": 16}):
        out = H.run(model, signal, seed=9, **options)
        assert np.abs(out - truth).max() <= 1e-5 * np.abs(truth).max(), options


def test_the_unread_last_1x1_is_pruned_and_the_memory_macros_are_true():
    model = _preset("nano")
    code = generate(model)
    weights = int(re.search(r"#define NANO_WEIGHT_BYTES (\d+)", code.header).group(1))
    everything = 4 * sum(w.size for layer in model.layers for w in layer.weights.values())
    last_1x1 = 4 * (2 * 2 + 2)  # the last array's last 1x1 (2 channels): weight and bias, read by nothing
    assert weights == everything - last_1x1
    engine = CBackend(model)
    size = engine._lib.nano_state_size
    size.restype = ctypes.c_size_t
    state = int(re.search(r"#define NANO_STATE_BYTES (\d+)", code.header).group(1))
    assert state == size()
    # histories of every conv input (1024 past frames at dilation 512) and the scratch live in the state,
    # not on the stack
    assert state > 4 * 2 * 1024 * 2 and "float blk_s0[" in code.header
    assert int(re.search(r"#define NANO_STACK_BYTES (\d+)", code.header).group(1)) < 512


def test_scratch_buffers_are_shared_by_liveness():
    code = generate(_preset("feather"))
    slots = re.findall(r"float blk_s\d+\[(\d+)\]", code.header)
    histories = re.findall(r"float blk_h\d+\[", code.header)
    assert len(histories) == 20  # one per conv input
    assert 2 <= len(slots) <= 6, slots  # ~200 graph tensors in a handful of chunk buffers


def test_stacks_of_stateless_and_conv_layers_run_in_blocks_when_asked(signal):
    rng = np.random.default_rng(6)
    conv = Layer("conv1d", {"in_channels": 3, "out_channels": 5, "kernel_size": 3, "dilation": 2, "bias": True},
                 {"weight": rng.normal(0, 0.4, (5, 3, 3)), "bias": rng.normal(0, 0.1, 5)})
    bn = Layer("batchnorm", {"features": 5}, {"weight": rng.uniform(0.5, 2, 5), "bias": rng.normal(0, 1, 5),
                                              "running_mean": rng.normal(0, 1, 5),
                                              "running_var": rng.uniform(0.5, 2, 5)})
    model = Model([R.dense(rng, 1, 3), conv, R.activation(rng, "tanh", 5), bn, R.activation(rng, "relu", 5),
                   R.dense(rng, 5, 2), Layer("gain", {"features": 2, "gain": 0.5})], input_size=1,
                  name="stack").validate()
    assert "trt_blk_linear" not in generate(model).source  # stacks keep the frame engine unless asked
    assert "trt_blk_linear" in generate(model, block=True).source
    truth = model.reference().process(signal)
    out = H.run(model, signal, seed=3, block=True)
    assert np.abs(out - truth).max() <= 1e-5 * max(1.0, np.abs(truth).max())
    lstm = R.effect_model(rng, "lstm", 4)
    with pytest.raises(UnsupportedError, match="layer 0 is lstm; generate it with block=False"):
        generate(lstm, block=True)
    with pytest.raises(UnsupportedError, match="positive multiple of 16 frames"):
        generate(model, block=40)
    assert generate(model, block=32).source.count("n_frames - t < 32") == 1


def test_the_block_engine_never_allocates_or_locks():
    report = H.check_code(generate(_gated()), frames=4096, block=48)
    assert report["probe_heap_calls"] == 1 and report["heap_calls"] == 0 and report["lock_calls"] == 0
    assert report["forbidden_symbols"] == [] and report["passed"]
    assert not re.search(r"malloc|pthread|printf", generate(_gated()).source)


def test_the_processor_runs_a_wavenet(signal):
    model = _preset("nano")
    model.sample_rate = 48000.0
    proc = Processor([model], "amp")
    x = signal[:, 0]
    rng = np.random.default_rng(2)
    cuts = np.cumsum(rng.integers(1, 300, 40))
    out = np.concatenate([proc.process(b) for b in np.split(x, cuts[cuts < len(x)])])
    assert proc.latency == 0
    np.testing.assert_array_equal(out, CBackend(model).process(signal)[:, 0])
    truth = model.reference().process(signal)[:, 0]
    assert np.abs(out - truth).max() <= 1e-5 * np.abs(truth).max()


def test_a_hostile_name_gives_valid_block_c(signal):
    model = _gated()
    model.name = 'amp */ #define x "<é>"\n'
    code = generate(model)
    assert code.name.isidentifier() and "trt_blk_linear" in code.source
    out = tinyrt.backend(model, "c").process(signal[:300])
    assert np.abs(out - model.reference().process(signal[:300])).max() <= 1e-5 * max(1e-3, np.abs(out).max())


@pytest.mark.parametrize("arch", ["aarch64", "armhf"])
def test_a_nano_wavenet_cross_built_equals_the_reference_under_qemu(arch, signal, tmp_path):
    model = _preset("nano")
    exe = cross_harness(generate(model), arch)
    src, dst = tmp_path / "in.f32", tmp_path / "out.f32"
    frames = signal[:3000]
    frames.tofile(src)
    proc = emulate(arch, [exe, "run", src, dst, 7], timeout=120)
    assert proc.returncode == 0, proc.stderr
    truth = model.reference().process(frames)[:, 0]
    err = np.abs(np.fromfile(dst, dtype=np.float32) - truth).max()
    assert err <= 1e-5 * np.abs(truth).max(), f"{arch}: max error {err:.3g}"


def test_a_standard_wavenet_compiles_for_cortex_m7_with_its_sizes():
    model = _preset("standard")
    code = generate(model, block=16)  # a smaller chunk: less scratch and history room in a microcontroller's RAM
    obj = cross_build(code.files(), f"{code.name}.o", "cortex-m7", kind="object")
    sizes = section_sizes(obj, "arm-none-eabi-size")
    weights = int(re.search(r"#define STANDARD_WEIGHT_BYTES (\d+)", code.header).group(1))
    state = int(re.search(r"#define STANDARD_STATE_BYTES (\d+)", code.header).group(1))
    assert sizes["rodata"] >= weights and sizes["text"] > 0
    assert sizes["bss"] == 0 and sizes["data"] == 0  # the state is the caller's, nothing static but weights
    assert 4 * 16 * 1024 < state < 512_000  # histories (1024 frames x 16 channels at dilation 512) fit in RAM
    assert BLOCK_FRAMES == 64


def test_the_activation_loops_over_a_block_vectorise(tmp_path):
    """tanh in place over a chunk (ungated, -O2) and tanh x sigmoid (gated, native) compile to vector loops."""
    header = runtime_headers()["trt_block.h"].splitlines()
    lines = {f"trt_block.h:{i + 1}:" for i, line in enumerate(header)
             if "yr[t] = trt_blk_f(yr[t], fn" in line or "yr[t] = trt_blk_f(yr[t], fa" in line}
    assert len(lines) == 2
    for model, profile in ((_preset("nano"), "portable"), (_gated(), "native")):
        code = generate(model)
        for name, text in {**runtime_headers(), **code.files()}.items():
            (tmp_path / name).write_text(text)
        proc = subprocess.run(["gcc", *flags_for(profile), "-c", str(tmp_path / f"{code.name}.c"), "-o",
                               str(tmp_path / "m.o"), "-fopt-info-vec-optimized"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        vectorised = {line.split("trt_block.h:")[1].split(":")[0] for line in proc.stderr.splitlines()
                      if "trt_block.h:" in line and "loop vectorized" in line}
        assert {f"trt_block.h:{n}:" for n in vectorised} & lines, (model.name, profile, proc.stderr[-500:])
