# Two commands on a fresh machine:  make run   ·   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run serve test test-dates bench install translations migrate demo clean lint-migrations

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d grants/translations

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load --if-empty

run: demo
	@echo "Fondos en http://$(HOST):$(PORT)  (cuentas de demostración en README.md, contraseña demo-2026)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production start (README "Running in production"): gunicorn, settings from the environment
# (gunicorn.conf.py: PORT, WEB_CONCURRENCY, GUNICORN_THREADS, …). Migrate first, once per release:
# `make migrate` (or `flask db upgrade`); /readyz answers 503 until the database is at head.
serve: translations
	$(BIN)/gunicorn --config gunicorn.conf.py

# The whole suite: SQLite always; PostgreSQL too when TEST_DATABASE_URL (default: the local
# server's `test` database) is reachable; browser tests in Debian's chromium. Random order, in
# TEST_WORKERS processes (pytest-xdist; each has its own template databases, tests/conftest.py).
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Any day is a test day (G11): the suite again with the whole process moved to other calendar days,
# every test but the browser ones (the same flows, already run above). Each day names the databases
# it runs on: the year's last day on both, the day after New Year on SQLite, mid-year of the next
# year on PostgreSQL — each backend sees two moved days, and CI stays within its time.
TEST_DATES ?= 2026-01-02@sqlite 2026-12-31@sqlite,postgresql 2027-06-30@postgresql
test-dates: install
	@for spec in $(TEST_DATES); do \
	  d=$${spec%@*}; b=$${spec#*@}; [ "$$b" = "$$spec" ] && b=sqlite,postgresql; \
	  echo "== the suite on $$d ($$b)"; \
	  FONDOS_TEST_TODAY=$$d FONDOS_TEST_BACKENDS=$$b $(BIN)/python -m pytest -q -p no:randomly -n $(TEST_WORKERS) -m "not browser" $(PYTEST_ARGS) || exit 1; \
	done

# Benchmarks (need the test PostgreSQL), each printing ratios and PASS/FAIL; see bench/README.md:
# beneficiary-list imports against a plain COPY (100k and 1M rows), then the liquidation checks
# against a sequential scan and the legislature report, on a generated year (300 agreements, 1M
# enrollments, 2M invoice lines, 0.5M receipts). `BENCH_ARGS=--quick` for a smoke run of both;
# BENCH_ARGS goes to each script (both take --quick, --seed, --repeat, --keep).
bench: install
	@status=0; \
	$(BIN)/python bench/beneficiary_import.py $(BENCH_ARGS) || status=1; \
	$(BIN)/python bench/liquidation_checks.py $(BENCH_ARGS) || status=1; \
	exit $$status

# Regenerate the message catalogue after changing UI text (then translate the new entries).
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_ngettext:1,2 -o grants/translations/messages.pot .
	$(BIN)/pybabel update -i grants/translations/messages.pot -d grants/translations

clean:
	rm -rf $(VENV) instance .pytest_cache
