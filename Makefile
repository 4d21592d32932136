# Shelfwise: `make demo` runs the main job on the demo store; `make test` runs the test suite.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SCALE  ?= medium
PORT   ?= 8000
MLFLOW_PORT ?= 5000

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# The offline, quiet environment is set by the programs themselves (training/offline.py).

.DEFAULT_GOAL := help
.PHONY: help install lock demo test test-fast check audit lint format typecheck layering serve mlflow-ui clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || { echo "[1/3] creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "[2/3] installing Shelfwise and its pinned dependencies into $(VENV) (about 2 minutes the first time)"
	@$(BIN)/python -m pip install -q --upgrade pip 2>&1 | { grep -v "is ignored" || true; }
	@# setuptools' 12-line "Editable installation" notice says nothing a user can act on: dropped
	@# Every transitive dependency from the lock, each file checked against its sha256; then the
	@# project itself with no dependency resolution of its own.
	@$(BIN)/python -m pip install -q --progress-bar off --require-hashes -r requirements.lock 2>&1 \
		| { grep -v "is ignored" || true; }
	@$(BIN)/python -m pip install -q --progress-bar off --no-deps -e . 2>&1 \
		| sed '/BuildBackendWarning: Editable installation/,/with strategy, WheelFile/d' | { grep -v "is ignored" || true; }
	@echo "[3/3] checking the imports"
	@$(BIN)/python -c "import fastapi, lightgbm, implicit, bm25s, mlflow, torch, training.cli"
	@touch $(STAMP)
	@echo "installed: $(BIN)/shelfwise (try: make demo SCALE=small)"

install: $(STAMP) ## Create .venv and install Shelfwise with the train and dev extras (idempotent)

lock: $(STAMP) ## Re-resolve requirements.lock (hashes) from pyproject.toml; keeps pins, UPGRADE=1 takes newer
	$(BIN)/pip-compile --extra train --extra dev --generate-hashes --allow-unsafe --strip-extras \
		--no-header --no-emit-index-url --no-emit-find-links -q $${UPGRADE:+--upgrade} \
		-o requirements.lock pyproject.toml 2>&1 | { grep -v "is ignored" || true; }

demo: $(STAMP) ## Main job: demo store -> train all four families -> register in MLflow -> serve on PORT
	$(BIN)/shelfwise demo --scale $(SCALE) --port $(PORT)

test: $(STAMP) ## Run the whole test suite (slow tests included), as CI does
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## Run the tests without the slow ones
	$(BIN)/python -m pytest -q -m "not slow"

check: lint typecheck layering audit ## ruff + mypy + layering rules + dependency audit

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $$(git ls-files "*.py")

format: $(STAMP) ## ruff format + autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP) ## mypy over the packages
	$(BIN)/mypy recsys search fraud forecasting embedding metrics storage trees training models serving

layering: $(STAMP) ## mlflow only in models/registry.py, fastapi only in serving/, no domain imports another
	$(BIN)/python -m pytest -q tests/test_layering.py

audit: $(STAMP) ## Known vulnerabilities in the installed, pinned packages (pip-audit; needs pypi.org)
	@# Fails on any known vulnerability. Packages the advisory service cannot answer for (offline,
	@# or an index serving only the simple API) are counted and named; AUDIT_STRICT=1 fails on them.
	@$(BIN)/pip-audit --local --skip-editable --progress-spinner off --desc off > $(VENV)/audit.log 2>&1; \
	rc=$$?; cat $(VENV)/audit.log; \
	n=$$(grep -c "could not be audited" $(VENV)/audit.log); \
	if [ "$$n" -gt 0 ]; then \
	  echo "WARNING: $$n packages could NOT be audited (see above); the audit is incomplete."; \
	  if [ -n "$${AUDIT_STRICT:-}" ]; then rc=1; fi; \
	fi; exit $$rc

serve: $(STAMP) ## Serve the registered champions (SHELFWISE_* settings apply)
	$(BIN)/shelfwise serve --port $(PORT)

mlflow-ui: $(STAMP) ## Browse runs and the registry (http://127.0.0.1:MLFLOW_PORT, default 5000)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(abspath .shelfwise)/mlflow.db --port $(MLFLOW_PORT)

clean: ## Remove the state directory (MLflow store, caches, demo data)
	rm -rf .shelfwise
