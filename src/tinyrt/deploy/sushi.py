"""The ``elk`` target: the models as an LV2 plugin on Elk Audio OS, hosted by Sushi.

The folder holds ``<name>.lv2/`` (the ``lv2`` target's bundle cross-built for aarch64, the
Raspberry Pi 4 of Elk Audio OS), ``<name>_sushi.json`` (a Sushi configuration: the models' sample
rate, one mono track "main" from engine channel 0 to engine channel 0 holding the plugin by URI,
and the parameter values as Sushi's initial state: keyed by the LV2 port names Sushi registers
them under, normalised to 0..1 over each port's range) and ``README.txt`` with the commands that
copy the bundle to the board and start Sushi. ``sushi_schema.json`` (next to this module) is the
JSON Schema of the configuration subset written here, following Sushi's documented format.
"""
from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

from ..errors import InputError
from ..files import write_text
from . import Deployment
from .lv2 import plugin_code, port_labels, write_bundle

SCHEMA = Path(__file__).with_name("sushi_schema.json")
ARCH = "aarch64"
TRACK = "main"


def schema() -> dict:
    """Return the JSON Schema of the Sushi configurations this target writes."""
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def normalised(code, settings: dict | None = None) -> dict:
    """Return {port name: value in 0..1} of every processor parameter, from its default or ``settings``.

    ``settings`` maps parameter names (``effect``, ``bypass``, ``input_gain``, ``output_gain``, knob
    names) to values in their own units (dB, model index, knob range).
    """
    settings = dict(settings or {})
    known = {p.name for p in code.params}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InputError(f"the plugin has no parameter {unknown[0]!r}; it has "
                         f"{', '.join(p.name for p in code.params)}.")
    out = {}
    for p, label in zip(code.params, port_labels(code)):
        value = float(settings.get(p.name, p.default))
        top = max(p.maximum, 1) if p.kind == "int" else p.maximum  # the port's range (lv2.py)
        if not (math.isfinite(value) and p.minimum <= value <= top):
            raise InputError(f"{p.name} = {value:g} is outside its range {p.minimum:g}..{top:g}.")
        out[label] = round((value - p.minimum) / (top - p.minimum), 9)
    return out


def config(code, uri: str, settings: dict | None = None) -> dict:
    """Return the Sushi configuration (a JSON-ready dict) hosting the plugin on one mono track."""
    rate = int(round(code.sample_rate or 48000))
    plugin = code.name
    return {
        "host_config": {"samplerate": rate},
        "tracks": [{
            "name": TRACK,
            "mode": "mono",
            "inputs": [{"engine_channel": 0, "track_channel": 0}],
            "outputs": [{"engine_channel": 0, "track_channel": 0}],
            "plugins": [{"uri": uri, "name": plugin, "type": "lv2"}],
        }],
        "initial_state": [{"processor": plugin, "bypassed": False, "parameters": normalised(code, settings)}],
    }


def _readme(bundle: str, config_name: str, uri: str, code) -> str:
    q = shlex.quote
    rate = int(round(code.sample_rate or 48000))
    names = "\n".join(f"  {k}: {m.name!r}" for k, m in enumerate(code.models))
    return f"""tinyrt -> Elk Audio OS (Raspberry Pi 4, aarch64): an LV2 plugin hosted by Sushi.

{bundle + "/":<24} the plugin (built for aarch64 / Cortex-A72), URI {uri}
{config_name:<24} Sushi configuration: {rate} Hz, mono track "{TRACK}" (input 0 -> plugin -> output 0)

Models behind the "Effect" parameter (index: name):
{names}
Latency: {code.latency} samples (reported on the plugin's latency port).

1. Copy the bundle and the configuration to the board (user "mind" on Elk Audio OS; the LV2
   folder must be on the board's LV2_PATH, ~/.lv2 is on it by default):

   ssh mind@elk-pi.local 'mkdir -p ~/.lv2 /udata/tinyrt'
   scp -r {q(bundle)} mind@elk-pi.local:~/.lv2/
   scp {q(config_name)} mind@elk-pi.local:/udata/tinyrt/

2. Start Sushi on the board with the configuration (RASPA, the real-time audio front end):

   ssh mind@elk-pi.local
   sushi -r -c /udata/tinyrt/{q(config_name)} &

   or with JACK instead of RASPA:   sushi -j -c /udata/tinyrt/{q(config_name)}
   or offline, a WAV through it:   sushi -o -i in.wav -c /udata/tinyrt/{q(config_name)}

Sushi's parameters are normalised to 0..1 over each port's range: Effect k is k / {max(len(code.models) - 1, 1)};
Input gain and Output gain map -60..24 dB to 0..1. Change them at run time through Sushi's gRPC
or OSC control (processor "{code.name}", parameters named as the plugin's ports: Effect, Bypass,
Input gain, ...).
"""


def deploy(models: list, out: Path, name: str = "models", build: bool = True, uri: str | None = None,
           settings: dict | None = None, **codegen_options) -> Deployment:
    """Write the Elk Audio OS folder: the aarch64 LV2 bundle, a Sushi configuration and README.txt."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder to deploy into.")
    code, uri, _ = plugin_code(models, name, uri, **codegen_options)
    cfg = config(code, uri, settings)  # refuses bad settings before anything is written
    bundle, uri, code = write_bundle(models, out, name, uri, ARCH, **codegen_options)
    config_name = f"{code.name}_sushi.json"
    write_text(out / config_name, json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
    write_text(out / "README.txt", _readme(bundle.name, config_name, uri, code))
    files = [str(p.relative_to(out)) for p in bundle.iterdir()] + [config_name, "README.txt"]
    result = Deployment("elk", out, sorted(files))
    result.built.append(f"{bundle.name}/{code.name}.so ({ARCH})")
    result.notes.append(f"plugin {uri} on Sushi track '{TRACK}' at {cfg['host_config']['samplerate']} Hz; "
                        f"see {out / 'README.txt'}")
    return result
