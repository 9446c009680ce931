# Spotcheck — run `make` for the list of targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := server
export PYTHONPATH := $(CURDIR)

.DEFAULT_GOAL := help
.PHONY: help venv run test test-fast lint fmt typecheck bench demo migrate clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed ## Create .venv and install the pinned requirements

migrate: venv ## Apply the migrations to the configured database
	$(BIN)/flask db upgrade

demo: migrate ## Load demo data (a county, the 高平市 2025 plan, a finished draw) if the database is empty
	$(BIN)/flask demo --if-empty

run: demo ## Set up, load demo data the first time and serve on http://127.0.0.1:5000
	SPOTCHECK_SCHEDULER_ENABLED=$${SPOTCHECK_SCHEDULER_ENABLED:-1} $(BIN)/flask run --host 127.0.0.1 --port 5000

test: venv ## Run the whole suite (SQLite and PostgreSQL 15)
	$(BIN)/python -m pytest

test-fast: venv ## Run the suite on SQLite only
	$(BIN)/python -m pytest -k "not postgresql"

lint: venv ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server sync

fmt: venv ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv ## Benchmarks; prints BENCH <name> <value> <unit> <ratio>
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var
