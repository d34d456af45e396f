# Two entry points for a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz lint actionlint bench clean test-moto-range moto-suite

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,pulumi]'
	@# An editable install compiles nothing: written once here, as pip does for an installed package.
	$(BIN)/python -m compileall -q cli.py preflight >/dev/null
	touch $(STAMP)

# The main job against the built-in emulated account: the seed's account, where the requested plan
# does not fit (check says NO_GO and exits 1: that is the demo, not a failure), then the adapted plan
# that does. Any other exit code (2 bad input, 3 could not evaluate) fails the demo.
DEMO_ARGS := manifests/tap-pipeline.yaml --env prod --sandbox seed-account

demo: $(STAMP)
	@echo '$$ tap-preflight check $(DEMO_ARGS)'
	@code=0; $(BIN)/tap-preflight check $(DEMO_ARGS) || code=$$?; \
	case $$code in \
	  1) echo "(exit 1: NO_GO, the requested deployment does not fit; next, the plan that does)";; \
	  0) echo "(exit 0: GO)";; \
	  *) echo "(exit $$code: the check could not run)"; exit $$code;; \
	esac
	@echo
	@echo '$$ tap-preflight plan --adapt $(DEMO_ARGS) --save-plan plan.json'
	@$(BIN)/tap-preflight plan --adapt $(DEMO_ARGS) --save-plan plan.json

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/tap-preflight lint tap.py preflight/program
	$(BIN)/python -m pytest -q

# The property tests with a fresh seed (printed: rerun with `make fuzz TAP_FUZZ_SEED=N`) and more
# examples than `make test`'s fixed, derandomized run; shows how the examples spread over the branches.
# Then FUZZ_COUNT generated accounts from the same seed: plan --adapt, a rehearsal into the same
# account, 0 false GO.
TAP_FUZZ_EXAMPLES ?= 3000
FUZZ_COUNT ?= 200
fuzz: $(STAMP)
	@seed=$${TAP_FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz seed: $$seed (rerun: make fuzz TAP_FUZZ_SEED=$$seed)"; \
	TAP_FUZZ_SEED=$$seed TAP_FUZZ_EXAMPLES=$(TAP_FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
		--hypothesis-seed=$$seed --hypothesis-show-statistics \
		tests/plan/test_planner.py tests/plan/test_invariants.py -k "every_go_plan or water_fill or names_every_change" && \
	FUZZ_SEED=$$seed FUZZ_COUNT=$(FUZZ_COUNT) $(BIN)/python -m pytest -q -s -p no:warnings -p no:cacheprovider \
		tests/e2e/test_generated_accounts.py

lint: $(STAMP)
	$(BIN)/ruff check .

# Not in `make test`: actionlint cannot be installed on this project's machines (see README, CI).
actionlint: $(STAMP)
	@tmp=$$(mktemp -d) && mkdir -p $$tmp/.github/workflows && cp action.yml $$tmp/ && \
	cp docs/github-actions.yml $$tmp/.github/workflows/deploy.yml && \
	cd $$tmp && PATH="$(CURDIR)/$(BIN):$$PATH" actionlint -no-color .github/workflows/deploy.yml

bench: $(STAMP)
	$(BIN)/python bench/bench_commands.py
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_plan.py
	$(BIN)/python bench/bench_sweep.py
	$(BIN)/python bench/bench_install.py

# The sandbox's suite on the lowest and on the newest moto that pyproject.toml allows (a range within
# moto 5: the sandbox uses moto's documented surface), each in a throwaway venv under build/. Several
# minutes, so not part of `make test`; tests/sandbox/test_moto_surface.py keeps MOTO_LOWEST and
# pyproject.toml's lower bound the same.
MOTO_LOWEST := 5.1.17
MOTO_REQUIREMENT = $(shell $(PYTHON) -c 'import tomllib; print(next(d for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"] if d.startswith("moto[")))')
MOTO_SUITE := tests/sandbox tests/e2e/test_scenario_findings.py

test-moto-range:
	$(MAKE) --no-print-directory moto-suite MOTO_VENV=build/moto-lowest MOTO_PIN='$(firstword $(subst >, ,$(MOTO_REQUIREMENT)))==$(MOTO_LOWEST)'
	$(MAKE) --no-print-directory moto-suite MOTO_VENV=build/moto-newest MOTO_PIN='$(MOTO_REQUIREMENT)'

moto-suite:
	rm -rf $(MOTO_VENV)
	$(PYTHON) -m venv $(MOTO_VENV)
	$(MOTO_VENV)/bin/pip install --quiet --upgrade pip
	$(MOTO_VENV)/bin/pip install --quiet -e '.[dev]' '$(MOTO_PIN)'
	$(MOTO_VENV)/bin/python -c 'import moto; print("moto", moto.__version__, "in $(MOTO_VENV)")'
	$(MOTO_VENV)/bin/python -m pytest -q -p no:cacheprovider $(MOTO_SUITE)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
