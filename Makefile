# netsleuth — one command to set up and diagnose, one to set up and test.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup system-deps diagnose test lint typecheck unit clean collector

setup: system-deps $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip >/dev/null
	@$(BIN)/pip install -q -e '.[dev,fleet]'
	@touch $(STAMP)

## Diagnose this host, passively (add ARGS="--all-netns" etc.)
diagnose: setup
	$(BIN)/netsleuth diagnose $(ARGS)

## The collector zipapp for hosts without netsleuth (python3 >= 3.6, standard library only)
collector: setup
	$(BIN)/netsleuth collector build -o dist/netsleuth-collect.pyz

## Everything CI proves: lint, types, unit, integration (integration needs root)
test: setup lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck:
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
