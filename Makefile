# omscds: the two commands of the README (make demo, make test) and their helpers.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install system-deps lint types layers pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing omscds and its dependencies into $(VENV) ..."
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | { grep -v 'is ignored: it is neither' || true; }
	$(BIN)/python -m pip install --quiet -e '.[dev]' 2>&1 | { grep -v 'is ignored: it is neither' || true; }
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (PostgreSQL, Chromium, WeasyPrint's Pango, Node for the FHIR test server).
system-deps:
	@bash tools/install-system-deps.sh

DEMO_DB := sqlite:///$(CURDIR)/.demo/registry.db

# The main job on the embedded default: assess the bundled cases, then follow the first seed
# child's journey in a fresh SQLite registry (.demo/registry.db).
demo: $(STAMP)
	@echo "== the bundled example cases, one line each (full report: .venv/bin/omscds assess examples/<case>.json)"
	@$(BIN)/omscds assess -f brief examples/*.json
	@rm -rf .demo && mkdir -p .demo
	@$(BIN)/omscds registry init --database $(DEMO_DB)
	@$(BIN)/omscds registry add-visit examples/seed1-01-presentation.json --patient seed1 --date 2024-03-04 --database $(DEMO_DB) > /dev/null
	@$(BIN)/omscds registry add-visit examples/seed1-02-mibg-negative.json --patient seed1 --date 2024-03-08 --database $(DEMO_DB) > /dev/null
	@$(BIN)/omscds registry add-visit examples/seed1-03-ct-positive.json --patient seed1 --date 2024-03-11 --database $(DEMO_DB) > /dev/null
	@echo "== the first seed child's journey in the demo registry ($(CURDIR)/.demo/registry.db)"
	@$(BIN)/omscds registry show seed1 --database $(DEMO_DB)
	@echo "== open the web page on this registry (it prints a local URL with a one-time token):"
	@echo "   OMSCDS_DATABASE_URL=$(DEMO_DB) $(BIN)/omscds serve"

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
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache
