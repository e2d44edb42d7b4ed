# omscds: the two commands of the README (make demo, make test) and their helpers.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install system-deps lint types layers pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (PostgreSQL, Chromium, WeasyPrint's Pango, Node for the FHIR test server).
system-deps:
	@bash tools/install-system-deps.sh

demo: $(STAMP)
	$(BIN)/omscds assess examples/*.json

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

types: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

test: system-deps $(STAMP) lint types layers pytest

bench: $(STAMP)
	$(BIN)/python bench/assess.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
