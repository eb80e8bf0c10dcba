# GraphLattice developer entry points. Everything is installed into .venv by these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYPROJECT_SUM := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# the package and its dev tools (all the demo needs)
STAMP := $(VENV)/.installed-$(PYPROJECT_SUM)
# ... plus the spark extra (pyspark, ~500 MB; needs Java 17+), which the test suite and mypy need
SPARK_STAMP := $(VENV)/.installed-spark-$(PYPROJECT_SUM)
# Prowler, a third-party Graph client the endpoint tests run, pins msgraph-sdk, azure-identity and pydantic
# at versions that conflict with ours: it gets its own virtualenv (tests/server/test_prowler.py)
PROWLER_VERSION := 5.46.0
PROWLER_VENV := .venv-prowler
PROWLER_STAMP := $(PROWLER_VENV)/.installed-prowler-$(PROWLER_VERSION)
DEMO_DIR := build/demo-tenant
REPORT := build/graphlattice-demo-report.html

.PHONY: demo test lint typecheck bench clean venv

venv: $(SPARK_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

$(PROWLER_STAMP):
	$(PYTHON) -m venv $(PROWLER_VENV)
	$(PROWLER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PROWLER_VENV)/bin/python -m pip install --quiet 'prowler==$(PROWLER_VERSION)'
	@touch $(PROWLER_STAMP)

demo: $(STAMP)
	$(BIN)/graphlattice demo generate $(DEMO_DIR) --users 400 --seed 7 --force
	$(BIN)/graphlattice assess --demo --html $(REPORT)
	@echo "graphlattice is installed in $(VENV): run '. $(VENV)/bin/activate' to put it on PATH, or call $(BIN)/graphlattice"

test: $(SPARK_STAMP) $(PROWLER_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(SPARK_STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(PROWLER_VENV) build .mypy_cache .pytest_cache .ruff_cache
