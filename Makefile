# The course's commands. Each one sets itself up: a .venv with the pinned dependencies is
# created (or refreshed when pyproject.toml or the constraints change) before it runs.
#
#   make book      build the website into _build/html
#   make test      run the whole test suite (rnnlib, notebooks, assignments, grading, site)
#   make release   regenerate exercises/ (student notebooks) from solutions/
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
AXE_VERSION := 4.14.1
# Tools installed in the venv (nbgrader calls `alembic`, tests call `jupyter-book`) come first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup book test release clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	PIP_CONSTRAINT=$(abspath $(CONSTRAINTS)) $(BIN)/python -m pip install --quiet -e ".[test]"
	@# axe-core (accessibility rules injected into pages by the browser tests), from npm.
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION); \
	else echo "npm not found: the browser accessibility tests will be skipped"; fi
	@touch $(STAMP)

setup: $(STAMP)

book: setup
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo ""
	@echo "Site built. Open: $(CURDIR)/_build/html/index.html"

test: setup
	$(BIN)/python -m pytest

release: setup
	$(BIN)/python -m scripts.release

clean:
	rm -rf _build
