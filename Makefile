# Two entry points for a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,pulumi]'
	touch $(STAMP)

# The main job against the built-in emulated account: the seed's account, where the requested plan
# does not fit, then the adapted plan that does.
demo: $(STAMP)
	-$(BIN)/tap-preflight check manifests/tap-pipeline.yaml --env prod --sandbox seed-account
	$(BIN)/tap-preflight plan --adapt manifests/tap-pipeline.yaml --env prod --sandbox seed-account --save-plan plan.json

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/tap-preflight lint tap.py preflight/program
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_plan.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
