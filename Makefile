# Keyledger: `make demo` runs the portal with demo data; `make test` runs the whole test suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PORT ?= 8000
# The demo leaves last month's statements as drafts to review and Finalise: a grace period
# longer than a month keeps the worker from finalising them first.
DEMO_ENV := DEBUG=1 SITE_URL=http://127.0.0.1:$(PORT) KEYLEDGER_STATEMENT_GRACE_DAYS=40

.PHONY: venv demo serve test lint format bench clean

venv: $(STAMP)

$(STAMP):
	@set -e; python=$$(scripts/find-python); \
	  if [ ! -x $(BIN)/python ]; then echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
	  || $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

demo: venv
	$(DEMO_ENV) $(BIN)/keyledger migrate --no-input
	$(DEMO_ENV) $(BIN)/keyledger demo
	@echo "The background worker runs beside the portal: silent keys turn Critical, alert emails print here."
	@$(DEMO_ENV) $(BIN)/keyledger worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	  $(DEMO_ENV) $(BIN)/keyledger runserver 127.0.0.1:$(PORT)

# The development server on the demo's settings (the production server: `keyledger serve`).
serve: venv
	$(DEMO_ENV) $(BIN)/keyledger runserver 127.0.0.1:$(PORT)

# pytest exits 5 when it collected no tests: a broken suite, not a passing one.
test: venv
	@$(BIN)/pytest -n auto --dist loadfile $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make test: FAILED, no tests were collected" >&2; fi; exit $$status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python -m bench

# Billing and reports at a million keys; scale down with e.g. BENCH_ARGS="--keys 20000".
.PHONY: bench-billing
bench-billing: venv
	$(BIN)/python -m bench.billing $(BENCH_ARGS)

# The top bar's search at 100,000 keys, in-process; e.g. BENCH_ARGS="--keys 20000 --plans".
.PHONY: bench-search
bench-search: venv
	$(BIN)/python -m bench.search $(BENCH_ARGS)

# Call home through the production server and wrk (apt-get install wrk), on PostgreSQL when
# DATABASE_URL names one, then on SQLite; e.g. BENCH_ARGS="--keys 20000 --only sqlite".
.PHONY: bench-server
bench-server: venv
	$(BIN)/python -m bench.server $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .ruff_cache
