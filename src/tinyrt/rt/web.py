"""The browser control page of the live host: a Starlette app served by uvicorn, talking to the running C host
over its OSC port.

``start_web(host, "127.0.0.1:8000")`` serves ``static/index.html`` (one self-contained HTML/CSS/JS document)
at ``/`` and a WebSocket at ``/ws`` from a daemon thread of this process (its own asyncio loop), and returns a
``WebServer`` whose ``stop()`` ends it; ``live(models, web=...)`` calls it and ``LiveHost.stop()`` stops it.
A thread polls the host's ``/stats`` over OSC at ``POLL_HZ`` and every page gets the newest statistics at that
rate; a statistic the host does not report (the classification fields, before a classifier exists) is null
and the page shows "—".

The page's controls are those of the Bela guitar study (and of the bela deploy target): clean (bypass), one
button per effect, cycle, effects on/off (the host's bypass is ``clean or not on``), the model-block variant,
input/output gain and one slider per knob (the processor's ``Param`` list).

Variants: a model's *stem* is its name without a trailing ``_b<N>``, ``-b<N>``, ``_block<N>`` or
``-block<N>`` suffix, and its *variant* is ``b<block size>`` (its real block size, whatever the suffix says).
Models sharing a stem are one effect with several variants, so models ``X`` (block 1) and ``X_b16`` (block
16) give one effect button "X" and a ``b1``/``b16`` switch; a model whose stem and block size repeat an
earlier one's is an effect of its own under its full name. Choosing an effect picks the model of the
variant chosen last when that effect has it, else the effect's first model; cycle moves to the next effect
the same way; a variant switch moves to the current effect's model of that block size.

WebSocket protocol. The page sends one JSON object per message, one command each: ``{"effect": i}``
(model index), ``{"bypass": bool}`` (clean), ``{"on": bool}``, ``{"cycle": true}``, ``{"variant": "b16"}``,
``{"param": name, "value": number}`` (a gain or knob in its range). Anything else (not JSON, not an object,
unknown or extra keys, wrong types, out-of-range or non-finite values, messages over ``MAX_MESSAGE``
characters) is answered with ``{"type": "error", "error": sentence}``, logged in one line on the
``tinyrt.rt.web`` logger and never forwarded; frames over ``MAX_FRAME`` bytes close that socket (code
1009) and the server keeps serving. The server sends ``{"type": "config"}`` once, ``{"type": "state"}``
after every change (to every page) and ``{"type": "stats"}`` at ``POLL_HZ``. A WebSocket whose Origin is
not the page's own (another site open in the same browser) is refused, and so is a request whose Host header
does not name this machine while the server is bound to it (DNS rebinding).
"""
from __future__ import annotations

import asyncio
import collections
import ipaddress
import json
import logging
import math
import re
import threading
import time
from importlib import resources

from ..errors import InputError
from .osc import OscClient

LOG = logging.getLogger("tinyrt.rt.web")
POLL_HZ = 8
MAX_MESSAGE = 4096       # characters of one command; longer ones get an error reply
MAX_FRAME = 1 << 20      # bytes of one WebSocket frame; uvicorn closes the socket beyond it
COMMANDS = ("effect", "bypass", "on", "cycle", "variant", "param")
_SUFFIX = re.compile(r"^(.+?)[_-]b(?:lock)?\d+$", re.IGNORECASE)


def is_loopback(host: str) -> bool:
    """Return whether host names this machine only (127.x, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_web(address: str) -> tuple:
    """Return (host, port) of a HOST:PORT web address."""
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise InputError(f"web takes HOST:PORT such as 127.0.0.1:8000, not {address!r}.")
    return host.strip("[]"), int(port)


def check_web_address(address: str, allow_remote: bool = False) -> tuple:
    """Return (host, port); refuse a non-loopback address unless allow_remote."""
    host, port = split_web(address)
    if not is_loopback(host) and not allow_remote:
        raise InputError(f"refusing to serve the control page on {host}: other machines could control the "
                         f"host; pass --allow-remote (allow_remote=True) to allow that.")
    return host, port


def effect_groups(models) -> list:
    """Return the page's effects: [{"stem": name, "variants": {"b<block>": model index}}] in deploy order."""
    groups: list = []
    for k, m in enumerate(models):
        match = _SUFFIX.match(m.name)
        stem, variant = (match.group(1) if match else m.name), f"b{m.block_size}"
        group = next((g for g in groups if g["stem"] == stem), None)
        if group is not None and variant in group["variants"]:
            stem, n = m.name, 2
            while any(g["stem"] == stem for g in groups):
                stem, n = f"{m.name} ({n})", n + 1
            group = None
        if group is None:
            group = {"stem": stem, "variants": {}}
            groups.append(group)
        group["variants"][variant] = k
    return groups


class CommandError(ValueError):
    """A page message that is not a valid command (its text is the one-sentence reply)."""


def _reject_constant(name):
    raise CommandError(f"{name} is not a number the page may send.")


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CommandError(f"{what} takes a finite number, not {json.dumps(value)[:40]}.")
    return float(value)


class Controls:
    """The page's control state (shared by every open page) and the commands that change it."""

    def __init__(self, models, params):
        self.models = list(models)
        self.params = {p.name: p for p in params}
        self.groups = effect_groups(self.models)
        self.variants = sorted({v for g in self.groups for v in g["variants"]}, key=lambda v: int(v[1:]))
        self.model = 0
        self.preferred = f"b{self.models[0].block_size}"
        self.clean = False
        self.on = True
        self.values = {p.name: p.default for p in params if p.name not in ("effect", "bypass")}

    def group_of(self, model: int) -> int:
        return next(i for i, g in enumerate(self.groups) if model in g["variants"].values())

    def pick(self, group: int) -> int:
        variants = self.groups[group]["variants"]
        return variants.get(self.preferred, next(iter(variants.values())))

    def parse(self, text) -> dict:
        """Return the command of a page message; raise CommandError (one sentence) if it is not one."""
        if isinstance(text, bytes | bytearray):
            raise CommandError("the page sends text messages (JSON), not binary ones.")
        if len(text) > MAX_MESSAGE:
            raise CommandError(f"a command is at most {MAX_MESSAGE} characters, this one has {len(text)}.")
        try:
            msg = json.loads(text, parse_constant=_reject_constant)
        except CommandError:
            raise
        except (ValueError, RecursionError):
            raise CommandError("a command is a JSON object such as {\"effect\": 1}; this is not JSON.") from None
        if not isinstance(msg, dict):
            raise CommandError("a command is a JSON object such as {\"effect\": 1}.")
        keys = [k for k in msg if k in COMMANDS]
        extra = sorted(set(msg) - set(COMMANDS) - ({"value"} if keys == ["param"] else set()))
        if len(keys) != 1 or extra:
            raise CommandError(f"a command has exactly one of the keys {', '.join(COMMANDS)}"
                               + (f" (and value with param), not {json.dumps(extra)[:60]}." if extra else "."))
        key, value = keys[0], msg[keys[0]]
        if key == "effect":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(self.models):
                raise CommandError(f"effect takes a model index 0..{len(self.models) - 1}, "
                                   f"not {json.dumps(value)[:40]}.")
        elif key in ("bypass", "on"):
            if not isinstance(value, bool):
                raise CommandError(f"{key} takes true or false, not {json.dumps(value)[:40]}.")
        elif key == "cycle":
            if value is not True:
                raise CommandError("cycle takes true.")
        elif key == "variant":
            if not isinstance(value, str) or value not in self.variants:
                raise CommandError(f"variant is one of {', '.join(self.variants)}, not {json.dumps(value)[:40]}.")
            group = self.groups[self.group_of(self.model)]
            if value not in group["variants"]:
                raise CommandError(f"effect {group['stem']!r} has no {value} variant; it has "
                                   f"{', '.join(group['variants'])}.")
        elif key == "param":
            if not isinstance(value, str) or value not in self.values:
                raise CommandError(f"param is one of {', '.join(self.values)}, not {json.dumps(value)[:40]}.")
            p = self.params[value]
            number = _number(msg.get("value"), f"param {value}")
            if not p.minimum <= number <= p.maximum:
                raise CommandError(f"{value} takes {p.minimum:g}..{p.maximum:g}, not {number:g}.")
            return {"param": value, "value": number}
        return {key: value}

    def apply(self, command: dict) -> list:
        """Change the state by a parsed command; return the OSC messages [(path tail, value)] to send."""
        bypass_before = self.clean or not self.on
        model_before = self.model
        if "effect" in command:
            self.model = command["effect"]
            self.preferred = f"b{self.models[self.model].block_size}"
        elif "bypass" in command:
            self.clean = command["bypass"]
        elif "on" in command:
            self.on = command["on"]
        elif "cycle" in command:
            self.model = self.pick((self.group_of(self.model) + 1) % len(self.groups))
        elif "variant" in command:
            self.preferred = command["variant"]
            self.model = self.groups[self.group_of(self.model)]["variants"][self.preferred]
        elif "param" in command:
            self.values[command["param"]] = command["value"]
            return [("param", command["param"], command["value"])]
        out = []
        if self.model != model_before or "effect" in command:
            out.append(("effect", self.model))
        if (self.clean or not self.on) != bypass_before or "bypass" in command or "on" in command:
            out.append(("bypass", int(self.clean or not self.on)))
        return out

    def state(self) -> dict:
        return {"type": "state", "model": self.model, "group": self.group_of(self.model),
                "variant": f"b{self.models[self.model].block_size}", "preferred": self.preferred,
                "clean": self.clean, "on": self.on, "bypass": self.clean or not self.on, "values": self.values}

    def config(self, name: str) -> dict:
        return {"type": "config", "name": name, "poll_hz": POLL_HZ,
                "models": [{"name": m.name, "block": m.block_size} for m in self.models],
                "groups": self.groups, "variants": self.variants,
                "params": [p.to_json() for p in self.params.values() if p.name not in ("effect", "bypass")]}


class WebServer:
    """The page server of a live host, running in a daemon thread; ``stop()`` ends it."""

    def __init__(self, host, address: str = "127.0.0.1:8000", allow_remote: bool = False):
        self.bind, port = check_web_address(address, allow_remote)
        import uvicorn  # noqa: F401 (fail here, in the caller's thread, when it is missing)
        self.host = host
        self.name = host.build.code.name
        self.controls = Controls(host.build.code.models, host.build.code.params)
        osc_host, osc_port = host.osc.address
        self.commands = OscClient(osc_host, osc_port)
        self.poller = OscClient(osc_host, osc_port)
        self.stats: dict | None = None
        self.stats_time = time.monotonic()
        self.rejected: collections.deque = collections.deque(maxlen=100)  # the last rejected messages' replies
        self.forwarded = 0
        self.sockets: set = set()
        self._stop = threading.Event()
        self._poll_thread = threading.Thread(target=self._poll, name="tinyrt-web-poll", daemon=True)
        self._poll_thread.start()
        self.app = self._app()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=self.bind, port=port, log_config=None,
                                                    log_level="warning", access_log=False, ws_max_size=MAX_FRAME,
                                                    lifespan="off"))
        self._thread = threading.Thread(target=self.server.run, name="tinyrt-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            self.stop()
            raise InputError(f"the control page could not be served on {address} (is the port in use?).")
        sock = self.server.servers[0].sockets[0].getsockname()
        self.port = sock[1]
        shown = f"[{self.bind}]" if ":" in self.bind else self.bind
        self.url = f"http://{'127.0.0.1' if self.bind in ('0.0.0.0', '::') else shown}:{self.port}/"

    def _poll(self) -> None:
        while not self._stop.wait(1.0 / POLL_HZ):
            try:
                path, values = self.poller.request("/stats", timeout=0.5)
            except (TimeoutError, OSError, InputError):
                continue
            if path == "/stats":
                self.stats = {values[i]: values[i + 1] for i in range(0, len(values) - 1, 2)}
                self.stats_time = time.monotonic()

    def _send_osc(self, messages: list) -> None:
        for m in messages:
            if m[0] == "effect":
                self.commands.send("/effect", int(m[1]))
            elif m[0] == "bypass":
                self.commands.send("/bypass", int(m[1]))
            else:
                self.commands.send(f"/parameter/{self.name}/{m[1]}", float(m[2]))
            self.forwarded += 1

    def _app(self):
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse
        from starlette.routing import Route, WebSocketRoute
        from starlette.websockets import WebSocketDisconnect
        page = resources.files(__package__).joinpath("static/index.html").read_text(encoding="utf-8")

        async def index(request):
            return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                               "Content-Security-Policy": "default-src 'self'; connect-src 'self' "
                                               "ws: wss:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"})

        async def sender(ws):
            last = None
            try:
                while True:
                    stats, age = self.stats, time.monotonic() - self.stats_time
                    if stats is not last or age > 1.0:
                        last = stats
                        await ws.send_text(json.dumps({"type": "stats", "stats": stats if age < 2.0 else None,
                                                       "age": round(age, 3), "alive": self.host.alive()}))
                    await asyncio.sleep(1.0 / POLL_HZ)
            except Exception:  # noqa: BLE001 (the page went away: its receive loop ends the connection)
                return

        async def socket(ws):
            origin = ws.headers.get("origin")
            if origin is not None and origin != f"http://{ws.headers.get('host', '')}":
                LOG.warning("tinyrt web: refused a WebSocket from origin %.80r", origin)
                await ws.close(code=1008)
                return
            await ws.accept()
            self.sockets.add(ws)
            task = asyncio.ensure_future(sender(ws))
            try:
                await ws.send_text(json.dumps(self.controls.config(self.name)))
                await ws.send_text(json.dumps(self.controls.state()))
                while True:
                    message = await ws.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    text = message.get("text") if message.get("text") is not None else message.get("bytes")
                    try:
                        command = self.controls.parse(text)
                    except CommandError as exc:
                        self.rejected.append(str(exc))
                        LOG.warning("tinyrt web: rejected %.60r: %s", text, exc)
                        await ws.send_text(json.dumps({"type": "error", "error": str(exc)}))
                        continue
                    self._send_osc(self.controls.apply(command))
                    state = json.dumps(self.controls.state())
                    for other in list(self.sockets):
                        try:
                            await other.send_text(state)
                        except Exception:  # noqa: BLE001 (a page that went away)
                            self.sockets.discard(other)
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                self.sockets.discard(ws)
                task.cancel()

        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware
        # bound to this machine: only its own names in the Host header (a DNS-rebinding page gets 400)
        hosts = ["*"] if not is_loopback(self.bind) else sorted({"localhost", "127.0.0.1", "[::1]", self.bind})
        return Starlette(routes=[Route("/", index), WebSocketRoute("/ws", socket)],
                         middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])

    def alive(self) -> bool:
        """Return whether the server thread still runs."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and the poller and close their sockets."""
        self._stop.set()
        self.server.should_exit = True
        self._thread.join(timeout)
        self._poll_thread.join(timeout)
        self.commands.close()
        self.poller.close()


def start_web(host, address: str = "127.0.0.1:8000", allow_remote: bool = False) -> WebServer:
    """Serve the control page of a running LiveHost on address (port 0: any free port); return the server."""
    return WebServer(host, address, allow_remote)
