"""Cross toolchains: build C for the ARM boards tinyrt deploys to, and run Linux builds under qemu-user.

Each ``TOOLCHAINS`` entry names the compiler, the flags of the board's CPU, the Debian package that
brings the compiler, and for Linux targets the qemu-user emulator and the sysroot it loads the C
library from. ``cross_build`` compiles like ``tinyrt.c.build.build`` (same warnings, same content-hash
cache) with the target's compiler; ``emulate`` runs a Linux target's program under qemu-user.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError
from .build import WARNINGS, compile_cached


@dataclass(frozen=True)
class Toolchain:
    """A cross target: compiler, CPU flags, the Debian package of the compiler, and its emulator."""

    name: str
    cc: str
    flags: tuple
    package: str
    qemu: str | None = None        # qemu-user binary for Linux targets
    sysroot: str | None = None     # where qemu-user finds the target's C library
    qemu_package: str = "qemu-user"
    description: str = ""


TOOLCHAINS = {
    "aarch64": Toolchain("aarch64", "aarch64-linux-gnu-gcc",
                         ("-O3", "-mcpu=cortex-a72", "-ffp-contract=fast", "-fno-trapping-math"),
                         "gcc-aarch64-linux-gnu", "qemu-aarch64", "/usr/aarch64-linux-gnu",
                         description="Raspberry Pi 4 (Cortex-A72, AArch64), e.g. Elk Audio OS"),
    # GCC emits NEON for float arithmetic on 32-bit ARM only with -funsafe-math-optimizations (ARMv7
    # NEON flushes denormals to zero, which IEEE float does not); without it the vector kernels fall
    # back to scalar VFP. The three flags after it restore IEEE association order, exact division and
    # signed zeros, so the one difference left is denormals flushed to zero (as the processor's FZ does).
    # arm-linux-gnueabihf-gcc 12 at -O3 wrongly warns "may be used uninitialized" about the dense head's
    # output of an LSTM-8 with a skip (written by trt_dense_rows just before); it stays a warning here.
    "armhf": Toolchain("armhf", "arm-linux-gnueabihf-gcc",
                       ("-O3", "-mcpu=cortex-a8", "-mfpu=neon", "-mfloat-abi=hard", "-ffp-contract=fast",
                        "-fno-trapping-math", "-funsafe-math-optimizations", "-fno-associative-math",
                        "-fno-reciprocal-math", "-fsigned-zeros", "-Wno-error=maybe-uninitialized"),
                       "gcc-arm-linux-gnueabihf", "qemu-arm", "/usr/arm-linux-gnueabihf",
                       description="Bela / BeagleBone Black (Cortex-A8 with NEON, hard float)"),
    "cortex-m4": Toolchain("cortex-m4", "arm-none-eabi-gcc",
                           ("-Os", "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
                            "-fno-trapping-math"),
                           "gcc-arm-none-eabi", description="Cortex-M4F microcontroller (single-precision FPU)"),
    "cortex-m7": Toolchain("cortex-m7", "arm-none-eabi-gcc",
                           ("-Os", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard",
                            "-fno-trapping-math"),
                           "gcc-arm-none-eabi", description="Cortex-M7 microcontroller (FPv5 FPU)"),
}


def toolchain(name: str) -> Toolchain:
    """Return the named toolchain after checking its compiler is installed (else name the Debian package)."""
    if name not in TOOLCHAINS:
        raise BuildError(f"unknown cross target {name!r}; choose one of {', '.join(TOOLCHAINS)}.")
    tc = TOOLCHAINS[name]
    if shutil.which(tc.cc) is None:
        raise BuildError(f"the {name} compiler {tc.cc} is not installed; install it with "
                         f"apt-get install {tc.package} (make install does).")
    return tc


def cross_build(files: dict, output: str, target: str, *, kind: str = "executable", extra_flags=(),
                link_flags=("-lm",), static: bool = False) -> Path:
    """Compile the C files (with the runtime headers) for a cross target; return the built artifact.

    ``kind``: "executable", "shared" or "object" (one .c file). Cached by content like host builds.
    """
    tc = toolchain(target)
    flags = list(WARNINGS) + list(tc.flags) + list(extra_flags)
    if kind == "shared":
        flags += ["-shared", "-fPIC"]
    elif kind == "object":
        flags += ["-c"]
    if static and kind == "executable":
        flags += ["-static"]
    return compile_cached(tc.cc, flags, files, output, [] if kind == "object" else list(link_flags),
                          "the code")


def emulator(target: str) -> list:
    """Return the command prefix that runs a Linux target's program here under qemu-user."""
    tc = toolchain(target)
    if tc.qemu is None:
        raise BuildError(f"{target} is a bare-metal target; its firmware runs under qemu-system-arm, not qemu-user.")
    if shutil.which(tc.qemu) is None:
        raise BuildError(f"{tc.qemu} is not installed; install it with apt-get install {tc.qemu_package} "
                         f"(make install does).")
    return [tc.qemu, "-L", tc.sysroot]


def emulate(target: str, argv: list, *, input: bytes | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a Linux target's program under qemu-user and return the completed process (output as bytes)."""
    return subprocess.run([*emulator(target), *map(str, argv)], input=input, capture_output=True,
                          timeout=timeout, check=False)
