"""Compile generated C with the system compiler, cached by content hash.

Profiles: ``portable`` (-O2, no -march: the tested default), ``native`` (-O3 -march=native, FMA
contraction and 512-bit vectors where the CPU has them: what the benchmark uses and prints),
``sanitize`` (AddressSanitizer and UndefinedBehaviorSanitizer) and ``thread`` (ThreadSanitizer, for
programs with threads: the live host's worker and rings). Every profile compiles with
-std=c99 -Wall -Wextra -Werror -pedantic; the portable and native ones drop floating-point trap semantics
(-fno-trapping-math: the engine never reads FP exception flags) so the activation clamps vectorise.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import BuildError
from . import HOST_DIR, runtime_headers

WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
PROFILES = {
    "portable": WARNINGS + ["-O2", "-fno-trapping-math"],
    "native": WARNINGS + ["-O3", "-march=native", "-ffp-contract=fast", "-fno-trapping-math"]
    + (["-mprefer-vector-width=512"] if platform.machine() in ("x86_64", "AMD64") else []),
    "sanitize": WARNINGS + ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                            "-fno-sanitize-recover=all"],
    "thread": WARNINGS + ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=thread"],
}


def cache_root() -> Path:
    """Return the folder compiled models are cached in ($TINYRT_CACHE or ~/.cache/tinyrt)."""
    root = os.environ.get("TINYRT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tinyrt")
    return Path(root) / "c"


def compiler() -> str:
    """Return the C compiler command ($CC or gcc); raise BuildError if there is none."""
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise BuildError(f"no C compiler found ('{cc}'); install gcc (apt-get install gcc) or set CC.")
    return cc


@functools.cache
def compiler_version(cc: str) -> str:
    """Return the first line of the compiler's --version output."""
    out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else cc


def flags_for(profile: str) -> list:
    """Return the compiler flags of a build profile."""
    if profile not in PROFILES:
        raise BuildError(f"unknown build profile {profile!r}; choose one of {', '.join(PROFILES)}.")
    return list(PROFILES[profile])


def build(files: dict, output: str, *, kind: str = "shared", profile: str = "portable",
          extra_flags=(), with_harness: bool = False) -> Path:
    """Compile the given C files (plus the runtime) and return the path of the built artifact.

    ``files`` maps file names to text; every ``.c`` among them is compiled. ``kind`` is
    ``shared`` (a shared library for ctypes), ``executable`` or ``object`` (one .c file). With ``with_harness`` the
    host harness trt_harness.c (c/host/) is compiled in as the program's main.
    """
    flags = flags_for(profile) + list(extra_flags)
    if kind == "shared":
        flags += ["-shared", "-fPIC"]
    elif kind == "object":
        flags += ["-c"]
    sources = dict(files)
    if with_harness:
        sources["trt_harness.c"] = (HOST_DIR / "trt_harness.c").read_text()
        sources["trt_hooks.h"] = (HOST_DIR / "trt_hooks.h").read_text()
    link = [] if kind == "object" else (["-lm", "-ldl"] if "-D_GNU_SOURCE" in flags else ["-lm"])
    return compile_cached(compiler(), flags, sources, output, link, "the generated code")


def compile_cached(cc: str, flags: list, files: dict, output: str, link_flags=(), what: str = "the code",
                   hint: str = "") -> Path:
    """Compile files (name -> text; every .c compiled, the runtime headers beside them) with cc; return the artifact.

    The one compile path of tinyrt (host builds, cross builds, the live host): cached under cache_root() by a
    hash of everything that goes into the build, built in a temporary folder and renamed into place; a
    failure keeps the folder and its build.log and raises BuildError naming ``what`` (and ``hint``).
    """
    headers = runtime_headers()
    key = hashlib.sha256(json.dumps([sorted(files.items()), sorted(headers.items()), list(flags), list(link_flags),
                                     cc, compiler_version(cc), output]).encode()).hexdigest()[:20]
    final = cache_root() / key
    artifact = final / output
    if artifact.is_file():
        return artifact
    cache_root().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=cache_root()))
    for name, text in {**headers, **files}.items():
        (work / name).write_text(text)
    c_files = sorted(n for n in files if n.endswith(".c"))
    cmd = [cc, *flags, "-I", str(work), *[str(work / n) for n in c_files], "-o", str(work / output), *link_flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    (work / "build.log").write_text(" ".join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:  # the folder stays, with its log, for the user to read
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
        said = "the C compiler" if cc == compiler() else cc
        raise BuildError(f"{said} rejected {what} ({first.strip()}){hint}; full log: {work / 'build.log'}.")
    try:
        os.replace(work, final)
    except OSError:  # another process built the same key first
        shutil.rmtree(work, ignore_errors=True)
    return artifact


def section_sizes(artifact, size_tool: str = "size") -> dict:
    """Return the bytes of code (text), read-only data (rodata), data and bss in a compiled object.

    Read with binutils' ``size -A`` (``arm-none-eabi-size`` for a Cortex-M build); flash holds
    text + rodata + data, RAM holds data + bss.
    """
    tool = shutil.which(size_tool)
    if tool is None:
        raise BuildError(f"{size_tool} (binutils) is not installed; `make install` installs it.")
    proc = subprocess.run([tool, "-A", str(artifact)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{size_tool} could not read {artifact} ({proc.stderr.strip()[:200]}).")
    sizes = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        name = parts[0]
        for kind in ("text", "rodata", "data", "bss"):
            if name == f".{kind}" or name.startswith(f".{kind}."):
                sizes[kind] += int(parts[1])
    return sizes
