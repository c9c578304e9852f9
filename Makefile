# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0
LOCK := lock/dev.txt

.PHONY: setup setup-bench lock ns3 demo lint test test-fast test-all results clean notebooks

setup: $(STAMP)

# torch is installed on its own first, by its pin, so that a machine with the CPU build at hand takes it
# rather than GBs of CUDA wheels (TORCH_INDEX=https://download.pytorch.org/whl/cpu asks for it); then every other distribution at the exact version and hash the lock
# names (pip itself and the build backend included), then this package itself, which adds nothing.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update && apt-get install -y python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
	$(PY) -m pip check
	touch $(STAMP)

# The GPT-2 comparison of benchmarks/train_speed.py needs Hugging Face transformers (the `bench` extra).
setup-bench: $(STAMP)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r lock/bench.txt
	$(PY) -m pip check

# Refresh the locks: pyproject's dependencies, pip and the build backend resolved to exact versions with
# hashes for Python 3.11 on this platform; torch's own dependencies are resolved against its CPU build
# (from a local wheel directory where the machine has one, else PyTorch's CPU index) and torch itself is
# left to its pin above. Then run `make test` and commit the lock.
TORCH_FIND_LINKS ?= $(if $(wildcard /opt/wheels/torch-*),/opt/wheels,https://download.pytorch.org/whl/cpu/torch/)
LOCK_INPUTS = $(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], "pip", "$(TORCH)+cpu", sep="\n")'
LOCK_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml - --python-version 3.11 --generate-hashes --quiet \
	--find-links $(TORCH_FIND_LINKS) --no-emit-package torch --custom-compile-command "make lock"

# The dev lock is resolved first; the base and bench locks keep its versions (it is what CI tests). Pinned
# versions stay unless `make lock UPGRADE=--upgrade` asks for the newest that pyproject allows.
UPGRADE ?=
lock: $(STAMP)
	$(LOCK_INPUTS) | $(LOCK_COMPILE) $(UPGRADE) --extra dev -o lock/dev.txt
	$(LOCK_INPUTS) | $(LOCK_COMPILE) -c lock/dev.txt -o lock/base.txt
	$(LOCK_INPUTS) | $(LOCK_COMPILE) -c lock/dev.txt --extra dev --extra bench -o lock/bench.txt

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
# simulations); under a minute on 2 cores.
test-fast: $(STAMP)
	$(PY) -m pytest $(XDIST) -m "not slow and not gpu and not ns3 and not pipeline" tests

test-all: $(STAMP) ns3
	$(PY) -m pytest $(XDIST)

# The notebooks executed in place, one after another, at their committed sizes: their outputs are committed
# so that they read on GitHub, and every claim of their text is asserted as they run (notebook 05 runs ns-3).
# The quick figures whose numbers the README quotes, reproduced into figures/ and copied to results/ with
# their provenance; then the README's marked numbers are rewritten from them (tests/test_readme.py checks).
RESULT_FIGURES := csma_fair_test csma_worlds csma_worlds_ns3
results: $(STAMP) ns3
	for figure in $(RESULT_FIGURES); do $(VENV)/bin/icl reproduce $$figure --size quick || exit 1; done
	$(PY) -m paper_figs.readme_numbers --collect figures

notebooks: $(STAMP) ns3
	$(PY) notebooks/execute.py notebooks/*.ipynb

clean:
	rm -rf $(VENV) runs figures .pytest_cache
