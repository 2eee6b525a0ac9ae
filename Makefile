# Two commands do all the set-up on a fresh machine with Python >= 3.11 and make:
#   make mock   create .venv with the runtime dependencies only, serve the demo mock
#   make test   the same venv plus the dev tools, then lint and the whole test suite
# Host, port and any other option of `usagekit mock`:
#   make mock HOST=0.0.0.0 PORT=9000 ARGS='--seed 7 --latency 50-400'
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
ARGS   ?=
# The browser tests drive Debian's chromium with Playwright; nothing downloads a browser.
CHROMIUM ?= /usr/bin/chromium
# pytest-xdist's workers for `make test`: one per core (`make test WORKERS=0`: in process).
WORKERS ?= auto

# One stamp per dependency set, so that `make mock` after `make test` (or the
# other way round) installs only what that target lacks. A set is reinstalled
# when a file that decides what gets installed changes.
INSTALL_INPUTS := pyproject.toml setup.py constraints.txt
RUNTIME := $(VENV)/.installed-runtime
DEV     := $(VENV)/.installed-dev
BENCH   := $(VENV)/.installed-bench
EXTRAS_runtime :=
EXTRAS_dev     := [dev]
EXTRAS_bench   := [dev,bench]

.PHONY: mock test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# constraints.txt pins every version, so that the demo dataset and every
# answer are byte-identical on every machine.
$(VENV)/.installed-%: $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.$(EXTRAS_$*)'
	touch $@

install: $(DEV) $(BENCH)

mock: $(RUNTIME)
	$(BIN)/usagekit mock --host $(HOST) --port $(PORT) $(ARGS)

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(CHROMIUM):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

# Steps the suite needs besides the dev set (a browser, node packages) go in
# as further prerequisites of `test`.
test: lint $(CHROMIUM)
	USAGEKIT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -n $(WORKERS) $(ARGS)

bench: $(BENCH)
	$(BIN)/python bench/aggregate.py
	$(BIN)/python bench/dataset.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/cached.py
	$(BIN)/python bench/server.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
