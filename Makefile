PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: what running Allot needs (`make run`), and the test tools on top (`make test`).
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000
# A fixed key for the local demo only; set your own for anything else.
ALLOT_BOOTSTRAP_ADMIN_KEY ?= allot-demo-admin-key
export ALLOT_BOOTSTRAP_ADMIN_KEY

.PHONY: install run test lint contract bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

# The demo's well-known key is expected here: no warning about it (docs/security.md).
run: export ALLOT_DEMO = 1
run: install
	$(BIN)/allot db upgrade
	$(BIN)/allot demo --if-empty
	@echo ""
	@echo "Allot is starting on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs)"
	@echo "Authenticate with:  Authorization: Bearer $(ALLOT_BOOTSTRAP_ADMIN_KEY)"
	@echo "  curl -H 'Authorization: Bearer $(ALLOT_BOOTSTRAP_ADMIN_KEY)' 'http://$(HOST):$(PORT)/v1/availability/AURORA-LAMP?channel=web'"
	@echo ""
	$(BIN)/allot serve --host $(HOST) --port $(PORT)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

# ruff on everything (src, tests, bench); mypy --strict on src (settings in pyproject.toml).
LINT_STAMP := $(VENV)/.lint-installed

lint: $(LINT_STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy

$(LINT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lint]'
	touch $(LINT_STAMP)

# The shared black-box contract check (needs ../shared, as in CI).
contract: install
	$(PY) ../shared/contract/check.py "$(CURDIR)"

clean:
	rm -rf $(VENV) allot.db allot.db-wal allot.db-shm

# Benchmarks (needs wrk and PostgreSQL at 127.0.0.1:5432): prints a table, writes bench/results/latest.json.
# BENCH_ARGS passes options on, e.g. BENCH_ARGS="--targets --base /tmp/base" (docs/performance.md).
BENCH_ARGS ?=
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
