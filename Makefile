# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= 1
# HTTP worker processes of `make demo` and `make serve` (unset: one per core; 1: one process)
WORKERS ?=
# make bench: quick (a few minutes) or 1m (the goals' full sizes)
SIZE ?= quick
# The database and the other files: LEDGER_DATABASE_URL and LEDGER_HOME if set, else the
# ledger's defaults, var/ledger.db and the rest of var/ in this checkout (ledger/home.py).

.PHONY: install demo demo-load serve test lint typecheck unit bench docs clean

install: $(STAMP)

# the browser tests drive Debian's Chromium (apt), not a browser Playwright downloads; README's
# walk-through (run by the tests) uses curl and jq
APT_PACKAGES = chromium curl jq

$(STAMP): pyproject.toml
	@missing=""; for p in $(APT_PACKAGES); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get install -y -q $$missing \
	  || { apt-get update -q && apt-get install -y -q $$missing; } \
	  || echo "could not install$$missing (run as root: apt-get install -y$$missing)"; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# the published schemas the open-data tests validate against, as these packages ship
	@# them: IATI 2.03 (pyIATI) and the Fiscal Data Package profile (datapackage); their
	@# code and their pinned old dependencies are not needed, so not installed
	$(BIN)/pip install --quiet --no-deps pyIATI==0.4.1 datapackage==1.15.4
	touch $(STAMP)

# migrate (making the SQLite database's folder if need be), load the demo program and one
# admin, printing its token once; on a ledger already loaded: one line, nothing added
define load_demo
$(BIN)/ledger db upgrade --create
$(BIN)/ledger demo --scale $(SCALE) --if-empty --admin "Quản trị demo"
endef

## make demo: check the port is free (before anything is written), migrate, load the demo
## program once with one admin (its token printed once), serve on SQLite.
demo: install
	@$(BIN)/ledger serve --check-port --host $(HOST) --port $(PORT)
	$(load_demo)
	@echo "API and dashboard: http://$(HOST):$(PORT)/   (OpenAPI: http://$(HOST):$(PORT)/openapi.json)"
	$(BIN)/ledger serve --host $(HOST) --port $(PORT) $(if $(WORKERS),--workers $(WORKERS))

## make demo-load: the same without the server (migrate, load once, one admin).
demo-load: install
	$(load_demo)

serve: install
	@$(BIN)/ledger serve --check-port --host $(HOST) --port $(PORT)
	$(BIN)/ledger db upgrade --create
	$(BIN)/ledger serve --host $(HOST) --port $(PORT) $(if $(WORKERS),--workers $(WORKERS))

lint: install
	$(BIN)/ruff check ledger projections api demo migrations tests bench
	$(BIN)/ruff format --check ledger projections api demo migrations tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy ledger projections api demo migrations tests bench

## make test: lint, type-check, then the whole suite on SQLite and PostgreSQL.
test: lint typecheck
	$(BIN)/pytest -q

## make docs: rewrite the endpoints of docs/api.md from the OpenAPI document (the test
## tests/e2e/test_api_docs.py fails until the committed file is what this writes).
docs: install
	$(BIN)/ledger docs api

## make bench [SIZE=1m]: every benchmark, one table (figure, ours, baseline of the same run,
## ratio, goal, met?), also written to var/bench/table-$(SIZE).md
bench: install
	@mkdir -p var/bench
	$(BIN)/python -m bench --size $(SIZE) --markdown var/bench/table-$(SIZE).md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
