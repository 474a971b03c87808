# Two commands: `make run` (train if needed, then serve) and `make test` (every gate).
# The virtual environment (synced from uv.lock by a pinned uv) and the pinned CDK CLI are created on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
DATA   ?=
ROWS   ?= 200000
DEMO_FRAUD_RATE ?= 0.01  # the demo data is fraud-enriched like PaySim's public samples; thresholds target 0.13%
UV_VERSION := 0.13.8
UV     := $(BIN)/uv
# uv installs into .venv from PyPI (it reads no pip configuration) and trusts the system's CA store.
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_SYSTEM_CERTS ?= 1

.PHONY: run test lint typecheck pytest synth bench lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is required (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

# serve + train: what `make run` needs (--inexact keeps pip and uv in the environment)
$(VENV)/.run-installed: pyproject.toml uv.lock | $(BIN)/python
	$(UV) sync --frozen --inexact --no-dev --extra serve --extra local --extra train
	@touch $@

# everything: tests, linters, the CDK app; --locked fails when uv.lock is stale (run `make lock`)
$(VENV)/.dev-installed: pyproject.toml uv.lock | $(BIN)/python
	$(UV) sync --locked --inexact --all-extras --all-groups
	@touch $@ $(VENV)/.run-installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: $(VENV)/.run-installed
	@if [ -n "$(DATA)" ] || ! $(BIN)/fraud models current >/dev/null 2>&1; then \
		$(BIN)/fraud train $(if $(DATA),$(foreach d,$(DATA),--data $(d)),--generate-rows $(ROWS) --generate-fraud-rate $(DEMO_FRAUD_RATE)) || exit 1; \
	fi
	@echo "Serving model $$($(BIN)/fraud models current) on http://$(HOST):$(PORT) — try:"
	@echo "  curl -X POST $(HOST):$(PORT)/predict -H 'content-type: application/json' -d '{\"amount\": 112.00, \"oldbalanceOrg\": 100.00, \"newbalanceOrig\": 0.00}'"
	$(BIN)/fraud serve --host $(HOST) --port $(PORT)

test: lint typecheck pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed node_modules/.installed
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(BIN)/pytest -q

synth: $(VENV)/.dev-installed node_modules/.installed
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true \
		node_modules/.bin/cdk synth --no-notices --quiet

bench: $(VENV)/.dev-installed
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# After changing dependencies in pyproject.toml: resolve uv.lock again and export what each image installs.
lock: | $(BIN)/python
	$(UV) lock
	$(BIN)/python -m infra.lock

clean:
	rm -rf $(VENV) node_modules cdk.out .mypy_cache .ruff_cache .pytest_cache
