# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# Both bootstrap .venv (python3 -m venv + pip install -e '.[dev]') and skip the install when
# pyproject.toml has not changed since the last one.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint typecheck pytest bench clean system-deps native

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# make run SPEED=5 PORT=8081 DURATION=600: the demo's replay speed (5m candles a second), dashboard port, bound
run: $(STAMP) native
	$(BIN)/aitrader demo $(if $(SPEED),--speed $(SPEED)) $(if $(PORT),--port $(PORT)) $(if $(DURATION),--duration $(DURATION))

# Debian's chromium for the browser tests; installed only when missing.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; }

# the compiled engine core (aitrader.native): rebuilt only when its sources changed; without a C compiler
# the build says why and the engine runs interpreted
native: $(STAMP)
	@$(BIN)/python tools/build_native.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps native
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# every benchmark runs and prints its figures; the target fails at the end if any missed a target
bench: $(STAMP) native
	@failed=""; for b in data indicators signals backtest live api ml; do \
	  if [ -f bench/$$b.py ]; then echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || failed="$$failed $$b"; fi; done; \
	  if [ -n "$$failed" ]; then echo "targets missed or errors in:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info src/*.egg-info src/aitrader/_native.json
	find src -name '*.so' -delete
