# Two entry points for a newcomer: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit integration checks benchmark clean

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

# The fast loop: no emulator, no Airflow run (pytest marks the tests that need one `integration`).
unit: $(STAMP)
	$(BIN)/pytest -m "not integration"

integration: $(STAMP)
	$(BIN)/pytest -m integration

checks: lint typecheck unit

# Everything, on two cores: the integration tests beside lint, types and the fast loop.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target integration checks

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.extraction

clean:
	rm -rf $(VENV) .airflow reports .mypy_cache .ruff_cache .pytest_cache
