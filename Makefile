# The two commands: `make run` (set up and serve the embedded default) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv venv-dev migrate seed serve worker beat smoke lint bench bench-load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

## run: install, migrate, load demo data, serve on http://$(HOST):$(PORT) with the scheduler in process
## (the links in its emails point at that address unless COMMERCE_BASE_URL / LMS_BASE_URL say otherwise)
run: export COMMERCE_BASE_URL ?= http://$(HOST):$(PORT)
run: export LMS_BASE_URL ?= http://$(HOST):$(PORT)
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/, API docs: /api/v1/docs/)"
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

## test: install the dev tools and run the whole suite (SQLite by default; DATABASE_URL/REDIS_URL switch)
test: venv-dev
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## smoke: the embedded default end to end (used by CI on a throwaway SQLite file)
smoke: venv
	PY=$(BIN)/python scripts/smoke.sh

worker: venv
	$(BIN)/celery -A config worker --loglevel INFO --without-gossip --without-mingle

beat: venv
	$(BIN)/celery -A config beat --loglevel INFO

bench: venv-dev
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

## bench-load: gunicorn + a Celery worker on PostgreSQL and Redis under load (README "Performance"; scratch
## database and Redis db from BENCH_LOAD_DATABASE_URL / BENCH_LOAD_REDIS_URL, dropped and emptied first)
bench-load: venv-dev
	$(BIN)/python bench/bench_load.py $(BENCH_LOAD_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
