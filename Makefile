# One-command set-up on a fresh machine: `make demo` (main job) and `make test` (test suite)
# create the virtualenv and install everything first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench wheel-check clean

# constraints.txt pins the tested versions of the dependencies (pyproject.toml declares the ranges)
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/weightspace demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for b in merge train mote eval synth video_clip; do $(BIN)/python benchmarks/$${b}_bench.py || exit 1; done

# build the wheel, install it into a fresh virtualenv, run demo --quick, push --dry-run, eval --suite demo
wheel-check: $(STAMP)
	DEPS_PYTHON=$(BIN)/python .ci/wheel_check

clean:
	rm -rf $(VENV) .pytest_cache
