# Spotcheck — run `make` for the list of targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := server
export PYTHONPATH := $(CURDIR)

.DEFAULT_GOAL := help
.PHONY: help venv pwa test-js run test test-fast lint fmt typecheck bench demo migrate clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed ## Create .venv and install the pinned requirements

# The field app (pwa/): npm packages from package-lock.json, then the build into pwa/dist.
PWA_SOURCES := $(shell find pwa -type f -not -path 'pwa/dist/*' -not -name '*.py')

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

pwa/dist/shell.json: node_modules/.installed $(PWA_SOURCES)
	node pwa/build.mjs

pwa: pwa/dist/shell.json ## Build the field app into pwa/dist (served at /app/)

test-js: node_modules/.installed ## JavaScript unit tests of the field app (node:test)
	npm test

migrate: venv ## Apply the migrations to the configured database
	$(BIN)/flask db upgrade

demo: migrate ## Load demo data (a county, the 高平市 2025 plan, a finished draw) if the database is empty
	$(BIN)/flask demo --if-empty
	$(BIN)/flask review demo-submissions --if-none
	$(BIN)/flask review demo-decisions --if-none

run: demo pwa ## Set up, load demo data the first time and serve on http://127.0.0.1:5000
	SPOTCHECK_SCHEDULER_ENABLED=$${SPOTCHECK_SCHEDULER_ENABLED:-1} $(BIN)/flask run --host 127.0.0.1 --port 5000

test: venv pwa test-js ## Run the whole suite: JS units, then Python on SQLite and PostgreSQL 15
	$(BIN)/python -m pytest

test-fast: venv pwa ## Run the Python suite on SQLite only
	$(BIN)/python -m pytest -k "not postgresql"

lint: venv node_modules/.installed ## ruff check, ruff format --check, mypy, eslint (zero warnings)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server sync
	npx --no-install eslint --max-warnings=0 .

fmt: venv ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv pwa ## Benchmarks; prints BENCH <name> <value> <unit> <ratio>
	$(BIN)/python -m bench

clean: ## Remove the virtualenv, npm packages, the PWA build and local data
	rm -rf $(VENV) var node_modules pwa/dist
