"""The ``pi4`` and ``armhf`` targets: each model's C harness cross-built for a Raspberry Pi 4 (AArch64) or a
Bela / BeagleBone (ARMv7 NEON, hard float), with the model's C and the commands to run it on the board.

The harness is the same ``trt_harness.c`` program the host's tests and benchmarks use (``run IN OUT
SEED`` for parity, ``time FRAMES BLOCK REPS`` for callback timing), compiled with the target's
compiler and CPU flags (``tinyrt.c.cross.TOOLCHAINS``) and linked statically, so it runs on a board
whose C library is older than the cross compiler's. The tests run every layer type through it under
qemu-user and compare with the float64 reference; ``tinyrt bench --device`` (``tinyrt.deploy.remote``)
ships it to a board over SSH.

``processor_driver`` / ``cross_processor`` build the generated processor (every live front door's
audio call) for a target with a small stdin -> stdout driver, the same proof for the processor.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .. import c as runtime
from ..backends.c import generate
from ..c.cross import TOOLCHAINS, cross_build
from ..files import write_text
from . import Deployment, c_names, output_folder

# deploy target -> cross toolchain
ARCHES = {"pi4": "aarch64", "armhf": "armhf"}
HARNESS = "trt_harness.c"
DRIVER = "trt_proc_run.c"


def harness_source() -> str:
    """Return the text of trt_harness.c, wherever tinyrt.c keeps host-only C (HOST_DIR, else RUNTIME_DIR)."""
    folder = getattr(runtime, "HOST_DIR", None) or runtime.RUNTIME_DIR
    return (Path(folder) / HARNESS).read_text()


def with_headers(files: dict) -> dict:
    """Return files plus the runtime headers their C includes (directly or through each other)."""
    return {**runtime.included_headers(*files.values()), **files}


def harness_name(code) -> str:
    """Return the file name of a model's harness executable."""
    return f"{code.name}-harness"


def cross_harness(code, arch: str, *, static: bool = True, extra_flags=()) -> Path:
    """Return the model's C harness (``code`` from ``generate``) built for ``arch`` (aarch64, armhf), cached."""
    flags = [f"-DTRT_MODEL={code.name}", f'-DTRT_MODEL_HEADER="{code.name}.h"', *extra_flags]
    return cross_build({**code.files(), HARNESS: harness_source()}, harness_name(code), arch,
                       extra_flags=flags, static=static)


def processor_driver(code) -> str:
    """Return a C program streaming float32 stdin through the processor to stdout.

    Usage: ``driver RATE CHUNK [INDEX=VALUE ...] < in.f32 > out.f32``: parameters are set after
    init, then the input is processed in calls of CHUNK samples (in place, as a host may).
    """
    n = code.name
    return f"""/* {DRIVER} - stream mono float32 from stdin through the {n} processor to stdout.
 * Usage: driver RATE CHUNK [INDEX=VALUE ...] < in.f32 > out.f32 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "{n}.h"

static {n}_state state;
static float buf[65536];

int main(int argc, char **argv)
{{
    int chunk, i;
    size_t got;
    if (argc < 3) {{
        fprintf(stderr, "usage: %s RATE CHUNK [INDEX=VALUE ...]\\n", argv[0]);
        return 2;
    }}
    chunk = atoi(argv[2]);
    if (chunk < 1 || chunk > 65536) return 2;
    if ({n}_init(&state, (float)atof(argv[1])) != 0) {{
        fprintf(stderr, "the processor refused sample rate %s\\n", argv[1]);
        return 2;
    }}
    for (i = 3; i < argc; i++) {{
        const char *eq = strchr(argv[i], '=');
        if (!eq) return 2;
        {n}_set_param(&state, atoi(argv[i]), (float)atof(eq + 1));
    }}
    {n}_reset(&state);
    while ((got = fread(buf, sizeof(float), (size_t)chunk, stdin)) > 0) {{
        {n}_process(&state, buf, buf, (int)got);
        if (fwrite(buf, sizeof(float), got, stdout) != got) return 1;
    }}
    return ferror(stdin) ? 1 : 0;
}}
"""


def cross_processor(code, arch: str, *, static: bool = True) -> Path:
    """Return the processor (``code`` from ``generate_processor``) with its stdin/stdout driver, built for arch."""
    return cross_build({**code.files(), DRIVER: processor_driver(code)}, f"{code.name}-proc", arch, static=static)


def _readme(arch: str, idents: list, static: bool) -> str:
    tc = TOOLCHAINS[arch]
    lines = [f"tinyrt cross-build for {tc.description}.",
             f"Compiler: {tc.cc} {' '.join(tc.flags)}" + (" -static" if static else ""),
             "",
             "Each <name>-harness runs one model (frames are raw float32, native byte order):",
             "  ./<name>-harness time FRAMES BLOCK REPS   time REPS passes over FRAMES frames of noise in calls",
             "                                           of BLOCK frames, then every call of one pass; prints JSON",
             "                                           (pass_ns, call_ns mean/median/p99/max)",
             "  ./<name>-harness run IN OUT SEED          process IN in calls of random sizes drawn from SEED",
             "                                           (0: one call) and write OUT",
             "",
             "On the board:"]
    for ident in idents:
        lines += [f"  chmod +x {ident}-harness",
                  f"  ./{ident}-harness time 48000 64 5",
                  f"  ./{ident}-harness run in.f32 out.f32 7"]
    lines += ["",
              "Or from this machine, with timings and a parity check against the reference:",
              f"  tinyrt bench MODEL --device USER@BOARD --arch {arch}",
              "",
              f"Here, under qemu-user: {tc.qemu} -L {tc.sysroot} ./<name>-harness time 4800 64 1",
              "Rebuild: " + tc.cc + " " + " ".join(tc.flags) + " -std=c99 -I. "
              "'-DTRT_MODEL=<name>' '-DTRT_MODEL_HEADER=\"<name>.h\"' trt_harness.c <name>.c -o <name>-harness -lm"
              + (" -static" if static else ""),
              ""]
    return "\n".join(lines)


def _deploy(target: str, models: list, out: Path, build: bool = True, static: bool = True,
            name: str | None = None, **codegen_options) -> Deployment:
    arch = ARCHES[target]
    idents = c_names(models)
    codes = [generate(m, ident, **codegen_options) for m, ident in zip(models, idents)]
    output_folder(out)
    files = {HARNESS: harness_source()}
    for code in codes:
        files.update(code.files())
    files = with_headers(files)
    for file_name, text in files.items():
        write_text(out / file_name, text)
    write_text(out / "README.txt", _readme(arch, idents, static))
    result = Deployment(target, out)
    if build:
        for code in codes:
            exe = out / harness_name(code)
            shutil.copyfile(cross_harness(code, arch, static=static), exe)
            exe.chmod(0o755)
            result.built.append(exe.name)
    result.files = sorted(p.name for p in out.iterdir() if p.is_file())
    result.notes.append(f"{TOOLCHAINS[arch].description}: copy the folder to the board and run "
                        f"./{idents[0]}-harness time 48000 64 5 (see README.txt)")
    return result


def deploy_pi4(models: list, out: Path, **options) -> Deployment:
    """Cross-build every model's harness for a Raspberry Pi 4 (AArch64, Cortex-A72) into ``out``."""
    return _deploy("pi4", models, out, **options)


def deploy_armhf(models: list, out: Path, **options) -> Deployment:
    """Cross-build every model's harness for Bela / BeagleBone (Cortex-A8 NEON, hard float) into ``out``."""
    return _deploy("armhf", models, out, **options)
