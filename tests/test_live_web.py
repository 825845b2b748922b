"""The live host's browser control page (tinyrt.rt.web), with real parts: a private dummy-driver JACK server,
the generated C host, the Starlette/uvicorn page server and headless Chromium driven by Selenium (Debian's
chromium and chromium-driver; Selenium Manager is never asked to download anything). What the page does is
checked at the host (its /stats over OSC), not in the page."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tinyrt.bench import models as R
from tinyrt.errors import InputError
from tinyrt.ir import Model
from tinyrt.rt import live
from tinyrt.rt.jackd import dummy_server
from tinyrt.rt.web import MAX_FRAME, Controls, effect_groups

websockets = pytest.importorskip("websockets.sync.client")
webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# the screenshots the README shows; a test run rewrites them only with TINYRT_UPDATE_SCREENSHOTS=1
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
HOSTILE = 'fuzz "<b>x</b>"\n*/ ünï'


def _models():
    rng = np.random.default_rng(5)
    a = R.effect_model(rng, "lstm", 6)
    a.name = "amp"
    b = R.effect_model(rng, "lstm", 6, block_size=16)
    b.name = "amp_b16"
    c = Model([R.rnn(rng, "gru", 2, 4), R.dense(rng, 4, 1)], input_size=2, sample_rate=48000.0, name=HOSTILE,
              metadata={"params": [{"name": "drive", "min": 0.0, "max": 1.0, "default": 0.25}]})
    return [a, b, c]


@pytest.fixture(scope="module")
def jack():
    with dummy_server(realtime=False) as server:
        yield server


@pytest.fixture(scope="module")
def host(jack):
    h = live(_models(), "live", osc="127.0.0.1:0", jack_server=jack, web="127.0.0.1:0")
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def browser():
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium chromium-driver")
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="tinyrt-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _until(what, timeout=5.0, every=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def _open(driver, host):
    driver.get(host.web.url)
    assert _until(lambda: driver.find_element("id", "status").text == "connected"), "the page never connected"
    assert _until(lambda: driver.find_elements("css selector", "button.effect"))
    assert _until(lambda: driver.find_element("css selector", '[data-meter="callbacks"] .value').text != "—")


def _click(driver, css):
    driver.find_element("css selector", css).click()


def _host_says(host, **want):
    return _until(lambda: all(host.stats()[k] == v for k, v in want.items()), timeout=3.0)


def _meters(driver):
    return {e.get_attribute("data-meter"): e.find_element("css selector", ".value").text
            for e in driver.find_elements("css selector", "[data-meter]")}


# ----------------------------------------------------------------- pure parts (no host)


def test_variant_rule_pairs_stems_and_keeps_repeats_apart():
    class M:
        def __init__(self, name, block):
            self.name, self.block_size = name, block
    groups = effect_groups([M("X", 1), M("X_b16", 16), M("Y-block16", 16), M("Y", 1), M("X_b1", 1), M("Z_b16", 1)])
    assert groups == [{"stem": "X", "variants": {"b1": 0, "b16": 1}}, {"stem": "Y", "variants": {"b16": 2, "b1": 3}},
                      {"stem": "X_b1", "variants": {"b1": 4}}, {"stem": "Z", "variants": {"b1": 5}}]


def test_commands_are_parsed_strictly_and_change_the_state_as_documented():
    from tinyrt.backends.c.processor import generate_processor
    models = _models()
    c = Controls(models, generate_processor(models, "live").params)
    bad = ["", "nope", "[1]", "3", "null", '{"effect": "1"}', '{"effect": true}', '{"effect": 3}', '{"effect": -1}',
           '{"effect": 1.0}', '{"bypass": 1}', '{"on": "yes"}', '{"cycle": false}', '{"variant": "b8"}',
           '{"variant": 16}', '{"param": "input_gain"}', '{"param": "input_gain", "value": 99}',
           '{"param": "input_gain", "value": NaN}', '{"param": "input_gain", "value": Infinity}',
           '{"param": "effect", "value": 1}', '{"param": "nope", "value": 0}', '{"effect": 1, "bypass": true}',
           '{"effect": 1, "value": 2}', '{"effect": 1, "x": 0}', '{"zap": 1}', "{}", "[" * 100000,
           '{"param": "input_gain", "value": "-6"}', b'{"effect": 1}', "x" * 5000]
    for text in bad:
        with pytest.raises(ValueError) as err:
            c.parse(text)
        assert str(err.value).endswith(".") and "\n" not in str(err.value), (text[:40], err.value)
    assert c.apply(c.parse('{"effect": 1}')) == [("effect", 1)] and c.state()["variant"] == "b16"
    assert c.apply(c.parse('{"cycle": true}')) == [("effect", 2)]       # the knobbed effect has no b16: its b1
    with pytest.raises(ValueError, match="has no b16 variant"):
        c.parse('{"variant": "b16"}')
    assert c.apply(c.parse('{"cycle": true}')) == [("effect", 1)]       # back to amp, in the preferred b16
    assert c.apply(c.parse('{"variant": "b1"}')) == [("effect", 0)]
    assert c.apply(c.parse('{"bypass": true}')) == [("bypass", 1)]
    assert c.apply(c.parse('{"on": false}')) == [("bypass", 1)]        # clean or off: bypassed
    assert c.apply(c.parse('{"bypass": false}')) == [("bypass", 1)]
    assert c.apply(c.parse('{"on": true}')) == [("bypass", 0)]
    knob = [p.name for p in c.params.values()][-1]
    assert c.apply(c.parse(json.dumps({"param": knob, "value": 0.75}))) == [("param", knob, 0.75)]


# ----------------------------------------------------------------- the page in Chromium, the host under JACK


def test_clicks_on_the_page_change_the_hosts_state_and_the_meters_move(host, browser):
    _open(browser, host)
    names = [e.text for e in browser.find_elements("css selector", "button.effect")]
    models = host.build.code.models
    assert names == ["amp", models[2].name]                     # amp and amp_b16 are one effect with two variants
    assert not browser.find_elements("css selector", "#effects b")  # a model name is text, never markup
    s0 = host.stats()
    assert s0["effect"] == 0 and s0["bypass"] == 0
    _click(browser, 'button.effect[data-group="1"]')
    assert _host_says(host, effect=2), host.stats()
    assert browser.find_element("css selector", 'button.variant[data-variant="b16"]').get_attribute("disabled")
    _click(browser, 'button.effect[data-group="0"]')
    _click(browser, 'button.variant[data-variant="b16"]')
    assert _host_says(host, effect=1), host.stats()
    _click(browser, "#cycle")
    assert _host_says(host, effect=2), host.stats()
    _click(browser, "#clean")
    assert _host_says(host, bypass=1), host.stats()
    assert _until(lambda: "bypassed" in browser.find_element("id", "host-line").text)
    _click(browser, "#clean")
    assert _host_says(host, bypass=0)
    _click(browser, "#power")
    assert _host_says(host, bypass=1)
    _click(browser, "#power")
    assert _host_says(host, bypass=0)
    s1 = host.stats()
    assert s1["switches"] > s0["switches"] and s1["controls"] >= s0["controls"] + 8
    # a slider: the value reaches the server's state and one more control reaches the host
    browser.execute_script("const i = document.querySelector('input[data-param=\"input_gain\"]');"
                           "i.value = -6; i.dispatchEvent(new Event('input')); i.dispatchEvent(new Event('change'));")
    assert _until(lambda: host.web.controls.values["input_gain"] == -6.0)
    assert _until(lambda: host.stats()["controls"] == s1["controls"] + 1, timeout=3.0)
    assert browser.find_element("css selector", '.slider[data-param="input_gain"] output').text == "-6.0 dB"
    # the meters update: audio time and callbacks move, the load is shown, the absent classification is "—"
    m0 = _meters(browser)
    time.sleep(1.0)
    m1 = _meters(browser)
    assert m0["audio_time"] != m1["audio_time"] and m0["callbacks"] != m1["callbacks"], (m0, m1)
    assert m1["load_mean"].endswith("%") and m1["worst_wall_us"].endswith("µs") and m1["xruns"].isdigit()
    assert m1["class"] == "—" and m1["class_latency"] == "—"
    assert not browser.find_element("id", "error").text


def test_hostile_model_names_are_shown_as_text(browser):
    """The host builds with C-safe names; the page server itself takes any name (here a processor whose models
    keep theirs, and a UDP socket that never answers in place of the host's OSC port)."""
    import socket
    from types import SimpleNamespace

    from tinyrt.backends.c.processor import generate_processor
    from tinyrt.rt.web import start_web
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    fake = SimpleNamespace(build=SimpleNamespace(code=generate_processor(_models(), "live")),
                           osc=SimpleNamespace(address=silent.getsockname()), alive=lambda: True)
    server = start_web(fake, "127.0.0.1:0")
    try:
        browser.get(server.url)
        assert _until(lambda: len(browser.find_elements("css selector", "button.effect")) == 2)
        button = browser.find_elements("css selector", "button.effect")[1]
        assert button.get_attribute("textContent") == HOSTILE
        assert not browser.find_elements("css selector", "#effects b, #sliders b")
        owner = browser.find_element("css selector", '.slider[data-model="2"] .owner')
        assert owner.get_attribute("textContent") == " · " + HOSTILE
        assert _until(lambda: browser.find_element("id", "host-line").text == "host: not answering")
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        server.stop()
        silent.close()


GEOMETRY = """
const w = window.innerWidth, bad = [];
for (const e of document.querySelectorAll('body *')) {
  const r = e.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (r.left < -0.5 || r.right > w + 0.5) bad.push(['outside', e.tagName, e.id || e.className, r.left, r.right]);
  if (e.matches('button, output, label, .value, .name, h1, #host-line') && e.scrollWidth > e.clientWidth + 1)
    bad.push(['clipped', e.tagName, e.textContent.slice(0, 30), e.scrollWidth, e.clientWidth]);
}
return {scroll: document.documentElement.scrollWidth, inner: w, height: document.documentElement.scrollHeight,
        buttons: document.querySelectorAll('button').length, bad};
"""


@pytest.mark.parametrize("width,height", [(1400, 900), (390, 844)])
def test_the_page_fits_1400_and_390_pixels_wide(host, browser, width, height):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                   "deviceScaleFactor": 1, "mobile": width < 500})
    try:
        _open(browser, host)
        time.sleep(0.5)  # a few stats messages: the meters hold numbers
        g = browser.execute_script(GEOMETRY)
        assert g["inner"] == width and g["buttons"] == 7
        assert g["scroll"] <= g["inner"], g
        assert not g["bad"], g["bad"]
        # the whole page, beyond the viewport when it is taller
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                       "clip": {"x": 0, "y": 0, "width": width, "height": max(height, g["height"]),
                                                "scale": 1}})
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        if os.environ.get("TINYRT_UPDATE_SCREENSHOTS") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / f"live-{width}.png").write_bytes(png)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# ----------------------------------------------------------------- hostile WebSocket clients, the bind rule


def test_websocket_garbage_gets_an_error_reply_is_never_forwarded_and_the_server_keeps_serving(host):
    url = host.web.url.replace("http://", "ws://") + "ws"
    before = host.stats()["controls"]
    forwarded = host.web.forwarded
    garbage = ["not json", "[]", '{"effect": "1"}', '{"effect": 99}', '{"bypass": 2}', '{"zap": true}',
               '{"param": "output_gain", "value": 1e9}', '{"param": "output_gain", "value": NaN}',
               '{"effect": 0, "bypass": true}', "{" * 200000, b"\x00\xff binary"]
    with websockets.connect(url, max_size=None) as ws:
        kinds = [json.loads(ws.recv())["type"] for _ in range(2)]
        assert kinds == ["config", "state"]
        for g in garbage:
            ws.send(g)
            reply = _next_non_stats(ws)
            assert reply["type"] == "error" and reply["error"].endswith("."), (g[:30], reply)
        # a frame beyond MAX_FRAME closes this socket (1009), not the server
        ws.send("x" * (MAX_FRAME + 1))
        with pytest.raises(Exception) as closed:
            for _ in range(50):
                ws.recv(timeout=2)
        assert "1009" in str(closed.value) or "too big" in str(closed.value).lower(), closed.value
    time.sleep(0.3)
    assert host.stats()["controls"] == before and host.web.forwarded == forwarded  # nothing reached the host
    assert len(host.web.rejected) >= len(garbage)
    with websockets.connect(url) as ws:  # still serving: a valid command goes through
        [ws.recv() for _ in range(2)]
        ws.send('{"param": "output_gain", "value": -3}')
        assert _next_non_stats(ws) == {**host.web.controls.state(), "type": "state"}
    assert _until(lambda: host.stats()["controls"] == before + 1, timeout=3.0)
    assert host.web.controls.values["output_gain"] == -3.0 and host.alive() and host.web.alive()
    # another site's page in the same browser may not open the socket; a rebound DNS name gets nothing
    with pytest.raises(Exception, match="403|refused|rejected"):
        websockets.connect(url, origin="http://evil.example", open_timeout=5).close()
    with pytest.raises(urllib.error.HTTPError, match="400"):
        urllib.request.urlopen(urllib.request.Request(host.web.url, headers={"Host": "evil.example"}), timeout=5)
    with urllib.request.urlopen(host.web.url, timeout=5) as page:
        assert page.status == 200 and b"<title>tinyrt live</title>" in page.read()


def _next_non_stats(ws):
    while True:
        msg = json.loads(ws.recv(timeout=3))
        if msg["type"] != "stats":
            return msg


CLI = "import sys; from tinyrt.cli import main; sys.exit(main())"
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}


def test_the_cli_serves_the_page_until_ctrl_c(tmp_path, jack):
    path = tmp_path / "m.tinyrt"
    _models()[0].save(str(path))
    proc = subprocess.Popen([sys.executable, "-c", CLI, "live", str(path), "--osc", "127.0.0.1:0", "--web",
                             "127.0.0.1:0", "--jack-server", jack], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=ENV, start_new_session=True)
    try:
        out = []
        for line in proc.stdout:  # the host (a child) is ready when the page's address is printed
            out.append(line)
            if "control page at" in line:
                break
        assert out and "control page at http://127.0.0.1:" in out[-1], out
        url = out[-1].split()[-1]
        with urllib.request.urlopen(url, timeout=5) as page:
            assert b"tinyrt live" in page.read()
        with websockets.connect(url.replace("http://", "ws://") + "ws") as ws:
            assert json.loads(ws.recv())["models"] == [{"name": "amp", "block": 1}]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None or _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: the CLI and its host
            proc.wait()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_binding_another_address_without_the_flag_is_refused_in_one_sentence(tmp_path):
    with pytest.raises(InputError) as err:
        live(_models(), osc="127.0.0.1:0", web="0.0.0.0:8000")
    text = str(err.value)
    assert "refusing to serve the control page on 0.0.0.0" in text and "--allow-remote" in text
    assert text.count(". ") == 0 and text.endswith(".")
    path = tmp_path / "m.tinyrt"
    _models()[0].save(str(path))
    proc = subprocess.run([sys.executable, "-c", CLI, "live", str(path), "--web", "0.0.0.0:8000"],
                          capture_output=True, text=True, timeout=60, env=ENV)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("tinyrt: error: refusing to serve the control page on 0.0.0.0"), lines
