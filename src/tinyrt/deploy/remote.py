"""Benchmark a model on a real board over SSH: ``tinyrt bench MODEL --device user@host[:port]``.

The model's C harness is cross-built for the board (``tinyrt.deploy.cross``), copied with the test
input into a fresh temporary folder on the device, timed there (``time``: callbacks of the host
block back to back, measured in C on the device's clock) and run (``run``: the built-in test signal in
random call sizes), and the outputs come back to be checked against the float64 reference here. The
remote folder is removed at the end. With ``--emulate`` the harness runs under qemu-user on that host
instead (for a test with no board: emulated timings are not the board's).

ssh and scp run non-interactively (BatchMode), accept a new host key into a known-hosts file of
their own (never the user's), and give up after a connect timeout; what goes wrong (no route, a
refused key, no qemu on the host) is said in one sentence.
"""
from __future__ import annotations

import contextlib
import json
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..backends.c import generate
from ..backends.verify import signal_frames
from ..bench.runner import host_frames, run_rate
from ..bench.stats import budget_ns
from ..c.cross import TOOLCHAINS
from ..errors import DependencyError, InputError
from .cross import cross_harness, harness_name

CONNECT_TIMEOUT = 10
RUN_SEED = 7
NO_QEMU = 97  # exit status of the remote check for qemu-user


def parse_device(device: str) -> tuple:
    """Return (user@host or host, port or None) of ``[user@]host[:port]``."""
    m = re.fullmatch(r"(?:([A-Za-z0-9_][A-Za-z0-9._-]*)@)?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])"
                     r"(?::(\d{1,5}))?", device or "")
    if not m or (m.group(3) and not 0 < int(m.group(3)) < 65536):
        raise InputError(f"--device {device!r} is not user@host[:port]; give it like pi@raspberrypi.local:22.")
    user, host, port = m.groups()
    host = host.strip("[]")
    return (f"{user}@{host}" if user else host), (int(port) if port else None)


class Remote:
    """ssh/scp to one device with tinyrt's non-interactive options."""

    def __init__(self, device: str, identity: str | None, workdir: Path):
        for tool in ("ssh", "scp"):
            if shutil.which(tool) is None:
                raise DependencyError(f"{tool} is not installed; install it with apt-get install openssh-client.")
        if identity and not Path(identity).is_file():
            raise InputError(f"{identity}: no such key file; give the private key the device accepts.")
        self.device = device
        self.target, self.port = parse_device(device)
        self.options = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
                        "-o", f"UserKnownHostsFile={workdir / 'known_hosts'}",
                        "-o", f"ConnectTimeout={CONNECT_TIMEOUT}", "-o", "LogLevel=ERROR"]
        if identity:
            self.options += ["-i", str(identity), "-o", "IdentitiesOnly=yes"]

    def _fail(self, proc: subprocess.CompletedProcess, what: str):
        err = " ".join((proc.stderr or "").split())[:300] or f"exit {proc.returncode}"
        if "Permission denied" in err or "Too many authentication failures" in err:
            raise InputError(f"{self.device} refused the SSH login ({err}); give the key it accepts with "
                             f"--identity KEYFILE or add yours to its authorized_keys.")
        if proc.returncode == 255:
            raise InputError(f"cannot reach {self.device} over SSH ({err}); check the address, the port and "
                             f"that sshd runs there.")
        raise InputError(f"{what} on {self.device} failed ({err}).")

    def ssh(self, command: str, what: str, timeout: float = 600) -> str:
        """Run a shell command on the device; return its standard output."""
        cmd = ["ssh", *self.options, *(["-p", str(self.port)] if self.port else []), self.target, command]
        proc = self._run(cmd, timeout, what)
        if proc.returncode != 0:
            if proc.returncode == NO_QEMU:
                raise DependencyError(f"{self.device} has no {proc.stdout.strip() or 'qemu-user'}; install "
                                      f"qemu-user there (apt-get install qemu-user) or run without --emulate.")
            self._fail(proc, what)
        return proc.stdout

    def copy(self, sources: list, destination: str, what: str) -> None:
        """scp the sources to destination (either side may be remote, written as ':path')."""
        user, _, host = self.target.rpartition("@")
        at = (f"{user}@" if user else "") + (f"[{host}]" if ":" in host else host)
        fix = [f"{at}{s}" if str(s).startswith(":") else str(s) for s in [*sources, destination]]
        cmd = ["scp", "-q", *self.options, *(["-P", str(self.port)] if self.port else []), *fix]
        proc = self._run(cmd, 600, what)
        if proc.returncode != 0:
            self._fail(proc, what)

    def _run(self, cmd: list, timeout: float, what: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise InputError(f"{what} on {self.device} took longer than {timeout:g} s; check the device.") from None


def _stats(t: dict, block: int, rate: float) -> dict:
    """Return the harness's per-call times as the local bench reports them (loads against the budget)."""
    budget = budget_ns(block, rate)
    c = t["call_ns"]
    return {"mean_ns": c["mean"], "median_ns": c["median"], "p99_ns": c["p99"], "max_ns": c["max"],
            "ns_per_sample": c["mean"] / block, "budget_ns": budget, "load_mean": c["mean"] / budget,
            "load_worst": c["max"] / budget,
            # the harness reports the distribution, not every call: 0 is exact, 1 means "at least one"
            "deadline_misses": int(c["max"] > budget), "calls": t["calls"],
            "pass_ns": t["pass_ns"]}


def bench_remote(model, device: str, arch: str = "aarch64", *, emulate: bool = False, identity: str | None = None,
                 sample_rate: float | None = None, block: int = 64, seconds: float = 1.0, reps: int = 3,
                 log=None) -> dict:
    """Cross-build the model's harness, run it on the device over SSH, and return timings and the error vs reference."""
    if arch not in ("aarch64", "armhf"):
        raise InputError(f"--arch must be aarch64 or armhf, got {arch!r}.")
    parse_device(device)  # a wrong address or key is refused before anything is built
    if identity and not Path(identity).is_file():
        raise InputError(f"{identity}: no such key file; give the private key the device accepts.")
    log = log or (lambda line: None)
    rate = run_rate(model, sample_rate, seconds)
    per_call = host_frames(model, block)
    frames = signal_frames(model, max(seconds, 2 * block / rate))
    frames = frames[:len(frames) // per_call * per_call]
    if len(frames) < 2 * per_call:
        raise InputError(f"{seconds:g} s holds fewer than two {block}-sample callbacks; give more seconds.")
    code = generate(model)
    log(f"cross-building {code.name} for {arch}")
    exe = cross_harness(code, arch)
    tc = TOOLCHAINS[arch]
    name = harness_name(code)
    with tempfile.TemporaryDirectory(prefix="tinyrt-remote-") as tmp:
        work = Path(tmp)
        remote = Remote(device, identity, work)
        np.ascontiguousarray(frames, dtype=np.float32).tofile(work / "in.f32")
        check = ""
        if emulate:
            check = (f"command -v {tc.qemu} >/dev/null 2>&1 || {{ echo {tc.qemu}; exit {NO_QEMU}; }}; ")
        log(f"connecting to {device}")
        folder = remote.ssh(check + 'mktemp -d "${TMPDIR:-/tmp}/tinyrt.XXXXXX"', "creating a folder").strip()
        if not folder.startswith("/") or "\n" in folder:
            raise InputError(f"{device} did not create a temporary folder (it answered {folder[:80]!r}).")
        q = shlex.quote(folder)
        try:
            remote.copy([exe, work / "in.f32"], f":{folder}/", "copying the harness")
            prefix = f"{tc.qemu} -L {shlex.quote(tc.sysroot)} " if emulate else ""
            log(f"running on {device}" + (" under qemu-user" if emulate else ""))
            out = remote.ssh(f"cd {q} && chmod +x {name} && {prefix}./{name} time {len(frames)} {per_call} {reps} "
                             f"&& {prefix}./{name} run in.f32 out.f32 {RUN_SEED}", "running the harness")
            remote.copy([f":{folder}/out.f32"], str(work / "out.f32"), "copying the output back")
        finally:
            with contextlib.suppress(InputError):
                remote.ssh(f"rm -rf {q}", "removing the temporary folder", timeout=60)
        try:
            timing = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise InputError(f"the harness on {device} printed no timing ({out.strip()[:120]!r}).") from None
        got = np.fromfile(work / "out.f32", dtype=np.float32)
    if got.size != frames.shape[0] * model.output_size:
        raise InputError(f"the harness on {device} wrote {got.size} values, not {frames.shape[0] * model.output_size}.")
    reference = model.reference().process(frames)
    got = got.reshape(reference.shape)
    peak = float(np.abs(reference).max())
    err = float(np.abs(got.astype(np.float64) - reference).max())
    return {"model": model.name, "device": device, "arch": arch, "emulated": emulate, "sample_rate": rate,
            "block": block, "seconds": len(frames) * model.block_size / rate,
            "compiler": f"{tc.cc} {' '.join(tc.flags)} -static",
            "timing": _stats(timing, block, rate),
            "accuracy": {"max_abs": err, "relative": err / max(1.0, peak), "peak": peak, "seed": RUN_SEED}}


def remote_table(r: dict) -> str:
    """Return the remote bench result as text, like the local bench's table."""
    t = r["timing"]
    where = f"{r['device']} ({r['arch']}" + (", under qemu-user: emulated timings, not the board's)" if r["emulated"]
                                             else ")")
    misses = "0" if not t["deadline_misses"] else ">=1"
    return "\n".join([
        f"{r['model']} on {where}: {r['block']}-sample callbacks at {r['sample_rate']:g} Hz (budget "
        f"{t['budget_ns'] / 1000:.1f} us), {r['seconds']:g} s, timed in C on the device",
        f"{'engine':<12} {'mean':>8} {'median':>8} {'p99':>8} {'max':>8} {'ns/smp':>8} {'load':>7} {'worst':>7} "
        f"{'misses':>8} {'max abs vs ref':>14}",
        f"{'c-' + r['arch']:<12} {t['mean_ns'] / 1000:>8.1f} {t['median_ns'] / 1000:>8.1f} {t['p99_ns'] / 1000:>8.1f} "
        f"{t['max_ns'] / 1000:>8.1f} {t['ns_per_sample']:>8.0f} {100 * t['load_mean']:>6.1f}% "
        f"{100 * t['load_worst']:>6.1f}% {misses:>8} {r['accuracy']['max_abs']:>14.2e}",
    ])
