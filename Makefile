# Two commands do everything on a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LABEXT_SRC := $(shell find labextension/src labextension/style labextension/schema labextension/package.json -type f 2>/dev/null)

.PHONY: demo test dist install install-test system-deps check pytest-suite notebooks-suite frontend-suite bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip

# Editable install: the hatch-jupyter-builder hook builds the labextension (jlpm) into jupyter_mlops/labextension.
# `install` brings what the example notebooks import (the `examples` extra); one install with the test extras
# also satisfies it, so the extension is built once.
$(VENV)/.installed: pyproject.toml $(LABEXT_SRC) | $(PY)
	$(PIP) install -e ".[examples]"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(LABEXT_SRC) | $(PY)
	$(PIP) install -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Heavy system parts, installed from Debian only when missing.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium postgresql >/dev/null; \
	fi

demo: install
	@bash example_notebooks/demo.sh "$(VENV)"

# Lint, layer contracts, and strict typing of the core (store, capture, tracking, the bottom layer), of the
# kernel-side observer that feeds it, and of the use cases every face calls (app/).
check: install-test
	$(VENV)/bin/ruff check jupyter_mlops tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy jupyter_mlops/store jupyter_mlops/capture jupyter_mlops/tracking \
	  jupyter_mlops/entities.py jupyter_mlops/errors.py jupyter_mlops/config.py jupyter_mlops/ipython/kernel_events.py \
	  jupyter_mlops/app jupyter_mlops/interop jupyter_mlops/report_text.py jupyter_mlops/notebooks/slicing

pytest-suite: install-test system-deps
	$(PY) -m pytest -p no:cacheprovider -q tests

# The example notebooks, executed both ways (our runner and nbval); their runs go to a throwaway store.
notebooks-suite: install-test
	store=$$(mktemp -d) && export JUPYTER_MLOPS_STORE="sqlite:///$$store/mlops.db" JUPYTER_MLOPS_BLOBS="$$store/blobs" && \
	$(PY) -m pytest -p no:cacheprovider -q --nb-smoke example_notebooks/ && \
	$(PY) -m pytest -p no:cacheprovider -q --nbval-lax example_notebooks/

# jest specs of the sidebar; node_modules normally exists already (the install's build ran jlpm install).
frontend-suite: install-test
	cd labextension && $(CURDIR)/$(VENV)/bin/jlpm install && $(CURDIR)/$(VENV)/bin/jlpm test

test: check pytest-suite notebooks-suite frontend-suite

# A wheel with the JupyterLab extension built inside (needs Node.js here, not where the wheel is installed).
dist: | $(PY)
	rm -rf dist
	$(PIP) wheel --no-deps -w dist .
	@echo "built $$(ls dist/*.whl): install it anywhere with pip, no Node.js needed"

bench: install-test
	$(PIP) install -e ".[bench]"
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) dist labextension/node_modules labextension/lib jupyter_mlops/labextension .mlops
