# CreditSync: `make demo` runs the gateway locally, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV     := $(BIN)/uv
# The console's charts: Apache ECharts from the npm registry, served by the gateway itself (no CDN).
ECHARTS_VERSION := 6.1.0
ECHARTS := src/creditsync/orchestration/ui/static/echarts.min.js
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install chromium echarts demo stop status test test-fast lint bench lock clean

# Bytecode is written at install (uv --compile-bytecode, compileall for the gateway itself): where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile every module it imports.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

$(ECHARTS):
	mkdir -p $(dir $@)
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent echarts@$(ECHARTS_VERSION) > /dev/null \
	  && tar xzf echarts-$(ECHARTS_VERSION).tgz package/dist/echarts.min.js package/LICENSE) \
	  && cp $$tmp/package/dist/echarts.min.js $@ && cp $$tmp/package/LICENSE $(dir $@)echarts.LICENSE \
	  && rm -rf $$tmp

echarts: $(ECHARTS)

install: $(STAMP) $(ECHARTS)

# The browser suite drives the distribution's Chromium (a test tool's own browser download fails here),
# with a CJK font so that its screenshots show the Chinese pages as people see them.
chromium:
	command -v chromium > /dev/null && command -v chromedriver > /dev/null && fc-list :lang=zh | grep -q . || \
	  ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	   apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei > /dev/null)

demo: install
	bash scripts/demo.sh start

stop:
	bash scripts/demo.sh stop

status:
	bash scripts/demo.sh status

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install chromium lint
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not integration and not reliability and not browser and not e2e"

# make bench [BENCH="--only e2e_rest --args 'e2e_rest=--records 10000'"]; figures go to benchmarks/RESULTS.md
bench: install
	$(BIN)/python -m compileall -q src  # modules changed since install: measured, not compiled per process
	$(BIN)/python benchmarks/run.py $(BENCH)

lock: install
	$(UV) pip compile requirements.in --python-version 3.11 -o requirements.lock

clean:
	bash scripts/demo.sh clean
	rm -rf var .sim .pytest_cache .mypy_cache .ruff_cache
