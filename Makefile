# The two commands of the README:
#   make demo   builds .venv, loads demo data if the store is empty, serves the workbench
#   make test   builds .venv with the test extras and runs the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CASES ?= 2000
export WORKBENCH_DATA ?= $(CURDIR)/data

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/workbench demo --if-empty --cases $(DEMO_CASES)
	$(BIN)/workbench check
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --no-browser --notebook-dir=notebooks

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
