"""The Bela project: render.cpp compiles for the board's Cortex-A8 against declaration-only Bela headers, and,
cross-built for armhf with a harness that defines those calls, runs under qemu-arm equal to the Processor."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinyrt
from tinyrt.backends.c.processor import Processor
from tinyrt.bench import models as R
from tinyrt.c.cross import emulate, toolchain
from tinyrt.deploy.bela import BELA_FLAGS

STUBS = Path(__file__).parent / "bela_stubs"  # Bela.h, libraries/Gui/Gui.h: declarations only; harness.cpp
FRAMES = 16


def _models():
    rng = np.random.default_rng(7)
    fast = R.effect_model(rng, "lstm", 8)  # skip=True: see the report (gcc -O3 maybe-uninitialized)
    wide = R.effect_model(rng, "gru", 12, block_size=16)
    wide.name = "gru12_b16"
    return [fast, wide]


def _build(project: Path, tmp: Path) -> Path:
    """Cross-compile the project and the harness for armhf (Bela's flags); return the program."""
    cc = toolchain("armhf").cc
    cxx = cc.replace("gcc", "g++")
    objects = []
    for src in sorted(project.glob("*.c")):
        obj = tmp / (src.stem + ".o")
        subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", *BELA_FLAGS, "-I", str(project), "-c",
                        str(src), "-o", str(obj)], check=True, capture_output=True, timeout=120)
        objects.append(obj)
    for src in (project / "render.cpp", STUBS / "harness.cpp"):
        obj = tmp / (src.stem + ".o")
        proc = subprocess.run([cxx, "-std=c++11", "-Wall", "-Werror", *BELA_FLAGS, "-I", str(STUBS), "-I",
                               str(project), "-c", str(src), "-o", str(obj)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        objects.append(obj)
    program = tmp / "bela_harness"
    subprocess.run([cxx, *map(str, objects), "-o", str(program), "-lm"], check=True, capture_output=True, timeout=120)
    return program


def test_render_runs_under_qemu_arm_and_equals_the_processor(tmp_path):
    models = _models()
    result = tinyrt.deploy("bela", models, tmp_path / "proj", name="pedal")
    files = set(result.files)
    assert {"render.cpp", "sketch.js", "tinyrt_bela.c", "tinyrt_bela.h", "tinyrt_proc.c", "tinyrt_proc.h",
            "lstm8.c", "gru12_b16.c", "trt_proc.h", "bela-build.mk"} <= files
    assert "-mcpu=cortex-a8 -mfpu=neon -mfloat-abi=hard -O3" in (tmp_path / "proj" / "bela-build.mk").read_text()
    assert "variants (model block sizes): 1, 16" in result.summary() and "warning: the models run at 48000" in \
        result.summary()
    render = (tmp_path / "proj" / "render.cpp").read_text()
    for call in ("bool setup(BelaContext *context", "void render(BelaContext *context",
                 "void cleanup(BelaContext *context", "gui.setBuffer('f'", "gui.getDataBuffer(0).getAsFloat()",
                 "analogRead(context, 0, ch)", "audioWrite(context"):
        assert call in render
    sketch = (tmp_path / "proj" / "sketch.js").read_text()
    for control in ("'clean'", "'effects'", "'cycle'", "'model block'", "Bela.data.sendBuffer(0, 'float', state)"):
        assert control in sketch
    program = _build(tmp_path / "proj", tmp_path)

    rng = np.random.default_rng(8)
    audio = (0.5 * rng.uniform(-1, 1, 160 * FRAMES)).astype(np.float32)
    # GUI: variant 1 (the block-16 model) at block 20, clean at block 120, effects back at 140 with the variant
    # switched back; analog 2 (input gain) moves to 0.8 at block 60, analog 3 stays at 0 (never moved)
    events = ["g:20:2:1", "a:60:2:0.8", "g:90:5:-6", "g:120:0:1", "g:140:0:0", "g:140:2:0"]
    proc = emulate("armhf", [program, "48000", FRAMES, *events], input=audio.tobytes(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = np.frombuffer(proc.stdout, dtype=np.float32).reshape(-1, 2)
    assert len(out) == len(audio) and np.array_equal(out[:, 0], out[:, 1])

    ref = Processor(models, "tinyrt_proc", 48000)
    changes = {20: [("effect", 1)], 60: [("input_gain", -60 + 0.8 * 84)], 90: [("output_gain", -6)],
               120: [("bypass", 1)], 140: [("bypass", 0), ("effect", 0)]}
    expect = []
    for block in range(160):
        for name, value in changes.get(block, []):
            ref.set_param(name, value)
        expect.append(ref.process(audio[block * FRAMES:(block + 1) * FRAMES]))
    expect = np.concatenate(expect)
    assert np.abs(out[:, 0] - expect).max() <= 1e-6
    # the GUI and analog changes reached the audio: without them the processor gives another signal
    untouched = Processor(models, "tinyrt_proc", 48000).process(audio)
    for first, last in ((20, 60), (60, 90), (90, 120), (120, 140)):
        assert np.abs(untouched[first * FRAMES:last * FRAMES] - out[first * FRAMES:last * FRAMES, 0]).max() > 1e-2
    assert np.abs(untouched[:20 * FRAMES] - out[:20 * FRAMES, 0]).max() <= 1e-6


def test_setup_refuses_another_sample_rate(tmp_path):
    tinyrt.deploy("bela", _models()[:1], tmp_path / "proj")
    program = _build(tmp_path / "proj", tmp_path)
    proc = emulate("armhf", [program, "44100", FRAMES], input=np.zeros(64, np.float32).tobytes(), timeout=60)
    assert proc.returncode == 1 and b"setup failed" in proc.stderr


def test_a_hostile_model_name_stays_data(tmp_path):
    model = R.effect_model(np.random.default_rng(9), "gru", 4)
    model.name = 'x */ "q" </script> <b>\n\u2028\u00e9'
    model.metadata["params"] = []
    tinyrt.deploy("bela", [model], tmp_path / "proj")
    sketch = (tmp_path / "proj" / "sketch.js").read_text()
    spec = json.loads(sketch.split("const SPEC = ", 1)[1].split(";\n", 1)[0].replace("<\\/", "</"))
    assert spec["models"][0]["name"] == model.name
    assert "\u2028" not in sketch and "</script>" not in sketch
    assert "b.elt.textContent = " in sketch and "label.elt.textContent = spec.name" in sketch  # names as text
    _build(tmp_path / "proj", tmp_path)  # compiles with -Werror
    with pytest.raises(tinyrt.InputError, match="is a file"):
        (tmp_path / "f").write_text("x")
        tinyrt.deploy("bela", [model], tmp_path / "f")


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs sketch.js with stand-ins for p5.js and Bela")
def test_the_gui_sends_the_buffer_render_reads(tmp_path):
    rng = np.random.default_rng(11)
    models = [R.effect_model(rng, "lstm", 4), R.effect_model(rng, "gru", 4),
              R.effect_model(rng, "lstm", 8, block_size=16)]
    tinyrt.deploy("bela", models, tmp_path / "proj")
    # buttons: 0 clean, 1 effects on/off, 2 cycle, 3 model block, 4.. one per effect; sliders: input, output gain
    actions = ["press:5", "press:3", "press:2", "press:0", "slide:0:-6", "press:3", "press:2", "press:1"]
    proc = subprocess.run(["node", str(STUBS / "run_sketch.js"), str(tmp_path / "proj" / "sketch.js"), *actions],
                          capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(proc.stdout)
    states = [s["values"] for s in result["sent"]]
    assert all(s["index"] == 0 and s["type"] == "float" for s in result["sent"])
    # [clean, effect, model-block variant, on, input gain dB, output gain dB]
    assert states == [[0, 0, 0, 1, 0, 0], [0, 1, 0, 1, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 1, 1, 0, 0],
                      [1, 0, 1, 1, 0, 0], [1, 0, 1, 1, -6, 0], [1, 0, 0, 1, -6, 0], [1, 1, 0, 1, -6, 0],
                      [1, 1, 0, 0, -6, 0]]
    assert result["labels"] == ["clean: ON", "effects: off", "cycle", "model block 1", "lstm4", "gru4"]
