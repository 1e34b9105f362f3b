# Each target bootstraps .venv itself from pyproject.toml, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
TESTDEPS := $(VENV)/.installed-test
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test ui bench lint clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "trade_etl needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TESTDEPS): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(RUNTIME) $@

# Created once; an existing instance configuration is left alone.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: $(RUNTIME) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/trade-etl demo

# Two workers, one per core; a test file's tests stay on one worker (module fixtures are shared).
test: $(TESTDEPS)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

ui: $(RUNTIME) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Times the pipeline against bench/baseline.sql; e.g. make bench BENCH_ARGS="--sizes small --rounds 1"
bench: $(RUNTIME) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(TESTDEPS)
	$(BIN)/ruff check trade_etl tests bench

clean:
	rm -rf data/warehouse $(DAGSTER_HOME)
