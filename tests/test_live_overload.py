"""A model whose processor cannot meet the period: the live host says so in one line and keeps running."""
import time

import numpy as np

from tinyrt.bench import models as R
from tinyrt.rt import live
from tinyrt.rt.jackd import dummy_server


def test_a_model_too_slow_for_the_period_is_logged_in_one_line_and_the_host_keeps_running():
    heavy = R.effect_model(np.random.default_rng(0), "lstm", 512)  # ~2 M MACs per sample, far over 1.33 ms
    heavy.name = "too_big"
    with dummy_server(48000, 64) as server:
        host = live([heavy], "overload", osc="127.0.0.1:0", jack_server=server, connect=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any("deadline miss" in ln for ln in host.lines):
                time.sleep(0.2)
            first = host.stats()
            time.sleep(1.0)
            later = host.stats()
            assert host.alive()
        finally:
            host.stop()
    said = [ln for ln in host.lines if "deadline miss" in ln]
    assert said, host.lines[-20:]
    assert "the processor needed up to" in said[0] and "use a smaller model or a larger period" in said[0]
    assert first["misses"] >= 1 and later["callbacks"] > first["callbacks"]  # still called back, still counting
    assert len(said) <= 2 + later["callbacks"] // 750  # at most one line a second (750 callbacks at 64 / 48 kHz)
