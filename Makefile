# Two entry points for a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz lint bench clean

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

# The property tests with a fresh seed (printed: rerun with `make fuzz TAP_FUZZ_SEED=N`) and more
# examples than `make test`'s fixed, derandomized run; shows how the examples spread over the branches.
TAP_FUZZ_EXAMPLES ?= 3000
fuzz: $(STAMP)
	@seed=$${TAP_FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz seed: $$seed (rerun: make fuzz TAP_FUZZ_SEED=$$seed)"; \
	TAP_FUZZ_SEED=$$seed TAP_FUZZ_EXAMPLES=$(TAP_FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
		--hypothesis-seed=$$seed --hypothesis-show-statistics \
		tests/test_planner.py -k "every_go_plan or water_fill"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_plan.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
