# Every install step lives here: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CHARGEN := $(VENV)/bin/chargen
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
SHARED ?= ../shared
# Offline copies of Project Gutenberg and NLTK data, used when they exist beside the project.
export CHARGEN_CORPUS_MIRROR ?= $(wildcard $(SHARED)/gutenberg-mirror)
export NLTK_DATA ?= $(wildcard $(SHARED)/nltk_data)
# tiny preset, 15 short epochs (~2M characters): about half a minute on 2 cores, bpc ~2.5
DEMO_EPOCHS ?= 15

.PHONY: install fmt lint test test-fast smoke demo bench quality clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# the PyTorch baseline of `make bench` (a large download; the benchmark alone skips it if absent)
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[dev,bench]"
	touch $(BENCH_STAMP)

fmt: install
	$(VENV)/bin/ruff format src tests scripts
	$(VENV)/bin/ruff check --fix src tests scripts

lint: install
	$(VENV)/bin/ruff format --check src tests scripts
	$(VENV)/bin/ruff check src tests scripts

# The linters first: CI (.ci/run) calls exactly `make test`.
# pytest-xdist: one worker per core; whole files per worker, so a module's shared model is
# trained once
PYTEST := $(PY) -m pytest -q -n auto --dist loadfile

test: lint
	$(PYTEST)

test-fast: lint
	$(PYTEST) -m "not slow"

smoke: install
	PATH="$(VENV)/bin:$$PATH" bash scripts/ci_smoke.sh

# prepare -> train the tiny preset -> sample at three temperatures, on Alice (Gutenberg #11).
demo: install
	$(CHARGEN) train --corpus gutenberg:11 --config tiny --epochs $(DEMO_EPOCHS) --rng-seed 1
	@for t in 0.2 0.5 1.0; do \
	  echo "--- temperature $$t"; \
	  $(CHARGEN) sample --seed "Alice was" --temperature $$t --length 300 --rng-seed 1 || exit 1; \
	  echo; \
	done

# Speed against baselines measured in the same run; table on stdout, JSON in runs/bench.json.
# BENCH_ARGS=--quick for a few minutes. Installs the `bench` extra (PyTorch) for its baseline.
BENCH_ARGS ?=
bench: $(BENCH_STAMP)
	$(PY) scripts/bench.py $(BENCH_ARGS)

# Equal wall time on tiny Shakespeare (the last 10% held out): chargen train --max-time, the
# same LSTM in PyTorch, a nanoGPT-style transformer, the tutorial and the n-grams.
# QUALITY_ARGS="--budget 300" for five minutes each.
QUALITY_ARGS ?=
quality: $(BENCH_STAMP)
	$(PY) scripts/bench.py --sections quality --out runs/quality.json $(QUALITY_ARGS)

clean:
	rm -rf runs .pytest_cache .ruff_cache build dist src/*.egg-info data/prepared
