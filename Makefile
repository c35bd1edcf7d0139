# Front Door: `make run` to try it, `make test` to prove it. Both set up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: setup run test bench lint content-check clean browser screenshots

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

# The dashboard's browser tests drive Debian's chromium; install it once if missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: setup lint content-check browser
	$(BIN)/pytest -q -p no:cacheprovider

# Pictures of the dashboard for the README, from synthetic requests.
screenshots: setup browser
	$(BIN)/python -m docs.screenshots

bench: setup
	$(BIN)/python -m bench.engine_bench
	$(BIN)/python -m bench.callback_bench
	$(BIN)/python -m bench.safety_bench
	$(BIN)/python -m bench.webhook_bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
