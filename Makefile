# Two entry points for a fresh machine (both idempotent):
#   make run    set up, then run the main job (python run_all.py --betas 1 4 16, quick preset)
#   make test   set up, lint, then run the test suite (what CI runs; SLURM=skip leaves out the Slurm packages)
#   make lint   ruff and the import-layer contracts only
# Set-up: a virtual environment in .venv that can see system packages, so a torch you installed
# yourself (e.g. a CUDA build) is used as is; without one, the CPU build torch==2.13.0 is installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup slurm-packages run lint test clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e '.[test,slurm]'
	touch $@

# The Slurm tests start a real single-node cluster from Debian packages; `make test` installs them with
# apt-get when they are missing and it can (root or passwordless sudo), saying so first. Outside CI,
# `make test SLURM=skip` installs nothing: without the packages the cluster tests skip, each with its reason.
SLURM ?= install

slurm-packages:
	bash scripts/slurm/install_packages.sh

run: setup
	$(BIN)/python run_all.py --betas 1 4 16

# ruff (lint + format check, line length 120) and the layer contracts of pyproject.toml (import-linter)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(CURDIR) && $(BIN)/lint-imports

test: setup lint
	@if [ "$(SLURM)" = skip ]; then echo "SLURM=skip: not installing the Slurm packages; without them the cluster tests are skipped"; \
	else $(MAKE) --no-print-directory slurm-packages; fi
	$(BIN)/python -m pytest -q

clean-venv:
	rm -rf $(VENV)
