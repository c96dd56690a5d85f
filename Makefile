# CreditSync: `make demo` runs the gateway locally, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV     := $(BIN)/uv

.PHONY: install demo stop status test test-fast lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	bash scripts/demo.sh start

stop:
	bash scripts/demo.sh stop

status:
	bash scripts/demo.sh status

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install lint
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not integration and not reliability"

# make bench [BENCH="--only e2e_rest --args 'e2e_rest=--records 10000'"]; figures go to benchmarks/RESULTS.md
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH)

lock: install
	$(UV) pip compile requirements.in --python-version 3.11 -o requirements.lock

clean: stop
	rm -rf var .sim .pytest_cache .mypy_cache .ruff_cache
