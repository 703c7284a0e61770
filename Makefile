# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= 1
export LEDGER_DATABASE_URL ?= sqlite:///var/ledger.db

.PHONY: install demo serve test lint typecheck unit bench docs clean

install: $(STAMP)

# the browser tests drive Debian's Chromium (apt), not a browser Playwright downloads
$(STAMP): pyproject.toml
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium \
	  || { apt-get update -q && apt-get install -y -q chromium; } \
	  || echo "could not install chromium (run as root: apt-get install -y chromium)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# the published schemas the open-data tests validate against, as these packages ship
	@# them: IATI 2.03 (pyIATI) and the Fiscal Data Package profile (datapackage); their
	@# code and their pinned old dependencies are not needed, so not installed
	$(BIN)/pip install --quiet --no-deps pyIATI==0.4.1 datapackage==1.15.4
	touch $(STAMP)

## make demo: install, migrate, load the demo program, print an admin token, serve on SQLite.
demo: install
	$(BIN)/ledger db upgrade
	$(BIN)/ledger demo --scale $(SCALE) --if-empty
	@echo
	@echo "Admin token (keep it; it is shown once):"
	@$(BIN)/ledger users add --name "Quản trị demo" --role admin --department SKHCN | tail -n 1
	@echo "API and dashboard: http://$(HOST):$(PORT)/   (OpenAPI: http://$(HOST):$(PORT)/openapi.json)"
	$(BIN)/ledger serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/ledger db upgrade
	$(BIN)/ledger serve --host $(HOST) --port $(PORT)

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

bench: install
	$(BIN)/python -m bench.commands

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
