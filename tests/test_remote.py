"""tinyrt bench --device: a real sshd on 127.0.0.1 (its own config, host key and authorized key), the harness
cross-built for AArch64, shipped over SSH, timed and run under that host's qemu-user, the outputs checked
against the reference; one-sentence refusals for an unreachable device and a refused key."""
import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from test_cli import fail, run
from tinyrt.bench import models as R
from tinyrt.deploy.remote import parse_device

SSHD = "/usr/sbin/sshd"
pytestmark = pytest.mark.skipif(not (Path(SSHD).exists() and shutil.which("ssh") and shutil.which("qemu-aarch64")),
                                reason="needs openssh-server, openssh-client and qemu-user (make install)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)
    return path


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real sshd on a free port of 127.0.0.1 that accepts one key for the current user; stopped after."""
    d = tmp_path_factory.mktemp("sshd")
    host_key = _keygen(d / "host_key")
    client_key = _keygen(d / "client_key")
    _keygen(d / "other_key")
    _keygen(d / "no_qemu_key")  # logs in with a PATH where no qemu-user is found
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text() + 'environment="PATH=/nonexistent" '
                                       + (d / "no_qemu_key.pub").read_text())
    port = _free_port()
    config = d / "sshd_config"
    config.write_text(f"""ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {d / 'sshd.pid'}
AuthorizedKeysFile {d / 'authorized_keys'}
StrictModes no
PermitUserEnvironment PATH
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp /usr/lib/openssh/sftp-server
""")
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # the privilege-separation folder
    with open(d / "sshd.log", "w") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config), "-p", str(port)], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"sshd did not start: {(d / 'sshd.log').read_text()}") from None
                    time.sleep(0.05)
            yield {"port": port, "key": client_key, "other_key": d / "other_key", "no_qemu_key": d / "no_qemu_key",
                   "user": getpass.getuser(), "dir": d}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    m = R.effect_model(np.random.default_rng(9), "lstm", 16)
    return m.save(tmp_path_factory.mktemp("model") / "lstm16.tinyrt")


def _remote_folders() -> set:
    return {str(p) for tmp in {"/tmp", os.environ.get("TMPDIR", "/tmp")} for p in Path(tmp).glob("tinyrt.*")}


def test_bench_on_the_device_over_ssh_under_qemu_end_to_end(sshd, model_file, tmp_path):
    before = _remote_folders()
    out = tmp_path / "remote.json"
    proc = run("bench", model_file, "--device", f"{sshd['user']}@127.0.0.1:{sshd['port']}", "--arch", "aarch64",
               "--emulate", "--identity", sshd["key"], "--seconds", "0.5", "--json", out)
    print(proc.stdout)
    assert "under qemu-user: emulated timings, not the board's" in proc.stdout, proc.stdout
    assert "c-aarch64" in proc.stdout
    result = json.loads(out.read_text())
    t = result["timing"]
    assert result["arch"] == "aarch64" and result["emulated"] and result["block"] == 64
    assert t["calls"] == 24000 // 64 and len(t["pass_ns"]) == 3
    assert 0 < t["median_ns"] <= t["p99_ns"] <= t["max_ns"] and t["ns_per_sample"] > 0
    assert t["load_mean"] == pytest.approx(t["mean_ns"] / (64 / 48000 * 1e9))
    assert result["accuracy"]["max_abs"] <= 1e-5 and result["accuracy"]["peak"] > 0.01
    assert _remote_folders() == before, "the remote temporary folder must be removed"
    assert (sshd["dir"] / "authorized_keys").exists()


def test_an_unreachable_device_a_refused_key_and_no_qemu_are_one_sentence(sshd, model_file):
    closed = sshd["port"]
    while closed == sshd["port"]:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        closed = port
    fail("bench", model_file, "--device", f"root@127.0.0.1:{closed}", "--emulate", "--identity", sshd["key"],
         message=f"cannot reach root@127.0.0.1:{closed} over SSH")
    fail("bench", model_file, "--device", f"{sshd['user']}@127.0.0.1:{sshd['port']}", "--emulate",
         "--identity", sshd["other_key"], message="refused the SSH login")
    fail("bench", model_file, "--device", f"{sshd['user']}@127.0.0.1:{sshd['port']}", "--emulate", "--arch", "armhf",
         "--identity", sshd["no_qemu_key"], message="has no qemu-arm; install qemu-user there")
    fail("bench", model_file, "--device", "not a host", message="is not user@host[:port]")
    fail("bench", model_file, "--device", "pi@board", "--identity", sshd["dir"] / "nope", message="no such key file")


def test_device_addresses():
    assert parse_device("pi@raspberrypi.local:2222") == ("pi@raspberrypi.local", 2222)
    assert parse_device("bela.local") == ("bela.local", None)
    assert parse_device("root@[::1]:22") == ("root@::1", 22)
    for bad in ("pi@host:0", "pi@host:99999", "a b", "-oProxyCommand=x", "-oFoo", "-x@host", "pi@host;rm"):
        with pytest.raises(Exception, match="is not user@host"):
            parse_device(bad)
