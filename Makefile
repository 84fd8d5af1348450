# Two entry points, each doing all set-up on a fresh machine (Python >= 3.10):
#   make simulate   install, then run the main job (sk-eglpp simulate)
#   make test       install with the test extras, then run the test suite
# The CPU build of torch is installed first: an unpinned torch pulls a CUDA build.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
# modAL-python 0.4.2.1 pins skorch==0.9.0, so it is installed without its
# dependencies into a folder of its own; the compatibility tests load it there.
MODAL_0421 := $(VENV)/modal-0.4.2.1
SIMULATE_ARGS ?=

.PHONY: simulate test install install-tests lint docs

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e .

install-tests: $(PY)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[tests,dask]"
	$(PY) -m pip install --quiet --no-deps --upgrade --target "$(MODAL_0421)" "modAL-python==0.4.2.1"

simulate: install
	$(VENV)/bin/sk-eglpp simulate $(SIMULATE_ARGS)

test: install-tests
	$(VENV)/bin/ruff check .
	SK_EGLPP_MODAL_0421="$(abspath $(MODAL_0421))" $(PY) -m pytest

lint: install-tests
	$(VENV)/bin/ruff check .

# Build the documentation (user guide, API reference, executed example gallery)
# with warnings as errors; the HTML lands in docs/_build/html.
docs: $(PY)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[docs]"
	$(VENV)/bin/sphinx-build -W -b html docs docs/_build/html
