# tinyrt: `make demo` runs the main job, `make test` the test suite, `make bench` the benchmarks.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages the tests and benchmarks need: compilers (gcc, the C engine), sanitizer runtimes,
# the Cortex-M cross compiler with its C library headers (device builds); for deploy: the ARM Linux
# cross compilers and qemu (user mode for Pi 4 / Bela builds, system mode for Cortex-M firmware), LV2
# headers and hosts (lv2apply, lv2info, jalv), JACK with its dummy driver, an SSH server for the
# remote device runner, liblo (OSC); Chromium and its driver for the live page's browser test.
DEB_PACKAGES := gcc libc6-dev libasan8 libubsan1 binutils make gcc-arm-none-eabi libnewlib-arm-none-eabi \
	gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf qemu-user qemu-system-arm \
	lv2-dev lilv-utils jalv jackd2 libjack-jackd2-dev openssh-server liblo-dev chromium chromium-driver

.PHONY: demo test bench install system-deps clean

demo: install
	$(VENV)/bin/tinyrt demo --out demo-out

# lint first: the layers contract (import-linter, pyproject.toml) and ruff, then the tests
test: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q -n 2 --timeout 900

# emlearn and m2cgen, the engines the classic benchmark compares with, live in their own
# environment so they never become dependencies of tinyrt.
BENCH_VENV := .venv-bench

bench: install $(BENCH_VENV)/.installed
	$(PY) benchmarks/engine.py --out bench-out
	$(PY) benchmarks/callbacks.py --out bench-out
	$(VENV)/bin/tinyrt sweep --cell lstm --json bench-out/sweep_lstm.json --plot bench-out/sweep_lstm.png
	$(VENV)/bin/tinyrt sweep --cell gru --json bench-out/sweep_gru.json --plot bench-out/sweep_gru.png
	$(PY) benchmarks/zoo.py --out bench-out
	$(PY) benchmarks/lv2.py --out bench-out --seconds 60
	$(PY) benchmarks/live.py --out bench-out --seconds 60 --models lstm16,lstm16b16,gru16
	$(PY) benchmarks/live_events.py --out bench-out --seconds 60 --model lstm16
	$(BENCH_VENV)/bin/python benchmarks/classic.py --out bench-out | tee bench-out/classic.txt
	$(PY) benchmarks/quality.py --out bench-out
	$(PY) benchmarks/grid_executors.py --out bench-out
	$(PY) benchmarks/conditioned.py --out bench-out
	$(PY) benchmarks/classify.py --out bench-out | tee bench-out/classify.txt
	$(PY) benchmarks/wavenet.py --out bench-out --cpu 1 $(if $(NAM_CORE),--nam-core $(NAM_CORE))
	$(PY) benchmarks/report.py --out bench-out

install: system-deps $(STAMP)

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU wheel on the machine; installed first so no other torch is ever resolved
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,test]'
	# Neural Amp Modeler, the reference of tests/test_nam_parity.py: its model code only (its own
	# requirements pull the trainer: lightning, tensorboard, transformers, librosa, sounddevice)
	$(PY) -m pip install -q --no-deps neural-amp-modeler==0.13.0
	touch $@

$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -e '.[classic]' emlearn m2cgen
	touch $@

clean:
	rm -rf $(VENV) $(BENCH_VENV) demo-out bench-out
