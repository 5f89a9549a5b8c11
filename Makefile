PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint screenshots bench faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# compileall: start from byte-compiled modules even where PYTHONDONTWRITEBYTECODE is set.
run: $(STAMP)
	@$(BIN)/python -m compileall -q core tui >/dev/null
	$(BIN)/smartlic

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The kill matrix, wire faults, concurrency, schemathesis and the fuzz tests with 5x the examples
# that `make test` runs; the summary lines give the figures:
# "faults: N cases, N healed, 0 lost, 0 duplicated" and "fuzz: N examples tried, 0 crashes".
# Then the stateful TUI test with 10x its steps (20,000 random steps over Download and Devices).
faults: $(STAMP)
	SMARTLIC_FUZZ_SCALE=5 $(BIN)/python -m pytest tests/faults tests/fuzz tests/api -q -p no:cacheprovider
	SMARTLIC_FUZZ_SCALE=10 $(BIN)/python -m pytest tests/tui/test_table_stateful.py -q -p no:cacheprovider

# Performance: one table of ratios to baselines measured in the same run (not part of `make test`).
bench: $(STAMP)
	$(BIN)/python -m bench

screenshots: $(STAMP)
	$(BIN)/python -m tests.support.scenarios screenshots
	$(BIN)/python -m tests.support.scenarios screenshots --size 80x24

clean:
	rm -rf $(VENV) build dist *.egg-info
