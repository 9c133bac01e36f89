# The course's commands. Each one sets itself up: a .venv with the pinned dependencies is
# created (or refreshed when pyproject.toml or the constraints change) before it runs.
#
#   make book      build the website into _build/html
#   make test      run the whole test suite (rnnlib, notebooks, assignments, grading, site)
#   make release   solutions/<id>/<id>.md (MyST) -> solutions/<id>/<id>.ipynb -> exercises/ (nbgrader)
#   make bench     rnnlib against PyTorch; results into bench/results/ (needs torch)
#   make grade     grade a class: SUBMISSIONS=submitted (or ZIP=download.zip ASSIGNMENT=ch01_...)
#   make kit       the course kit for students: _build/kit/ (rnnlib wheel, zip of the exercises)
#   make deps      what `make test` needs beyond Python (Debian packages, PyTorch): nothing skipped
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
AXE_VERSION := 4.14.1
# Tools installed in the venv (nbgrader calls `alembic`, tests call `jupyter-book`) come first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup book test release clean bench grade kit deps

$(STAMP): pyproject.toml grader/pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	@# rnnlib (what students install) and, beside it, the instructor's grader (grader/: rnngrade).
	PIP_CONSTRAINT=$(abspath $(CONSTRAINTS)) $(BIN)/python -m pip install --quiet -e ".[test]" -e ./grader
	@# axe-core (accessibility rules injected into pages by the browser tests), from npm.
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION); \
	else echo "npm not found: the browser accessibility tests will be skipped"; fi
	@touch $(STAMP)

setup: $(STAMP)

# One BLAS thread per process: on 2 cores, numpy's threads and the kernels executing pages or
# notebooks otherwise fight for the cores and training cells run many times slower.
book test: export OPENBLAS_NUM_THREADS ?= 1

book: setup
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo ""
	@echo "Site built. Open: $(CURDIR)/_build/html/index.html"

test: setup
	$(BIN)/python -m pytest

release: setup
	$(BIN)/python -m scripts.release

# The course kit (scripts/kit.py): rnnlib's wheel (numpy only, with its checkers, no grading
# code) and a zip of every exercise notebook with the wheel, a requirements.txt and a README.
# The site builds the same kit into its kit/ folder and offers it for download.
kit: setup
	$(BIN)/python -m scripts.kit

# Everything the tests use beyond Python, so that `make test` skips nothing: the Debian packages
# of .ci/system-deps (the same script CI runs; needs root, else it says what to run), then the
# .venv, axe-core (needs npm) and PyTorch (CPU build; this exact spelling).
deps:
	@if ! command -v apt-get >/dev/null; then \
	  echo "No apt-get: install chromium, bubblewrap, postgresql and npm with your package manager."; \
	elif [ "$$(id -u)" = 0 ]; then bash .ci/system-deps; \
	elif sudo -n true 2>/dev/null; then sudo bash .ci/system-deps; \
	else echo "Not root: run  sudo bash .ci/system-deps  for chromium, bubblewrap, postgresql, npm."; fi
	$(MAKE) setup
	@if command -v npm >/dev/null && [ ! -f $(VENV)/axe/node_modules/axe-core/axe.min.js ]; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION); fi
	$(BIN)/python -m pip install --quiet torch==2.13.0

# Benchmark (a script, not timed tests): rnnlib against PyTorch's nn.RNN and the machine's
# matmul speed, plus character-model training throughput; writes bench/results/<date>.json and
# .png, which the book's Performance appendix shows. A few minutes. More with
#   make bench BENCH_ARGS="--with-build --with-grading"   (cold book build, autograding)
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the benchmark only: set to another CPU's
# values they make numpy several times slower, and we measure this machine as it is.
BENCH_ARGS ?=
bench: setup
	@$(BIN)/python -c "import torch" 2>/dev/null || { \
	  echo "make bench compares rnnlib with PyTorch, which is not installed. Install it with:"; \
	  echo "  $(BIN)/pip install torch==2.13.0"; exit 1; }
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python bench/run.py $(BENCH_ARGS)

# Grade a class with the instructor's grader (grader/, package rnngrade, installed by setup;
# see book/instructors.md): normalise every submission, autograde it in a confined kernel,
# score it with the independent judge, write feedback HTML, grades.csv and a
# report into grading/. Student code is confined with bubblewrap (apt-get install bubblewrap).
#   make grade SUBMISSIONS=path/to/submitted [GRADE_ARGS="--workers 4 --db-url postgresql+psycopg2://..."]
#   make grade ZIP=download.zip ASSIGNMENT=ch01_sequential_data
SUBMISSIONS ?= submitted
GRADE_ARGS ?=
grade: setup
	$(BIN)/python -m rnngrade $(if $(ZIP),--zip $(ZIP) --assignment $(ASSIGNMENT),$(SUBMISSIONS) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))) $(GRADE_ARGS)

clean:
	rm -rf _build
