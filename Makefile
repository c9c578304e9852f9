# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0

.PHONY: setup ns3 demo lint test test-fast test-all clean

setup: $(STAMP)

# torch is installed on its own first, pinned, so that CPU machines get the CPU build rather than
# GBs of CUDA wheels; the project and its dev extras follow.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update && apt-get install -y python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP) ns3
	$(VENV)/bin/icl reproduce --quick

# The ns-3 bridge's tests run the system's ns-3; this installs it from Debian's packages if missing.
ns3:
	sim/ns3/install.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Tests run on every core, one pytest-xdist worker each (tests/conftest.py shares the threads out).
XDIST := -n auto --dist worksteal

test: lint ns3
	$(PY) -m pytest $(XDIST) -m "not slow and not gpu"

# The unit tests: without ns-3 and the `pipeline` tests (subprocess training, figures, notebooks, long
# simulations); about 45 seconds on 2 cores.
test-fast: $(STAMP)
	$(PY) -m pytest $(XDIST) -m "not slow and not gpu and not ns3 and not pipeline" tests

test-all: $(STAMP) ns3
	$(PY) -m pytest $(XDIST)

clean:
	rm -rf $(VENV) runs figures .pytest_cache
