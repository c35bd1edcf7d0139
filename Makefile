# Front Door: `make run` to try it, `make test` to prove it. Both set up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: setup run test bench lint content-check clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

setup: $(INSTALLED)
	mkdir -p var
	$(BIN)/frontdoor db upgrade

run: setup
	$(BIN)/frontdoor serve

lint: $(INSTALLED)
	$(BIN)/ruff check .

content-check: $(INSTALLED)
	$(BIN)/frontdoor content check

test: setup lint content-check
	$(BIN)/pytest -q -p no:cacheprovider

bench: setup
	$(BIN)/python -m bench.engine_bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
