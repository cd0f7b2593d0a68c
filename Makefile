# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
ADDR ?= 127.0.0.1:8000
# The embedded default: DEBUG on, SQLite, filesystem broker (override with DATABASE_URL / REDIS_URL).
RUN_ENV := DEBUG=$${DEBUG:-1}

.PHONY: install run migrate seed test test-fast lint format messages bench-register bench-inapp bench-transport bench-fanout bench-render bench-dashboard bench-retention clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(RUN_ENV) $(PY) manage.py migrate --noinput

seed: migrate
	$(RUN_ENV) $(PY) manage.py seed_demo

run: seed
	$(RUN_ENV) $(PY) manage.py runstack --addr $(ADDR)

test: install
	DEBUG=$${DEBUG:-1} $(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	DEBUG=$${DEBUG:-1} $(PY) -m pytest -m "not integration and not browser" $(PYTEST_ARGS)

# mypy's django-stubs plugin imports the settings, which want DEBUG on or a SECRET_KEY.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=1 $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The French catalogues (locale/fr/LC_MESSAGES): gather every marked string of the templates and
# the Python code (django.po) and of static/js (djangojs.po), keep the translations already
# there, then compile the .mo files the app reads. Needs GNU gettext (apt-get install gettext).
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=staticfiles --ignore=tests --ignore=bench --ignore=static/vendor
messages: install
	$(RUN_ENV) $(PY) manage.py makemessages --locale=fr --domain=django --no-obsolete $(MESSAGES_IGNORE)
	$(RUN_ENV) $(PY) manage.py makemessages --locale=fr --domain=djangojs --no-obsolete $(MESSAGES_IGNORE)
	$(RUN_ENV) $(PY) manage.py compilemessages --locale=fr --ignore=.venv

bench-register: install
	$(PY) bench/register.py

bench-inapp: install
	$(PY) bench/inapp.py

bench-transport: install
	$(PY) bench/transport.py

bench-fanout: install
	$(PY) bench/fanout.py

bench-render: install
	DEBUG=1 $(PY) bench/render.py

bench-dashboard: install
	$(PY) bench/dashboard.py

bench-retention: install
	$(PY) bench/retention.py

clean:
	rm -rf var staticfiles .pytest_cache
