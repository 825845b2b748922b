"""A minimal OSC 1.0 message codec and UDP client (no dependency): what ``LiveHost`` speaks to the host.

``encode(path, *args)`` packs ints (i), floats (f), doubles (``Double``, d) and strings (s);
``decode(packet)`` returns (path, [values]) for the i, f, d, h and s types; ``OscClient`` sends
messages and waits for a reply on a socket bound to an ephemeral port.
"""
from __future__ import annotations

import socket
import struct

from ..errors import InputError


class Double(float):
    """A float sent as an OSC double (type tag d) instead of a 32-bit float."""


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (4 - len(data) % 4)


def _string(text: str) -> bytes:
    return _pad(text.encode("utf-8"))


def encode(path: str, *args) -> bytes:
    """Return the OSC message of path with int, float, Double and str arguments."""
    tags, data = ",", b""
    for a in args:
        if isinstance(a, bool | int):
            tags, data = tags + "i", data + struct.pack(">i", int(a))
        elif isinstance(a, Double):
            tags, data = tags + "d", data + struct.pack(">d", float(a))
        elif isinstance(a, float):
            tags, data = tags + "f", data + struct.pack(">f", a)
        elif isinstance(a, str):
            tags, data = tags + "s", data + _string(a)
        else:
            raise InputError(f"OSC arguments are int, float or str, not {type(a).__name__}.")
    return _string(path) + _string(tags) + data


def _read_string(packet: bytes, pos: int) -> tuple:
    end = packet.index(b"\0", pos)
    return packet[pos:end].decode("utf-8", "replace"), (end + 4) & ~3


def decode(packet: bytes) -> tuple:
    """Return (path, values) of an OSC message; raise InputError on a malformed one."""
    try:
        path, pos = _read_string(packet, 0)
        tags, pos = _read_string(packet, pos)
        values = []
        for t in tags[1:]:
            if t in "if":
                values.append(struct.unpack_from(">i" if t == "i" else ">f", packet, pos)[0])
                pos += 4
            elif t in "dh":
                values.append(struct.unpack_from(">d" if t == "d" else ">q", packet, pos)[0])
                pos += 8
            elif t == "s":
                text, pos = _read_string(packet, pos)
                values.append(text)
            else:
                raise InputError(f"OSC type tag {t!r} is not read by tinyrt.")
        return path, values
    except (ValueError, struct.error):
        raise InputError("a malformed OSC message came back from the host.") from None


class OscClient:
    """Send OSC messages to (host, port) over UDP and receive replies."""

    def __init__(self, host: str, port: int):
        self.address = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1" if host.startswith("127.") else "0.0.0.0", 0))

    def send(self, path: str, *args) -> None:
        """Send one message."""
        self.sock.sendto(encode(path, *args), self.address)

    def send_raw(self, packet: bytes) -> None:
        """Send a packet as it is (for tests of malformed input)."""
        self.sock.sendto(packet, self.address)

    def request(self, path: str, *args, timeout: float = 2.0) -> tuple:
        """Send a message and return the decoded (path, values) of the reply; raise TimeoutError without one."""
        self.sock.setblocking(False)
        try:
            while True:  # drop replies to earlier requests that timed out
                self.sock.recvfrom(65536)
        except OSError:
            pass
        self.sock.settimeout(timeout)
        self.send(path, *args)
        data, _ = self.sock.recvfrom(65536)
        return decode(data)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
