"""The HTML reports people read (demo report, bench page, make bench's gathered page) in real headless Chromium.

Each report is rendered from small real data (real bench results of tiny models, real plots, real WAVs) in a few
seconds, opened at 1400 px and at a 390 px phone width, and measured with JavaScript in the page: no element
sticks out of its container horizontally except inside the designated ``.scroll`` boxes (wide tables and text),
no text block is clipped (scrollWidth <= clientWidth), the verdicts take at most two lines, plots span at least
90 % of the content width on a desktop, and every audio player has preload="metadata" and shows its duration.
With TINYRT_UPDATE_SCREENSHOTS=1 the screenshots the README shows are rewritten in docs/screenshots/.
"""
from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from tinyrt.audio.io import write_wav
from tinyrt.audio.plots import plot_comparison
from tinyrt.bench import models as R
from tinyrt.bench.memory import engine_rss_increment
from tinyrt.bench.report import write_bench_report
from tinyrt.bench.runner import bench
from tinyrt.demo.report import write_page
from tinyrt.train.plots import plot_curves

webdriver = pytest.importorskip("selenium.webdriver")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = ROOT / "docs" / "screenshots"
HOSTILE = 'fuzz "<b>x</b>" */ ünï & a very long model name without spaces_abcdefghijklmnopqrstuvwxyz0123456789'
SR = 48000


def _gathered_module():
    spec = importlib.util.spec_from_file_location("bench_report_page", ROOT / "benchmarks" / "report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pages():
    """Render the three reports into a temporary folder; return {name: path}."""
    out = Path(tempfile.mkdtemp(prefix="tinyrt-reports-"))
    try:
        rng = np.random.default_rng(0)
        a = R.effect_model(rng, "lstm", 8, skip=True)
        a.name = "overdrive_lstm8"
        b = R.effect_model(rng, "gru", 8, block_size=16)
        b.name = HOSTILE
        audio = (0.4 * np.sin(2 * np.pi * 220 * np.arange(SR // 2) / SR)).astype(np.float32)
        benches = [bench(m, ("c", "onnxruntime", "torch"), SR, 64, seconds=0.25, audio=audio, target=np.tanh(3 * audio),
                         warmup=2) for m in (a, b)]
        pages = {"bench": write_bench_report(benches, out / "bench.html", "tinyrt bench: two small models")}
        # the demo report: two models with real plots and real WAVs beside the page
        rows = []
        t = np.arange(SR) / SR
        clean = (0.5 * np.sin(2 * np.pi * 110 * t) * np.exp(-2 * t)).astype(np.float32)
        target = np.tanh(4 * clean)
        for k, (name, verdict) in enumerate((("overdrive_lstm8", "excellent: hard to tell from the target"),
                                             (HOSTILE, "failed: the model did not learn the effect"))):
            stem = f"model{k}"   # files get a plain name; the page shows the hostile one, escaped
            model_out = target + 0.02 * np.sin(2 * np.pi * 900 * t) * (k + 1)
            (out / "runs" / stem).mkdir(parents=True, exist_ok=True)
            (out / "audio").mkdir(exist_ok=True)
            plot_comparison(clean, target, model_out, SR, out / f"{stem}_compare.png", title=name)
            plot_curves([{"epoch": e, "train_loss": 1 / (e + 1), "valid_loss": 1.2 / (e + 1), "lr": 5e-3}
                         for e in range(8)], out / "runs" / stem / "curves.png", name)
            audio_files = {}
            for label, sig in (("clean", clean), ("target", target), ("c_engine", model_out)):
                write_wav(out / "audio" / f"{stem}_{label}.wav", sig, SR)
                audio_files[label] = f"audio/{stem}_{label}.wav"
            rows.append({"name": name, "cell": "lstm", "hidden_size": 8, "block_size": 1, "parameters": 361,
                         "epochs": 12, "best_epoch": 11, "train_time_s": 30.2, "stopped": "time budget",
                         "train_seconds_audio": 60, "test_esr_torch": 0.0012, "test_esr_c": 0.0012,
                         "test_esr_pre_emphasis_c": 0.0031, "test_mse_c": 1.2e-5, "verdict": verdict,
                         "max_abs_c_vs_trained_torch": 2e-7,
                         "max_abs_vs_reference": {"c": 1e-7, "onnxruntime": 2e-7, "torch": 3e-7},
                         "not_run": {}, "verified": True, "c_ns_per_sample": 68.0, "c_load_percent_48k_64": 0.33,
                         "audio": audio_files, "curves": f"runs/{stem}/curves.png", "compare": f"{stem}_compare.png",
                         "config": f"configs/{stem}.toml", "model": f"runs/{stem}/{stem}.tinyrt"})
        summary = ("pairs: 1, 60.0 s\nlatency found: 72 samples (timing blips), removed\n"
                   "gain +0.4 dB, DC 1e-5, clipping none\n" + "a long line of the summary " * 12)
        pages["demo"] = write_page(out, rows, {"overdrive": summary}, 72, 412.0, quick=True, benches=benches)
        # make bench's gathered page: text outputs (wide tables), a capacity sweep and the callbacks
        wide = "model      " + " ".join(f"{h:>10}" for h in range(24)) + "\n" + "LSTM-16    " + " 68.0" * 60
        (out / "gathered").mkdir()
        (out / "gathered" / "engine.txt").write_text(wide)
        (out / "gathered" / "quality.txt").write_text(wide)
        (out / "gathered" / "callbacks.json").write_text(json.dumps(benches))
        (out / "gathered" / "sweep_lstm.json").write_text(json.dumps(
            {"cell": "lstm", "limit": 0.7, "sample_rate": 48000, "max_hidden": 512, "host_blocks": [16, 32, 64],
             "model_blocks": [1, 16], "largest_hidden": {"1": {"16": 192, "32": 128, "64": 192},
                                                         "16": {"16": 384, "32": 512, "64": 512}}}))
        pages["bench-gathered"] = _gathered_module().write(out / "gathered")
        yield pages
    finally:
        shutil.rmtree(out, ignore_errors=True)


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
                 "--no-first-run", "--hide-scrollbars", "--allow-file-access-from-files",
                 f"--user-data-dir={profile}", "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


GEOMETRY = """
const main = document.querySelector('main');
const content = main.clientWidth;
const bad = [], clipped = [], verdicts = [], images = [], audios = [];
const name = el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' "'
    + (el.textContent || el.getAttribute('src') || '').trim().slice(0, 50) + '"';
for (const el of document.querySelectorAll('main *')) {
  const box = el.closest('.scroll');
  if (box && box !== el) continue;                 // inside a designated scroll container: may be wide
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  const p = el.parentElement.getBoundingClientRect();
  if (r.left < p.left - 1 || r.right > p.right + 1)
    bad.push(name(el) + ` [${Math.round(r.left)}, ${Math.round(r.right)}] outside [${Math.round(p.left)}, `
             + `${Math.round(p.right)}]`);
  if (el !== box && !['IMG', 'AUDIO'].includes(el.tagName) && el.scrollWidth > el.clientWidth + 1
      && el.clientWidth > 0)
    clipped.push(name(el) + ` scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
}
for (const el of document.querySelectorAll('.verdict')) {
  const lh = parseFloat(getComputedStyle(el).lineHeight);
  verdicts.push({text: el.textContent, lines: el.getBoundingClientRect().height / lh});
}
for (const el of document.querySelectorAll('img'))
  images.push({alt: el.alt, share: el.getBoundingClientRect().width / content, loaded: el.naturalWidth > 0});
for (const el of document.querySelectorAll('audio'))
  audios.push({src: el.getAttribute('src'), preload: el.getAttribute('preload'), duration: el.duration});
const tables = [...document.querySelectorAll('.scroll')].filter(b => b.querySelector('table'))
  .map(b => ({table: b.querySelector('tr').textContent.trim().slice(0, 40), scroll: b.scrollWidth,
               client: b.clientWidth}));
return {tables, inner: window.innerWidth, scroll: document.documentElement.scrollWidth, content, bad, clipped,
        verdicts, images, audios, height: document.documentElement.scrollHeight,
        scrollers: document.querySelectorAll('.scroll').length};
"""


@pytest.mark.parametrize("width,height", [(1400, 900), (390, 844)])
@pytest.mark.parametrize("page", ["demo", "bench", "bench-gathered"])
def test_report_fits_the_screen_and_nothing_is_clipped(pages, browser, page, width, height):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                   "deviceScaleFactor": 1, "mobile": width < 500})
    try:
        browser.get(pages[page].as_uri())
        deadline = time.monotonic() + 10
        while True:   # the players read their WAV headers (preload="metadata"): the duration shows, not 0:00
            g = browser.execute_script(GEOMETRY)
            if all(a["duration"] and a["duration"] > 0 for a in g["audios"]) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert g["inner"] == width
        assert g["scroll"] <= g["inner"], f"the page is {g['scroll']} px wide in a {width} px window"
        assert not g["bad"], "elements stick out of their containers:\n" + "\n".join(g["bad"])
        assert not g["clipped"], "text is clipped:\n" + "\n".join(g["clipped"])
        assert g["scrollers"] >= 1
        if width >= 1000:   # on a desktop every table fits whole: no column (the load column) needs scrolling
            for t in g["tables"]:
                assert t["scroll"] <= t["client"] + 1, f"table {t['table']!r} needs {t['scroll']} px in {t['client']}"
        for v in g["verdicts"]:
            assert v["lines"] <= 2.05, f"the verdict takes {v['lines']:.1f} lines: {v['text']}"
        assert g["images"], "no plots on the page"
        for img in g["images"]:
            assert img["loaded"], f"plot {img['alt']} did not load"
            # full content width on a desktop; on a phone wider than the screen, in a scroll box
            assert img["share"] >= 0.9, f"plot {img['alt']} spans {100 * img['share']:.0f} % of the content"
        for a in g["audios"]:
            assert a["preload"] == "metadata", a
            assert a["duration"] and a["duration"] > 0.9, f"the player of {a['src']} shows no duration: {a}"
        if page == "demo":
            assert len(g["audios"]) == 6 and len(g["verdicts"]) == 4
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                       "clip": {"x": 0, "y": 0, "width": width, "height": min(g["height"], 4000),
                                                "scale": 1}})
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        if os.environ.get("TINYRT_UPDATE_SCREENSHOTS") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / f"{page}-report-{width}.png").write_bytes(png)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_pages_escape_names_and_use_no_external_resources(pages):
    for path in pages.values():
        text = path.read_text()
        assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
        assert "http://" not in text and "https://" not in text
        assert 'preload="none"' not in text


def test_rss_column_is_each_engines_own_increment():
    assert engine_rss_increment({"rss_before_load": 800 << 20, "rss_before": 820 << 20, "rss_peak": 830 << 20}) \
        == 30 << 20
    assert engine_rss_increment({"rss_before": 820 << 20, "rss_peak": 822 << 20}) == 2 << 20
    assert engine_rss_increment({"rss_before": 820 << 20, "rss_peak": 810 << 20}) == 0
