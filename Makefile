# Two entry points for a newcomer: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The lowest supported Airflow and amazon provider (constraints-lowest.txt), beside the newest in $(VENV).
LOWEST       := .venv-lowest
LOWEST_STAMP := $(LOWEST)/.installed

.PHONY: install demo test test-dag test-rest test-deployment test-lowest lint typecheck docs unit integration benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==$$(sed -n 's/^pip==//p' constraints.txt)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(LOWEST_STAMP): pyproject.toml constraints-lowest.txt
	test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade "pip==$$(sed -n 's/^pip==//p' constraints-lowest.txt)"
	$(LOWEST)/bin/python -m pip install --quiet -c constraints-lowest.txt -e '.[dev]'
	touch $(LOWEST_STAMP)

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

# Lint, types, the docs build and every test, on two cores: the whole-DAG runs beside all the rest, then the deployment (tests/deployment), which needs both cores for its own processes. The lowest
# supported versions are `make test-lowest`, a venv of their own; CI (.ci/run) runs both.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-dag test-rest
	$(MAKE) --no-print-directory test-deployment

# The whole-DAG runs: tests/integration, and the secrets-at-DEBUG test's two runs in child processes, which
# balance the two lanes (lint, types and the docs build run before the rest).
DAG_TESTS := tests/integration tests/emulator/test_secrets_at_debug.py

test-dag: $(STAMP)
	$(BIN)/pytest $(DAG_TESTS)

test-rest: lint typecheck docs
	$(BIN)/pytest $(addprefix --ignore=,$(DAG_TESTS)) --ignore=tests/deployment

# Real deployments: PostgreSQL, LocalExecutor, api-server, scheduler, dag-processor and triggerer against
# the emulator, once as docs/deploying.md's "Try it in a local Airflow" runs them (its own venv), once set up
# in Python with the trigger form in headless Chromium (installed from Debian's packages when missing).
test-deployment: $(STAMP)
	$(BIN)/pytest tests/deployment

# On the lowest supported versions: the fast loop (which loads the plugin through Airflow), one whole-DAG
# run in process and the plugin's page.
test-lowest: $(LOWEST_STAMP)
	$(LOWEST)/bin/pytest -m "not integration"
	$(LOWEST)/bin/pytest tests/plugins/test_ecr_page.py \
		tests/integration/test_dag_end_to_end.py::test_reports_land_under_the_spec_layout_with_the_seed_headers

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.end_to_end $(if $(ORIGINAL),--original $(ORIGINAL))
	$(BIN)/python -m benchmarks.extraction
	$(BIN)/python -m benchmarks.organisation
	$(BIN)/python -m benchmarks.usage

clean:
	rm -rf $(VENV) $(LOWEST) .airflow reports build/site .mypy_cache .ruff_cache .pytest_cache
