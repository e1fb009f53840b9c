# mailsite: `make run` starts everything on embedded defaults; `make test` runs the test suite.
PYTHON ?= $(shell .ci/find-python)
VENV := .venv
VPY := $(VENV)/bin/python
DEV_SECRET := $(shell head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
ADDRPORT ?= 127.0.0.1:8000
# The make run log: 0 warnings and errors, 1 also one line per email and request, 2 also Celery and runserver.
VERBOSITY ?= 1

.PHONY: help install run worker beat test lint bench migrate messages docs clean

help:
	@echo "make run    start the web server (127.0.0.1:8000), a Celery worker and beat"
	@echo "make test   run the test suite"
	@echo "make lint   ruff and the migrations check"
	@echo "make docs   build the documentation into docs/_build/html (fails on any warning)"
	@echo "make bench  run the benchmark suite (writes bench/results.json; BENCH_SCALE=0.1 for a quick run)"
	@echo "make messages  collect new strings into each catalogue (locale/, accounts/locale/, notifications/locale/) and compile them"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required (make PYTHON=/path/to/python3.12)"; exit 1; }
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	DEBUG=$${DEBUG:-1} $(VPY) manage.py migrate --noinput

# The local development environment that every command reads (manage.py, celery), as
# cookiecutter-django's .envs/.local: DEBUG on and a key of its own, so sessions survive a restart.
# Written once; an existing .env is never touched (delete it for a new key).
.env:
	@printf '%s\n' "# Written by 'make run' for development on this machine only; never deploy it." \
	  "# See .env.example for every variable." "DEBUG=1" \
	  "SECRET_KEY=$$(cat var/dev-secret-key 2>/dev/null || echo $(DEV_SECRET))" > $@
	@echo "mailsite: wrote .env (DEBUG=1 and a development SECRET_KEY) for manage.py and celery."

run: install .env
	DEBUG=1 $(VPY) manage.py migrate --noinput
	@# The compiled translations are committed; this only refreshes them after a .po edit (needs GNU gettext).
	@if command -v msgfmt >/dev/null; then DEBUG=1 $(VPY) manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=var -v 0; fi
	@echo "mailsite: http://$(ADDRPORT)/  (dev mailbox: http://$(ADDRPORT)/dev/mailbox/). Ctrl-C stops everything."
	DEBUG=1 $(VPY) manage.py rundev -v $(VERBOSITY) $(ADDRPORT)

# DEBUG=0 unless given: the tests run as production does, whatever make run's .env says.
test: install
	DEBUG=$${DEBUG:-0} SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET)} $(VPY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	SECRET_KEY=$(DEV_SECRET) $(VPY) manage.py makemigrations --check --dry-run

bench: install
	SECRET_KEY=$${SECRET_KEY:-$(DEV_SECRET)} $(VPY) -m bench $(BENCH_ARGS)

messages: install
	DEBUG=1 $(VPY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=bench --ignore=docs --ignore=test-results
	DEBUG=1 $(VPY) manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=var
	@echo "Translate every empty msgstr in */locale/zh_Hans/LC_MESSAGES/django.po and locale/, then run make messages again."

# The documentation site (Sphinx, MyST, Furo); -W: any warning fails the build, -n: so does a
# reference to something that does not exist.
docs: install
	$(VPY) -m sphinx -W --keep-going -n -q -b html docs docs/_build/html
	@echo "mailsite: the documentation is in docs/_build/html/index.html"

clean:
	rm -rf $(VENV) var
