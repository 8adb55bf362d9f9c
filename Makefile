# The two set-up commands: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

export DATABASE_URL_TEST ?= postgres://postgres@127.0.0.1:5432/outbound
export REDIS_URL_TEST    ?= redis://127.0.0.1:6379/15

.PHONY: demo test lint docs docs-build bench-import bench-webhooks bench-voice bench-sms install clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e '.[dev,demo]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## A live voice campaign and SMS blast on embedded SQLite and Redis, then the admin on :8000 until
## Ctrl-C (DEMO_EXIT=1: exit after the summaries; DEMO_PROSPECTS=N, DEMO_SMS_PROSPECTS=N;
## DATABASE_URL/REDIS_URL to use servers).
demo: install
	$(PY) scripts/demo.py

## Run the whole suite against PostgreSQL and Redis (DATABASE_URL / REDIS_URL, local defaults).
test: install
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
	  $(PY) scripts/check_services.py
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
	  SECRET_KEY=test-secret $(PY) -m pytest $(PYTEST_ARGS)

## ruff, the import contracts of pyproject.toml ([tool.importlinter]), and no import cycle
## between any two modules (scripts/import_cycles.py).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) scripts/import_cycles.py

## The documentation site on :8001 while you edit docs/ (docs-build: once, --strict).
docs: install
	$(VENV)/bin/mkdocs serve -a 127.0.0.1:8001

docs-build: install
	$(VENV)/bin/mkdocs build --strict --site-dir var/site

bench-import: install
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
	  SECRET_KEY=bench-secret $(PY) bench/import_prospects.py $(BENCH_ARGS)

bench-webhooks: install
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/13} \
	  SECRET_KEY=bench-secret $(PY) bench/webhooks.py $(BENCH_ARGS)

bench-voice: install
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} \
	  SECRET_KEY=bench-secret $(PY) bench/voice_dispatch.py $(BENCH_ARGS)

bench-sms: install
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} \
	  SECRET_KEY=bench-secret $(PY) bench/sms_blast.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
