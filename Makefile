# The few verbs people type. Everything installs itself into .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export FLASK_APP := app

.PHONY: run test bench loadtest lint audit install clean check-migrations migration

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/flask init-db
	$(BIN)/flask demo-data --if-empty
	GUNICORN_BIND=$(HOST):$(PORT) GUNICORN_THREADS=$${GUNICORN_THREADS:-4} $(BIN)/gunicorn app:app

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/search.py
	$(BIN)/python bench/booking.py --db both --nurseries 1,20
	$(BIN)/python bench/complaints.py --db both
	$(BIN)/python bench/coverage.py
	$(BIN)/python bench/network.py

# Load and fault test (bench/load.py, locust): 200 users for 60 s searching, booking and filing
# complaints against gunicorn -w 4 on a fresh PostgreSQL database (TEST_POSTGRES_URL) with a
# worker killed and the database unreachable for 10 s; fails unless the answers and the database
# check out. Needs PostgreSQL and Redis. Shorter: make loadtest LOAD_ARGS="--users 40 --seconds 20"
loadtest: $(STAMP)
	$(BIN)/python bench/load.py --users 200 --seconds 60 --mix all --faults all --db postgresql $(LOAD_ARGS)

# `flask db check` on a new SQLite database and, when TEST_POSTGRES_URL is set, on a new
# PostgreSQL one: the migrations upgrade an empty database to exactly the models' schema.
check-migrations: $(STAMP)
	$(BIN)/python migrations/check.py

# A new reviewed migration after a model change: make migration MESSAGE="add street kind"
migration: $(STAMP)
	$(BIN)/flask db migrate -m "$(MESSAGE)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Security checks (.ci/run runs them): bandit over the service's code (medium and high findings
# fail), pip-audit over the installed dependencies (a known vulnerability fails).
audit: $(STAMP)
	$(BIN)/bandit -q -c pyproject.toml -r . -ll
	$(BIN)/pip-audit --skip-editable --progress-spinner off

clean:
	rm -rf $(VENV) instance/*.sqlite3 .pytest_cache
