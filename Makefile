# Two entry points for a newcomer: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-dag test-rest test-deployment lint typecheck docs unit integration benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==$$(sed -n 's/^pip==//p' constraints.txt)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m emulator.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml) into build/site/; --strict: a broken link or anchor fails it.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet

# The fast loop: no emulator, no Airflow run (pytest marks the tests that need one `integration`).
unit: $(STAMP)
	$(BIN)/pytest -m "not integration"

integration: $(STAMP)
	$(BIN)/pytest -m integration --ignore=tests/deployment

# Lint, types, the docs build and every test, on two cores: the DAG runs (tests/integration) beside all the rest, then
# the deployment (tests/deployment), which needs both cores for its own processes.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-dag test-rest
	$(MAKE) --no-print-directory test-deployment

test-dag: $(STAMP)
	$(BIN)/pytest tests/integration

test-rest: lint typecheck docs
	$(BIN)/pytest --ignore=tests/integration --ignore=tests/deployment

# Real deployments: PostgreSQL, LocalExecutor, api-server, scheduler, dag-processor and triggerer against
# the emulator, once as docs/deploying.md's "Try it in a local Airflow" runs them (its own venv), once set up
# in Python with the trigger form in headless Chromium (installed from Debian's packages when missing).
test-deployment: $(STAMP)
	$(BIN)/pytest tests/deployment

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.extraction
	$(BIN)/python -m benchmarks.organisation
	$(BIN)/python -m benchmarks.usage

clean:
	rm -rf $(VENV) .airflow reports build/site .mypy_cache .ruff_cache .pytest_cache
