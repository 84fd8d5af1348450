# Two entry points, each doing all set-up on a fresh machine (Python >= 3.10):
#   make simulate   install, then run the main job (sk-eglpp simulate)
#   make test       install with the test extras, then run the test suite
# torch is installed first, pinned, from TORCH_INDEX_URL when given: on Linux the
# default index (PyPI) serves the CUDA build of torch with its CUDA packages;
# PyTorch's CPU wheel index serves the CPU build:
#   make simulate TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX_URL ?=
torch_install = $(1) -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX_URL),--index-url "$(TORCH_INDEX_URL)")
# modAL-python 0.4.2.1 pins skorch==0.9.0, so it is installed without its
# dependencies into a folder of its own; the compatibility tests load it there.
MODAL_0421 := $(VENV)/modal-0.4.2.1
SIMULATE_ARGS ?=
MIN_VENV ?= .venv-min
MIN_PY := $(MIN_VENV)/bin/python

.PHONY: simulate test test-slow test-min install install-tests lint docs

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	$(call torch_install,$(PY))
	$(PY) -m pip install --quiet -e .

install-tests: $(PY)
	$(call torch_install,$(PY))
	$(PY) -m pip install --quiet -e ".[tests,dask]"
	$(PY) -m pip install --quiet --no-deps --upgrade --target "$(MODAL_0421)" "modAL-python==0.4.2.1"

simulate: install
	$(VENV)/bin/sk-eglpp simulate $(SIMULATE_ARGS)

test: install-tests
	$(VENV)/bin/ruff check .
	SK_EGLPP_MODAL_0421="$(abspath $(MODAL_0421))" $(PY) -m pytest

# The tests marked slow (deselected by default), each minutes long: the quick
# pose preset of sk-eglpp simulate end to end.
test-slow: install-tests
	SK_EGLPP_MODAL_0421="$(abspath $(MODAL_0421))" $(PY) -m pytest -m slow

# The default test selection against the oldest releases the package supports
# (the floors in setup.py, pinned in .ci/min-versions.txt), in a venv of its own;
# binary wheels only, so that no old release is built from source.
test-min:
	$(PYTHON) -m venv $(MIN_VENV)
	$(call torch_install,$(MIN_PY))
	$(MIN_PY) -m pip install --quiet --only-binary=:all: -c .ci/min-versions.txt -e ".[tests]"
	$(MIN_PY) -m pytest

lint: install-tests
	$(VENV)/bin/ruff check .

# Build the documentation (user guide, API reference, executed example gallery)
# with warnings as errors; the HTML lands in docs/_build/html.
docs: $(PY)
	$(call torch_install,$(PY))
	$(PY) -m pip install --quiet -e ".[docs]"
	$(VENV)/bin/sphinx-build -W -b html docs docs/_build/html
