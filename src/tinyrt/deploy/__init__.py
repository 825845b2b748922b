"""Deploy: turn one or several models into something that builds and runs where the audio is.

A target is a function ``deploy(models, out, **options) -> Deployment`` registered by name in
``TARGETS`` (module, function), loaded on first use so a target's optional tools stay optional.
Every target writes into its own output folder and nowhere else; it uses only the generated C of
``tinyrt.backends.c`` (the same code the tests prove against the reference), never a second
implementation of a layer; what it builds keeps the engine's real-time contract (no allocation,
lock, I/O or wait in the audio path); a model a target cannot hold is refused in one sentence
naming the budget and the size; a missing toolchain is named with its Debian package.

``tinyrt deploy TARGET MODEL... -o DIR`` on the command line, ``tinyrt.deploy(TARGET, models, DIR)`` in Python.
This package may import every layer below it (bench, train, data, backends, frontends, audio,
ir); nothing below imports it.
"""
from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, UnsupportedError

# target name -> (module, function, one-line description)
TARGETS = {
    "c-project": ("tinyrt.deploy.cproject", "deploy",
                  "a C99 folder with every model, only the runtime headers they use, a Makefile "
                  "(static library + a stdin/stdout runner) for any C compiler"),
    "lv2": ("tinyrt.deploy.lv2", "deploy",
            "an LV2 plugin bundle (mono effect: model select, bypass, gains, knobs, latency) for the host, "
            "aarch64 or armhf"),
    "elk": ("tinyrt.deploy.sushi", "deploy",
            "Elk Audio OS: the aarch64 LV2 bundle, a Sushi JSON configuration and the commands to run it"),
    "pi4": ("tinyrt.deploy.cross", "deploy_pi4",
            "each model's C harness cross-built for a Raspberry Pi 4 (AArch64 Cortex-A72, static), its C and a README"),
    "armhf": ("tinyrt.deploy.cross", "deploy_armhf",
              "each model's C harness cross-built for Bela / BeagleBone (Cortex-A8 NEON hard float, static), "
              "its C and a README"),
    "cortex-m4": ("tinyrt.deploy.firmware", "deploy_m4",
                  "bare-metal firmware.elf for a Cortex-M4F (QEMU mps2-an386): startup, linker script, the models, "
                  "a test signal in flash, outputs over semihosting"),
    "cortex-m7": ("tinyrt.deploy.firmware", "deploy_m7",
                  "bare-metal firmware.elf for a Cortex-M7 (QEMU mps2-an500), as cortex-m4"),
    "bela": ("tinyrt.deploy.bela", "deploy",
             "a Bela project: render.cpp around the processor, analog and GUI (sketch.js) controls, "
             "the C files, Cortex-A8 NEON build flags"),
}


@dataclass
class Deployment:
    """What a target wrote: its folder, the files in it, and what was built and proven there."""

    target: str
    path: Path
    files: list = field(default_factory=list)
    built: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def summary(self) -> str:
        """Return a few lines saying what was written and built."""
        lines = [f"{self.target}: wrote {len(self.files)} files in {self.path}"]
        lines += [f"  built {b}" for b in self.built] + [f"  {n}" for n in self.notes]
        return "\n".join(lines)


def c_names(models) -> list:
    """Return each model's C identifier, refusing two models that would share one."""
    from ..backends.c import c_identifier
    idents = [c_identifier(m.name) for m in models]
    clash = sorted({i for i in idents if idents.count(i) > 1})
    if clash:
        raise InputError(f"two models would both be named '{clash[0]}' in C; rename one (tinyrt convert, or "
                         f"the model's name) before deploying them together.")
    return idents


def output_folder(out: Path) -> Path:
    """Return out after creating it as a folder; refuse a file in its place."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder to deploy into.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def deploy(target: str, models, out, **options) -> Deployment:
    """Deploy models (IR Models or model file paths) to the named target in folder ``out``; return what was done."""
    if target not in TARGETS:
        raise UnsupportedError(f"unknown deploy target {target!r}; choose one of {', '.join(TARGETS)}.")
    from ..frontends import from_file
    from ..ir import Model
    if isinstance(models, (Model, str, Path)):
        models = [models]
    models = [m if isinstance(m, Model) else from_file(m) for m in models]
    if not models:
        raise InputError("deploy needs at least one model.")
    module, function, _ = TARGETS[target]
    return getattr(importlib.import_module(module), function)(models, Path(out), **options)


__all__ = ["TARGETS", "Deployment", "deploy"]


class _DeployModule(types.ModuleType):
    """This package, callable: ``tinyrt.deploy(target, models, out)`` is ``tinyrt.deploy.deploy(...)``."""

    def __call__(self, *args, **kwargs):
        """Return the Deployment of deploy(*args, **kwargs)."""
        return deploy(*args, **kwargs)


sys.modules[__name__].__class__ = _DeployModule
