# Two commands do all the set-up on a fresh machine with Python >= 3.11 and make:
#   make mock   create .venv, install usagekit, serve the mock with the demo dataset
#   make test   the same set-up, then lint and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.usagekit-installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
ARGS   ?=
# The browser tests drive Debian's chromium with Playwright; nothing downloads a browser.
CHROMIUM ?= /usr/bin/chromium

.PHONY: mock test lint bench install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# constraints.txt pins every version, so that the demo dataset and every
	# answer are byte-identical on every machine.
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

mock: $(STAMP)
	$(BIN)/usagekit mock --host $(HOST) --port $(PORT) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(CHROMIUM):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

test: lint $(CHROMIUM)
	USAGEKIT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/aggregate.py
	$(BIN)/python bench/dataset.py
	$(BIN)/python bench/server.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
