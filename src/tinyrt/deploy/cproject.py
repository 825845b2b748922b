"""The ``c-project`` target: every model's generated C99 in one folder that any C compiler builds.

The folder holds each model's ``<name>.h``/``<name>.c``, the runtime headers they include, a
``run.c`` that streams raw float32 frames from standard input through a chosen model to standard
output (the quickest way to prove a cross-build on its device), and a Makefile building
``lib<project>.a`` and ``<project>_run`` with ``$(CC)``/``$(CFLAGS)`` (so ``make
CC=aarch64-linux-gnu-gcc CFLAGS='-O2 -mcpu=cortex-a72'`` cross-builds it).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..backends import export
from ..backends.c import c_identifier
from ..errors import BuildError
from ..files import write_text
from . import Deployment, c_names, output_folder

RUNNER = "run.c"
FRAMES_PER_CALL = 64


def _runner(idents: list, project: str) -> str:
    """Return run.c: frames of float32 on stdin through model argv[1] (index or name) to stdout."""
    includes = "\n".join(f'#include "{i}.h"' for i in idents)
    funcs, cases = [], []
    for k, ident in enumerate(idents):
        up = ident.upper()
        funcs.append(f"""static int run_{ident}(void)
{{
    static {ident}_state state;
    static float in[{FRAMES_PER_CALL} * {up}_INPUT_SIZE], out[{FRAMES_PER_CALL} * {up}_OUTPUT_SIZE];
    size_t got;
    {ident}_reset(&state);
    while ((got = fread(in, sizeof(float) * {up}_INPUT_SIZE, {FRAMES_PER_CALL}, stdin)) > 0) {{
        {ident}_process(&state, in, out, (int)got);
        if (fwrite(out, sizeof(float) * {up}_OUTPUT_SIZE, got, stdout) != got)
            return 1;
    }}
    return ferror(stdin) ? 1 : 0;
}}
""")
        cases.append(f'    if (strcmp(which, "{k}") == 0 || strcmp(which, "{ident}") == 0)\n'
                     f'        return run_{ident}();')
    names = " ".join(idents)
    return f"""/* run.c - {project}: stream raw float32 frames from stdin through one model to stdout.
 * Usage: {project}_run MODEL < in.f32 > out.f32, MODEL being an index or a name: {names}.
 * A frame is the model's <NAME>_INPUT_SIZE floats in and <NAME>_OUTPUT_SIZE floats out, native
 * byte order; the model's state starts from its reset and carries across the whole stream. */
#include <stdio.h>
#include <string.h>
{includes}

{chr(10).join(funcs)}
int main(int argc, char **argv)
{{
    const char *which = argc > 1 ? argv[1] : "0";
{chr(10).join(cases)}
    fprintf(stderr, "{project}_run: no model '%s'; the models are: {names}\\n", which);
    return 2;
}}
"""


def _makefile(idents: list, project: str) -> str:
    objects = " ".join(f"{i}.o" for i in idents)
    return f"""# {project}: tinyrt models as C99. `make` builds lib{project}.a and {project}_run with $(CC).
# Cross-build: make CC=aarch64-linux-gnu-gcc CFLAGS='-std=c99 -O2 -mcpu=cortex-a72'
CFLAGS ?= -std=c99 -O2 -Wall -Wextra
AR ?= ar

all: lib{project}.a {project}_run

lib{project}.a: {objects}
\t$(AR) rcs $@ $^

%.o: %.c
\t$(CC) $(CFLAGS) -c -o $@ $<

{project}_run: {RUNNER} lib{project}.a
\t$(CC) $(CFLAGS) -o $@ {RUNNER} lib{project}.a -lm

clean:
\trm -f *.o lib{project}.a {project}_run

.PHONY: all clean
"""


def deploy(models: list, out: Path, name: str = "models", build: bool = True, **codegen_options) -> Deployment:
    """Write the C project of the models into ``out`` and, when ``build``, build it with make and the host compiler."""
    project = c_identifier(name)
    idents = c_names(models)
    output_folder(out)
    for model, ident in zip(models, idents):
        export(model, "c", out, name=ident, **codegen_options)
    write_text(out / RUNNER, _runner(idents, project))
    write_text(out / "Makefile", _makefile(idents, project))
    result = Deployment("c-project", out, sorted(p.name for p in out.iterdir() if p.is_file()))
    result.notes.append(f"models: {', '.join(idents)}; run one with ./{project}_run NAME < in.f32 > out.f32")
    if build:
        if shutil.which("make") is None:
            raise BuildError("building the C project needs make; install it with apt-get install make.")
        proc = subprocess.run(["make", "-s", "-C", str(out)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BuildError(f"make failed in {out}: {(proc.stderr or proc.stdout).strip()[:2000]}")
        result.built += [f"lib{project}.a", f"{project}_run"]
    return result
