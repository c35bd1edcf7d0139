# Front Door: `make run` to try it, `make test` to prove it. Both set up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

LOCK := requirements-dev.lock
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
# Where the vulnerability data (PyPI's per-release advisories) is reachable, `make audit`
# fails on any known vulnerability in the lock, or any package it could not check;
# elsewhere (a mirror without that data) it says clearly that it was skipped.
AUDIT_PROBE := import re, urllib.request as u; \
	n, v = re.search(r'^([\w.-]+)==(\S+)', open('$(LOCK)').read(), re.M).groups(); \
	u.urlopen(f'https://pypi.org/pypi/{n}/{v}/json', timeout=5)

.PHONY: setup run test bench lint content-check clean browser screenshots lock relock audit mutate

# Installs exactly the locked versions, every file checked against its hash.
$(INSTALLED): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "$(LOCK) lacks what pyproject.toml asks for: run 'make relock'"; exit 1; }
	touch $(INSTALLED)

setup: $(INSTALLED)
	mkdir -p var
	$(BIN)/frontdoor db upgrade

run: setup
	$(BIN)/frontdoor serve

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

content-check: $(INSTALLED)
	$(BIN)/frontdoor content check

# The dashboard's browser tests drive Debian's chromium; install it once if missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: setup lint content-check audit browser
	$(BIN)/pytest -q -p no:cacheprovider -n auto --dist loadfile

# Pictures of the dashboard for the README, from synthetic requests.
screenshots: setup browser
	$(BIN)/python -m docs.screenshots

bench: setup
	$(BIN)/python -m bench.engine_bench
	$(BIN)/python -m bench.callback_bench
	$(BIN)/python -m bench.safety_bench
	$(BIN)/python -m bench.webhook_bench
	$(BIN)/python -m bench.webchat_bench
	$(BIN)/python -m bench.figures_bench
	$(BIN)/python -m bench.chat_bench

# `make lock`: upgrade every dependency within pyproject.toml's ranges, re-lock with hashes.
# `make relock`: keep today's pins, only add what pyproject.toml newly asks for.
lock: UPGRADE := --upgrade
lock relock: $(INSTALLED)
	PIP_CONSTRAINT= $(COMPILE) $(UPGRADE) -o requirements.lock pyproject.toml
	PIP_CONSTRAINT= $(COMPILE) $(UPGRADE) --extra dev -o $(LOCK) pyproject.toml
	@echo "locked; 'make setup' installs what changed"

# Mutation testing of the safety-critical modules ([tool.mutmut] in pyproject.toml);
# slow, so never part of `test` or CI. MUTANTS='bot.dashboard.claims*' narrows it.
# Prints every mutant that survived: a change to the code no test noticed.
MUTANTS ?=
mutate: setup
	rm -rf mutants
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

audit: $(INSTALLED)
	@if $(BIN)/python -c "$(AUDIT_PROBE)" >/dev/null 2>&1; then \
		$(BIN)/pip-audit --strict --progress-spinner off --disable-pip --require-hashes -r $(LOCK); \
	else \
		echo "make audit: SKIPPED - PyPI's vulnerability data is not reachable from here"; \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
