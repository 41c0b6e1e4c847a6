# The two commands of the README:
#   make demo   builds .venv, loads demo data if the store is empty, writes the research extract, and serves
#               the one Jupyter server (landing page, dashboards, JupyterLab) as $(AS): make demo AS=demo.lab
#   (make lab   the same as make demo AS=$(LAB_AS) PORT=$(LAB_PORT))
#   make test   builds .venv with the test extras (and Debian's chromium and configurable-http-proxy if missing),
#               runs the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CASES ?= 2000
PORT ?= 8866
# AS is also make's built-in name for the assembler ("as"), so ?= would never apply: set it unless given
ifeq ($(origin AS),default)
AS := demo.koordinator
endif
LAB_AS ?= demo.lab
LAB_PORT ?= 8888
CHROMIUM := /usr/bin/chromium
# JupyterHub's proxy for tests/e2e/test_jupyterhub.py, from the npm registry (needs node and npm)
CHP_VERSION := 5.3.0
CHP := $(VENV)/node/node_modules/.bin/configurable-http-proxy
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
		echo "Run as root:  apt-get update && apt-get install -y --no-install-recommends chromium fonts-liberation   (then make test again)" >&2; \
		exit 1; \
	fi
	@command -v apt-get >/dev/null || { echo "No apt-get here: install chromium at $(CHROMIUM) by hand." >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation
	@test -x $(CHROMIUM) || { echo "apt-get did not install $(CHROMIUM)." >&2; exit 1; }

$(CHP): $(STAMP)
	@command -v npm >/dev/null || { echo "make test needs node and npm for JupyterHub's configurable-http-proxy (apt-get install -y nodejs npm)." >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@$(CHP_VERSION)
	@test -x $(CHP) || { echo "npm did not install $(CHP)." >&2; exit 1; }

demo: $(STAMP)
	$(BIN)/workbench demo --if-empty --cases $(DEMO_CASES)
	$(BIN)/workbench check --user demo.admin
	$(BIN)/workbench extract --user demo.admin
	$(BIN)/workbench serve --port $(PORT) --user $(AS)

# The same server as the lab user: JupyterLab on the lab and research notebooks, on the demo store's newest extract
lab:
	$(MAKE) demo AS=$(LAB_AS) PORT=$(LAB_PORT)

test: $(STAMP) $(CHROMIUM) $(CHP)
	$(BIN)/ruff check workbench tests bench notebooks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
