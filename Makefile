# Everything sets itself up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test checks lint typecheck layers unit smoke bench bench-tiny clean

$(STAMP): setup.cfg setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# Pure Python in development: compiled modules (setup.py) in the tree would shadow edits to the .py files.
	REFUNDCTL_PURE=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	bash examples/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check refundctl tests bench setup.py
	$(BIN)/ruff format --check refundctl tests bench setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports --no-cache

# pytest on every core (pytest-xdist); the install tests share one wheel install, so one worker runs them all.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadgroup
	$(BIN)/refundctl policy test

smoke: $(STAMP)
	bash examples/smoke.sh

# The stages are independent: once the venv is ready they run side by side, each one's output kept together.
test: $(STAMP)
	$(MAKE) --no-print-directory -j 4 --output-sync=target checks unit smoke bench-tiny

checks: lint typecheck layers

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Every bench once at a tiny size (figures not reported), so that a broken bench fails `make test`.
bench-tiny: $(STAMP)
	$(BIN)/python bench/run.py --tiny

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
