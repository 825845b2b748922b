"""NAM WaveNets made, exported and run by neural-amp-modeler's own code (tests/nam_reference.py), loaded with
tinyrt.load and run on every engine: equal to NAM's PyTorch output; NAM 0.13's newer features supported or refused
in one sentence; tinyrt's WaveNets written back as .nam files that NAM loads with equal outputs.

Tolerance (``_close``): NAM WaveNets are quiet (head_scale 0.02: output RMS about 0.005-0.1), where an absolute
1e-5 would hide real errors, so every comparison is relative to the output level: max abs error <= 1e-5 x the
output RMS (an RMS below 0.01 counts as 0.01, i.e. at most 1e-7 absolute). Engines start after NAM's prewarm
(``metadata["nam_prewarm_samples"]`` zeros), as the trainer pads and NeuralAmpModelerCore prewarms.
"""
import json
from pathlib import Path

import numpy as np
import pytest

import tinyrt
from nam_reference import (
    WAVENET_PRESETS,
    _identity_wavenet,
    _nam_models,
    _randomise,
    _wavenet_config,
    guitar,
    load_nam,
    nam_output,
)
from tinyrt.backends.nam_wavenet import wavenet_to_nam, wavenet_writer
from tinyrt.errors import FormatError, UnsupportedError
from tinyrt.frontends.nam import from_nam
from tinyrt.frontends.wavenet import LayerArray, PostHead, a2_arrays, act, preset_arrays, wavenet_model

ENGINES = ("reference", "c", "torch", "onnxruntime")
RELATIVE = 1e-5


def _nam_net(config: dict, seed: int = 0, identity: bool = False):
    """Return NAM's WaveNet (nam.models.wavenet.WaveNet) of a preset name or config, random or identity weights."""
    config = _wavenet_config(config)
    if identity:
        for lc in config["layers_configs"]:
            lc["activation"] = "Identity"
    config["sample_rate"] = 48000.0
    net = _nam_models().wavenet.WaveNet.init_from_config(config)
    _identity_wavenet(net, config) if identity else _randomise(net, seed, scale=0.3)
    return net.eval()


def _export(net, tmp_path, name: str) -> Path:
    """Export with NAM's exporter; the loudness/gain metadata (12 passes over NAM's loudness WAV) is skipped."""
    net._metadata_loudness = lambda *args, **kwargs: -20.0
    net._metadata_gain = lambda: 0.5
    net.export(tmp_path, basename=name)
    return tmp_path / f"{name}.nam"


def _nam_file(tmp_path, config, seed=0, identity=False, name="wavenet"):
    net = _nam_net(config, seed, identity)
    return _export(net, tmp_path, name), net


def _run(model, engine: str, audio: np.ndarray) -> np.ndarray:
    """Return the engine's output after NAM's prewarm (silence), the audio fed in calls of 0.25 s and less (streaming
    state carried across them; short calls also keep the float64 reference's memory small)."""
    e = model.reference() if engine == "reference" else tinyrt.backend(model, engine)
    e.process(np.zeros((model.metadata["nam_prewarm_samples"], 1), np.float32))
    cuts = [0, len(audio) // 3, *range(12000, len(audio), 12000), len(audio)]
    cuts = sorted(set(c for c in cuts if c <= len(audio)))
    return np.concatenate([e.process(audio[a:b, None]) for a, b in zip(cuts, cuts[1:])])[:, 0]


def _close(y, truth, what=""):
    level = max(float(np.sqrt(np.mean(truth.astype(np.float64) ** 2))), 1e-2)
    err = float(np.abs(y - truth).max())
    assert err <= RELATIVE * level, f"{what}: max abs error {err:.3g} for output RMS {level:.3g}"
    return err


@pytest.fixture(scope="module")
def audio():
    return guitar(10.0, 48000).copy()  # writable: the torch engine wraps its input without copying


@pytest.mark.parametrize("preset, seconds, engines", [
    ("nano", 10.0, ENGINES),  # the 10 s proof on every engine (the float64 reference takes longest)
    ("standard", 1.0, ENGINES),
    ("lite", 0.5, ("reference", "torch")),  # (C compiles are the slow part: C is proven on nano and standard)
    ("feather", 0.5, ("reference", "torch")),
])
def test_a_trainer_preset_runs_on_every_engine_as_nam_does(preset, seconds, engines, audio, tmp_path):
    path, net = _nam_file(tmp_path, preset, seed=3, name=preset)
    x = audio[:int(48000 * seconds)]
    truth = nam_output(net, x)
    model = tinyrt.load(path)
    assert model.metadata["nam_architecture"] == "WaveNet" and model.sample_rate == 48000.0
    assert float(np.sqrt(np.mean(truth ** 2))) > 1e-3  # not a silent model
    errors = {e: _close(_run(model, e, x), truth, f"{preset} on {e}") for e in engines}
    print(preset, {e: f"{v:.2e}" for e, v in errors.items()})


def test_identity_wavenets_give_the_input_back(audio, tmp_path):
    x = audio[:24000]
    for preset in ("nano", {"layers_configs": [dict(WAVENET_PRESETS["nano"]["layers_configs"][0], head_size=1,
                                                    gated=True, head_bias=True)], "head_scale": 0.5}):
        path, net = _nam_file(tmp_path, preset, identity=True, name="identity")
        assert np.abs(nam_output(net, x) - x).max() < 1e-6
        model = tinyrt.load(path)
        for engine in ("reference", "c" if preset == "nano" else "torch"):
            assert np.abs(_run(model, engine, x) - x).max() < 1e-6, engine


def _classic(doc: dict) -> dict:
    """Return a NAM 0.13 WaveNet document rewritten as neural-amp-modeler 0.5-0.12 wrote it (most captures in the
    wild): each array's constructor arguments (nam/models/wavenet.py ``_Layers`` at v0.12.3: input_size,
    condition_size, head_size, channels, kernel_size, dilations, activation name, gated, head_bias), version 0.5.4;
    the weights are laid out the same."""
    layers = []
    for lc in doc["config"]["layers"]:
        assert len(set(lc["kernel_sizes"])) == 1 and len(set(lc["gating_mode"])) == 1
        layers.append({"input_size": lc["input_size"], "condition_size": lc["condition_size"],
                       "head_size": lc["head"]["out_channels"], "channels": lc["channels"],
                       "kernel_size": lc["kernel_sizes"][0], "dilations": lc["dilations"],
                       "activation": lc["activation"][0]["type"], "gated": lc["gating_mode"][0] == "gated",
                       "head_bias": lc["head"]["bias"]})
    config = {"layers": layers, "head": None, "head_scale": doc["config"]["head_scale"]}
    return {**doc, "version": "0.5.4", "config": config}


def test_a_classic_file_as_trainers_before_013_wrote_it_runs_as_nam_does(audio, tmp_path):
    cfg = {"layers_configs": [dict(WAVENET_PRESETS["nano"]["layers_configs"][0], gated=True),
                              WAVENET_PRESETS["nano"]["layers_configs"][1]], "head_scale": 0.02}
    path, net = _nam_file(tmp_path, cfg, seed=8)
    classic = _classic(json.loads(path.read_text()))
    assert "head" not in classic["config"]["layers"][0] and classic["config"]["layers"][0]["gated"] is True
    x = audio[:3000]
    model = from_nam(classic)
    _close(_run(model, "reference", x), nam_output(net, x), "classic layout")


# NAM 0.13 configs (nam/models/wavenet/_layer_array.py): every option tinyrt maps onto its IR layers
_BASE = {"input_size": 1, "condition_size": 1, "channels": 4, "kernel_size": 3, "dilations": [1, 2, 4],
         "activation": "Tanh", "head": {"out_channels": 2, "kernel_size": 1, "bias": False}}
FEATURES = {
    "gated, several arrays, head bias": {"layers_configs": [
        dict(_BASE, activation={"name": "PairMultiply", "primary": "Tanh", "secondary": "Sigmoid"}),
        dict(_BASE, input_size=4, channels=2, dilations=[8, 1, 16],
             head={"out_channels": 1, "kernel_size": 1, "bias": True})], "head_scale": 0.1},
    "per-layer kernels and activations": {"layers_configs": [dict(
        _BASE, kernel_sizes=[2, 3, 5], activation=[{"name": "LeakyReLU", "negative_slope": 0.1}, "ReLU",
                                                  {"name": "Hardtanh", "min_val": -0.5, "max_val": 0.25}],
        head={"out_channels": 1, "kernel_size": 1, "bias": True})], "head_scale": 0.5},
    "leaky hardtanh, silu, softsign, hardswish, gated with other activations": {"layers_configs": [dict(
        _BASE, dilations=[1, 2, 4, 8], activation=[
            {"name": "LeakyHardtanh", "min_val": -0.3, "max_val": 0.2, "min_slope": 0.05, "max_slope": 0.1},
            "SiLU", {"name": "PairMultiply", "primary": "ReLU", "secondary": "Hardswish"}, "Softsign"],
        head={"out_channels": 1, "kernel_size": 1, "bias": True})], "head_scale": 0.5},
    "bottleneck, head 1x1, groups": {"layers_configs": [dict(
        _BASE, channels=4, bottleneck=6, groups_input=2, head_1x1_config={"active": True, "out_channels": 3,
                                                                          "groups": 1},
        layer_1x1_config={"active": True, "groups": 2}, head={"out_channels": 1, "kernel_size": 1, "bias": True})],
        "head_scale": 0.5},
    "blended (PairBlend), gated and plain layers in one array": {"layers_configs": [dict(
        _BASE, activation=[{"name": "PairBlend", "primary": "Tanh", "secondary": "Sigmoid"},
                           {"name": "PairMultiply", "primary": "Tanh", "secondary": "Sigmoid"},
                           {"name": "PairBlend", "primary": "ReLU", "secondary": "Hardswish"}],
        head={"out_channels": 1, "kernel_size": 1, "bias": True})], "head_scale": 0.5},
    "FiLM at every other position, gated and plain layers": {"layers_configs": [dict(
        _BASE, activation=[{"name": "PairMultiply", "primary": "Tanh", "secondary": "Sigmoid"}, "Tanh", "ReLU"],
        head_1x1_config={"active": True, "out_channels": 3, "groups": 1},
        film_params={key: {"active": True, "shift": key != "conv_post_film"} for key in (
            "conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film", "activation_pre_film",
            "activation_post_film", "head1x1_post_film")},
        head={"out_channels": 1, "kernel_size": 1, "bias": True})], "head_scale": 0.5},
    "slimmable (runs at full width)": {"layers_configs": [dict(
        _BASE, slimmable={"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4]}},
        head={"out_channels": 1, "kernel_size": 1, "bias": True})], "head_scale": 0.5},
    "A2-like: head rechannel of several taps, post-stack head": {"layers_configs": [dict(
        _BASE, kernel_sizes=[6, 6, 15], dilations=[1, 3, 7], activation={"name": "LeakyReLU"},
        head={"out_channels": 2, "kernel_size": 16, "bias": True})],
        "head": {"channels": 3, "activation": "Tanh", "out_channels": 1, "kernel_sizes": [2, 1]},
        "head_scale": 0.5},
}


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_a_nam_013_feature_that_maps_onto_ir_layers_runs_as_nam_does(feature, audio, tmp_path):
    path, net = _nam_file(tmp_path, FEATURES[feature], seed=5)
    x = audio[:6000]
    truth = nam_output(net, x)
    assert float(np.sqrt(np.mean(truth ** 2))) > 1e-3
    model = tinyrt.load(path)
    assert ("nam_slimmable" in model.metadata) == ("slimmable" in feature)
    for engine in ("reference", "c", "torch"):
        _close(_run(model, engine, x), truth, f"{feature} on {engine}")


REFUSED = {
    "FiLM after the layer1x1": (dict(_BASE, film_params={"layer1x1_post_film": {"active": True}}),
                                "uses FiLM after the layer1x1, where NAM's trainer and NeuralAmpModelerCore"),
    "layer1x1 off": (dict(_BASE, channels=4, layer_1x1_config={"active": False}),
                     "turns the layer1x1 off, where NAM's trainer"),
}


@pytest.mark.parametrize("feature", sorted(REFUSED))
def test_a_nam_feature_tinyrt_lacks_is_refused_in_one_sentence(feature, tmp_path):
    layer, message = REFUSED[feature]
    path, _ = _nam_file(tmp_path, {"layers_configs": [layer], "head_scale": 0.5})
    with pytest.raises(UnsupportedError, match="layer array 0") as info:
        tinyrt.load(path)
    assert message in str(info.value) and str(info.value).count(". ") == 0


def test_a_condition_dsp_and_fasttanh_are_refused_in_one_sentence(tmp_path):
    cond = {"layers_configs": [dict(_BASE, head={"out_channels": 1, "kernel_size": 1, "bias": True})],
            "head_scale": 0.5}
    cfg = {**cond, "condition_dsp": {"name": "WaveNet", "config": cond}}
    path, _ = _nam_file(tmp_path, cfg)
    with pytest.raises(UnsupportedError, match="has a condition DSP .* which tinyrt does not run yet"):
        tinyrt.load(path)
    doc = json.loads(_nam_file(tmp_path, "nano")[0].read_text())
    doc["config"]["layers"][0]["activation"] = [{"type": "Fasttanh"}] * 7
    with pytest.raises(UnsupportedError, match="Fasttanh, an approximation"):
        from_nam(doc)


def test_a_packed_a2_container_gives_its_largest_submodel_or_the_one_asked_for(audio, tmp_path, monkeypatch):
    # neural-amp-modeler 0.13's trainer trains a PackedWaveNet (nam/train/_resources/config_model_packed.json: the
    # A2 WaveNet at 3 and 8 channels) and exports a SlimmableContainer; the same, with 3 of A2's 23 layers
    models = _nam_models()
    monkeypatch.setattr(models.base.BaseNet, "_metadata_loudness", lambda self, *a, **k: -20.0)
    monkeypatch.setattr(models.base.BaseNet, "_metadata_gain", lambda self: 0.5)
    layer = {"input_size": 1, "condition_size": 1, "kernel_sizes": [6, 15, 6], "dilations": [1, 13, 3],
             "activation": "LeakyReLU", "gated": False, "head": {"out_channels": 1, "kernel_size": 16, "bias": True}}
    packed = models.wavenet.PackedWaveNet.init_from_config({
        "submodels": [{"name": f"channels_{c}", "config": {"layers_configs": [dict(layer, channels=c)],
                                                           "head_scale": 0.01}} for c in (3, 8)],
        "export": {"container_max_values": "uniform"}, "sample_rate": 48000.0})
    _randomise(packed, 4, scale=0.3)
    packed.eval()
    packed.export(tmp_path, basename="a2")
    path = tmp_path / "a2.nam"
    assert json.loads(path.read_text())["architecture"] == "SlimmableContainer"
    x = audio[:4000]
    for submodel, index in ((None, 1), (0, 0)):
        model = tinyrt.load(path, submodel=submodel)
        assert model.metadata["nam_container_submodel"] == index
        truth = nam_output(packed.extract_submodel(index), x)
        _close(_run(model, "c", x), truth, f"submodel {index}")
    with pytest.raises(UnsupportedError, match="submodel=2 is not an index of the container's 2 submodels"):
        tinyrt.load(path, submodel=2)


def test_the_a2_presets_are_the_ones_nam_013_trains(tmp_path):
    import importlib.util
    _nam_models()  # (read as a file: importing nam.train needs the trainer's dependencies)
    root = Path(importlib.util.find_spec("nam").submodule_search_locations[0])
    trainer = json.loads((root / "train" / "_resources" / "config_model_packed.json").read_text())
    trainer = trainer["net"]["config"]["submodels"]
    for preset, sub in zip(("a2-lite", "a2-full"), trainer):
        arrays, scale = a2_arrays(preset, np.random.default_rng(0))
        doc = wavenet_to_nam(wavenet_model(arrays, scale, name=preset, sample_rate=48000.0))
        nam, ours = sub["config"]["layers_configs"][0], doc["config"]["layers"][0]
        assert (ours["channels"], ours["kernel_sizes"], ours["dilations"], ours["head"]) == (
            nam["channels"], nam["kernel_sizes"], nam["dilations"], nam["head"])
        assert nam["activation"] == "LeakyReLU" and ours["activation"][0] == {"type": "LeakyReLU",
                                                                              "negative_slope": 0.01}
        assert scale == sub["config"]["head_scale"]
        path = tmp_path / f"{preset}.nam"
        path.write_text(json.dumps(doc))
        x = guitar(0.1).copy()
        _close(_run(tinyrt.load(path), "reference", x), nam_output(path, x), preset)


def test_declared_sizes_are_checked_before_anything_is_allocated(tmp_path):
    doc = json.loads(_nam_file(tmp_path, "nano")[0].read_text())
    doc["config"]["layers"][0]["channels"] = 10 ** 9
    with pytest.raises(FormatError, match="more than the limit of 65536"):
        from_nam(doc)
    doc = json.loads(_nam_file(tmp_path, "nano")[0].read_text())
    doc["weights"] = doc["weights"][:-2]
    with pytest.raises(FormatError, match="needs 842 weights but the file has 840"):
        from_nam(doc)


def _tinyrt_wavenet(name="wavenet"):
    rng = np.random.default_rng(7)
    # (NAM's loader takes only plain names as the halves of a gated activation: parameters go to ungated layers)
    films = {"conv_pre_film": {"shift": True, "groups": 1}, "activation_post_film": {"shift": False, "groups": 1},
             "head1x1_post_film": {"shift": True, "groups": 1}}
    arrays = [LayerArray(1, 1, 4, 3, 3, [1, 2, 4, 8], head1x1=3, kernel_sizes=[2, 3, 3, 2],
                         activations=["tanh", "silu", "relu", "tanh"], gating=["gated", "blended", "none", "gated"],
                         secondary=["sigmoid", "hardswish", None, "sigmoid"], films=films).random(rng),
              LayerArray(4, 1, 3, 1, 3, [16, 1, 2], activations=[
                  act("hardtanh", min_val=-0.5, max_val=0.5, min_slope=0.1, max_slope=0.2), act("prelu", weight=[0.2]),
                  act("hardtanh", min_val=-0.25, max_val=0.5)]).random(rng, head_bias=True)]
    head = PostHead("tanh", [rng.uniform(-0.5, 0.5, (2, 1, 3)), rng.uniform(-0.5, 0.5, (1, 2, 1))],
                    [rng.uniform(-0.1, 0.1, 2), rng.uniform(-0.1, 0.1, 1)])
    return wavenet_model(arrays, 0.25, name=name, sample_rate=48000.0, head=head)


@pytest.mark.parametrize("make", ["preset", "features"])
def test_a_wavenet_written_back_to_nam_loads_in_nam_and_in_tinyrt_with_equal_outputs(make, audio, tmp_path):
    hostile = 'amp "lead"\n*/ <ü>'
    if make == "preset":
        arrays, scale = preset_arrays("lite", np.random.default_rng(2))
        model = wavenet_model(arrays, scale, name=hostile, sample_rate=48000.0)
    else:
        model = _tinyrt_wavenet(hostile)
    path = tmp_path / "back.nam"
    path.write_text(json.dumps(wavenet_to_nam(model)))
    x = audio[:6000]
    truth = nam_output(path, x)
    back = tinyrt.load(path)
    assert back.metadata["name"] == hostile
    assert len(back.layers) == len(model.layers)
    prewarm = back.metadata["nam_prewarm_samples"]
    for m in (model, back):
        r = m.reference()
        r.process(np.zeros((prewarm, 1)))
        _close(r.process(x[:, None])[:, 0], truth, "round trip")
    if make == "features":  # the hostile name through the generated C too
        _close(_run(back, "c", x), truth, "C")
        model.metadata["nam_prewarm_samples"] = prewarm
        _close(_run(model, "c", x), truth, "C, hostile name")
    assert json.dumps(wavenet_to_nam(back)["config"]) == json.dumps(wavenet_to_nam(model)["config"])
    again = load_nam(path)  # NAM re-exports the same weights
    assert np.array_equal(np.asarray(again._export_weights(), dtype=np.float32),
                          np.asarray(json.loads(path.read_text())["weights"], dtype=np.float32))


def test_a_model_that_is_not_a_tinyrt_wavenet_is_refused_by_the_nam_exporter():
    from tinyrt.bench import models as R
    stack = tinyrt.Model([R.dense(np.random.default_rng(0), 1, 1)], input_size=1, name="d")
    with pytest.raises(UnsupportedError, match="is not a WaveNet graph as tinyrt's WaveNet importers build it"):
        wavenet_to_nam(stack)
    assert wavenet_writer(stack) is None  # the WRITERS interface of tinyrt.backends.nam: not its shape
    config, weights = wavenet_writer(_tinyrt_wavenet())
    assert len(config["layers"]) == 2 and weights[-1] == np.float32(0.25)
    model = _tinyrt_wavenet()
    model.layers[3].name = "renamed"
    with pytest.raises(UnsupportedError, match="is not a WaveNet graph"):
        wavenet_to_nam(model)


def test_the_cli_reads_a_nam_wavenet(tmp_path, capsys):
    from scipy.io import wavfile

    from tinyrt.cli import main
    path, _ = _nam_file(tmp_path, "nano", seed=3, name="nano")  # the preset test's model: its C build is cached
    wavfile.write(tmp_path / "in.wav", 48000, guitar(0.5))

    def cli(*args):
        assert main([str(a) for a in args]) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    assert "conv1d 'a1.l12 conv'" in cli("info", path)
    cli("run", path, tmp_path / "in.wav", tmp_path / "out.wav", "--engine", "c")
    rate, out = wavfile.read(tmp_path / "out.wav")
    assert rate == 48000 and len(out) == 24000 and np.abs(out).max() > 1e-4
    report = cli("check", path, "--seconds", "0.5", "--engines", "c,onnxruntime")
    assert report.count(" ok") == 2, report
    cli("export", path, "--to", "nam", "-o", tmp_path / "back.nam")  # NAM's WaveNet written back by the CLI
    x = guitar(0.2)
    assert np.abs(nam_output(tmp_path / "back.nam", x) - nam_output(path, x)).max() < 1e-7
