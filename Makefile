# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-rabbitmq lint bench faults demo install migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -qq --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

# The service on the embedded default (SQLite file and kombu's filesystem broker under var/): web server,
# a real Celery worker and beat, as in production. Ctrl-C stops all three.
run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensure_admin
	@echo "Open http://localhost:$(PORT)/ — Ctrl-C stops the web server, the worker and beat."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT) web worker housekeeping beat

# `make demo`: `make run` plus the Jira and Intercom simulators, connected and seeded, on 127.0.0.1 only; the
# simulators take free ports (or JIRA_PORT / INTERCOM_PORT); the command prints what to try, the login last.
ifeq ($(MAKECMDGOALS),demo)
FREE_PORT = $(shell $(PYTHON) -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
JIRA_PORT := $(or $(JIRA_PORT),$(FREE_PORT))
INTERCOM_PORT := $(or $(INTERCOM_PORT),$(FREE_PORT))
endif
demo: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	grep -E '^(web|worker|housekeeping|beat):' Procfile > var/Procfile.demo
	echo "demo: python -m sandbox.demo --service-url http://127.0.0.1:$(PORT) --jira-port $(JIRA_PORT) --intercom-port $(INTERCOM_PORT)" >> var/Procfile.demo
	WEB_BIND=127.0.0.1:$(PORT) ALLOW_PRIVATE_URLS=1 \
		ATLASSIAN_AUTH_URL=http://127.0.0.1:$(JIRA_PORT) ATLASSIAN_API_URL=http://127.0.0.1:$(JIRA_PORT) \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f var/Procfile.demo -d $(CURDIR) \
		start --port $(PORT) web worker housekeeping beat demo

# The whole suite against PostgreSQL and Redis (local defaults, or DATABASE_URL / REDIS_URL).
# The minutes-long fault scenarios run whole in `make faults`; here a bounded sample of them.
FAULT_SAMPLE := $(foreach s,kill_worker redis_down sentinel_failover,"tests/faults/test_faults.py::test_every_note_arrives_exactly_once[$(s)]")

test: $(STAMP)
	bash .ci/services
	DJANGO_ENV=test $(BIN)/pytest -m "not faults" $(PYTEST_ARGS)
	DJANGO_ENV=test $(BIN)/pytest $(FAULT_SAMPLE)

# The pipeline's tests and the worker fault scenarios with RabbitMQ as the broker (quorum queues, in a virtual
# host of their own); Redis keeps the rate limiter and the leases.
test-rabbitmq: $(STAMP)
	bash .ci/services
	DJANGO_ENV=test $(BIN)/python -m tests.faults.ha $(BIN)/pytest tests/pipeline tests/linking/test_worker_pipeline.py $(PYTEST_ARGS)
	DJANGO_ENV=test $(BIN)/python -m tests.faults.ha $(BIN)/pytest -m faults tests/faults -k "kill_worker or errors_then_429"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(STAMP)
	bash .ci/services
	DJANGO_ENV=test $(BIN)/python -m bench $(BENCH_ARGS)

faults: $(STAMP)
	bash .ci/services
	DJANGO_ENV=test $(BIN)/pytest -m faults tests

clean:
	rm -rf var/broker var/static .pytest_cache
