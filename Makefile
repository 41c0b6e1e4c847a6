# The two commands of the README:
#   make demo   builds .venv, loads demo data if the store is empty, writes the research extract, serves the dashboards as $(AS)
#   (make lab   the same data; JupyterLab on the lab and research notebooks as $(LAB_AS))
#   make test   builds .venv with the test extras (and Debian's chromium if missing), runs the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CASES ?= 2000
PORT ?= 8866
AS ?= demo.koordinator
LAB_AS ?= demo.lab
LAB_PORT ?= 8888
CHROMIUM := /usr/bin/chromium
export WORKBENCH_DATA ?= $(CURDIR)/data

.PHONY: demo lab test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# what a wheel install puts there (pip's editable install leaves data files out): Jupyter servers load the extension
	install -D -m 644 jupyter-config/jupyter_server_config.d/workbench.json \
		$(VENV)/etc/jupyter/jupyter_server_config.d/workbench.json
	touch $(STAMP)

# The browser tests drive Debian's chromium through Playwright (Playwright's own browser
# download is not used). Installed only when missing, and only as root.
$(CHROMIUM):
	@if [ "$$(id -u)" != "0" ]; then \
		echo "make test needs Debian's chromium at $(CHROMIUM) for the browser tests, and installing it needs root." >&2; \
		echo "Run as root:  apt-get update && apt-get install -y chromium   (then make test again)" >&2; \
		exit 1; \
	fi
	@command -v apt-get >/dev/null || { echo "No apt-get here: install chromium at $(CHROMIUM) by hand." >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
	@test -x $(CHROMIUM) || { echo "apt-get did not install $(CHROMIUM)." >&2; exit 1; }

demo: $(STAMP)
	$(BIN)/workbench demo --if-empty --cases $(DEMO_CASES)
	$(BIN)/workbench check --user demo.admin
	$(BIN)/workbench extract --user demo.admin
	$(BIN)/workbench serve --port $(PORT) --user $(AS)

# The lab and research notebooks in JupyterLab, on the demo store's newest extract, as $(LAB_AS)
lab: $(STAMP)
	$(BIN)/workbench demo --if-empty --cases $(DEMO_CASES)
	$(BIN)/workbench extract --user demo.admin
	WORKBENCH_USER=$(LAB_AS) $(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --port $(LAB_PORT) \
		--ServerApp.root_dir=$(CURDIR)/notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check workbench tests bench notebooks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
