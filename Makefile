# One-line entry points for a fresh machine; the README quotes `make run`, `make test` and `make bench`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
BIN = $(VENV)/bin
LOCAL = APP_ENV=development PORT=$(PORT)

.PHONY: install run test lint translations bench

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(BIN)/.installed

## Install, migrate the local SQLite database and serve the app with the built-in sandbox.
run: install
	$(LOCAL) $(BIN)/flask --app wsgi db upgrade
	$(LOCAL) $(BIN)/flask --app wsgi shop load-demo
	$(LOCAL) $(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

## Install and run every test (SQLite; set TEST_DATABASE_URL for PostgreSQL).
test: install
	$(BIN)/python -m pytest

## Measure the customer and callback paths as deployed against bare Flask (PostgreSQL, Redis; bench/README.md).
bench: install
	$(BIN)/python bench/deployment.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## Re-extract texts and recompile catalogs after changing a translatable string.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o checkout/translations/messages.pot --no-location --sort-output --project=checkout .
	$(BIN)/pybabel update -i checkout/translations/messages.pot -d checkout/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d checkout/translations
