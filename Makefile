# fxlab: two commands. `make report` runs the study, `make test` runs the tests.
# Both create the virtual environment in .venv on first use (Python 3.11, from pyproject.toml).

PYTHON ?= python3
VENV   ?= .venv
PROFILE ?= quick
# pyproject's optional extras to install: `make test EXTRAS=dev,jax` adds the JAX backend (CI does).
EXTRAS ?= dev
COMMA  := ,
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.fxlab-installed-$(subst $(COMMA),-,$(EXTRAS))

.PHONY: report test lint format env clean-reports

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

## Run the whole study with the quick profile; prints the report's path.
report: $(STAMP)
	$(BIN)/fxlab run --profile $(PROFILE) $(if $(RUN_ID),--run-id $(RUN_ID),)

# The suite runs on every core (pytest-xdist), a test file to a worker so that a module's costly
# fixture is made once, the longest files first (tests/conftest.py). `make test PYTEST_ARGS=` runs
# it in one process. The 15 slowest tests are listed at the end (issue 21 tracks them).
PYTEST_ARGS ?= -n logical --dist loadfile --no-loadscope-reorder --durations=15

## Run the test suite (browser tests included; `pytest -m browser` runs them alone).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check fxlab tests

format: $(STAMP)
	$(BIN)/ruff format fxlab tests

clean-reports:
	rm -rf reports/*/ reports/latest
