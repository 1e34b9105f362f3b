# Each target bootstraps .venv itself from pyproject.toml and uv.lock (the exact versions every
# machine installs), so a fresh clone needs nothing else. After changing dependencies in
# pyproject.toml, run `.venv/bin/uv lock` and commit uv.lock.
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
RUNTIME := $(VENV)/.installed-runtime
TESTDEPS := $(VENV)/.installed-test
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: demo test test-slow test-engines ui bench lint clean

$(UV):
	$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), "trade_etl needs Python 3.11, 3.12 or 3.13"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

# --locked: fail if uv.lock no longer matches pyproject.toml; --inexact: keep uv and pip.
# --compile-bytecode: Python reads the .pyc files even where PYTHONDONTWRITEBYTECODE stops it
# writing them (this machine's kind sets it): imports take half the time in every process.
SYNC := $(UV) sync --quiet --locked --inexact --compile-bytecode
$(RUNTIME): pyproject.toml uv.lock | $(UV)
	$(SYNC)
	touch $@

$(TESTDEPS): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra test
	touch $(RUNTIME) $@

# The project's own modules, compiled for the same reason (unchanged files are skipped).
COMPILE := $(BIN)/python -m compileall -q trade_etl tests bench engines

demo: $(RUNTIME)
	@$(COMPILE)
	$(BIN)/trade-etl demo

# Two workers, one per core; a test file's tests stay on one worker (module fixtures are shared).
# The browser tests (tests/browser.py) use Debian's Chromium: installed here when missing, as root
# with apt-get; where it cannot be, they skip, saying why.
test: $(TESTDEPS)
	@$(COMPILE)
	@bash tests/install_chromium.sh
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow" --durations=15

# The tests that take minutes each (marked `slow`: the Iceberg lake, the UI on a real
# webserver, the sample built release by release, builds killed at random moments, the
# benchmark at its tiny size, the mirror built once per asymmetry). CI runs them after
# `make test`.
test-slow: $(TESTDEPS)
	@$(COMPILE)
	@bash tests/install_chromium.sh
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m slow

# Spark 3.5 reads the lake and recomputes two marts from it (engines/README.md). Not in `make
# test`: it installs Java 17 and Debian jars with apt-get (as root), and the `engines` extra.
test-engines: $(TESTDEPS)
	@$(COMPILE)
	bash engines/setup.sh
	TRADE_ETL_ENGINES_REQUIRED=1 $(BIN)/python -m pytest -q engines/

ui: $(RUNTIME)
	@$(COMPILE)
	$(BIN)/trade-etl ui

# Times the pipeline against ../shared/bench/reference_build.py (the yardstick) on the same files;
# e.g. make bench BENCH_ARGS="--sizes small --rounds 1"
bench: $(RUNTIME)
	@$(COMPILE)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(TESTDEPS)
	$(BIN)/ruff check trade_etl tests bench engines

clean:
	rm -rf data/warehouse
