# One-command set-up on a fresh machine: `make demo` (main job) and `make test` (test suite)
# create the virtualenv and install everything first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/weightspace demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for b in merge train eval synth video_clip; do $(BIN)/python benchmarks/$${b}_bench.py || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
