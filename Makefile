# The two commands: `make run` (start the platform, embedded default) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MOCK_PORT ?= 8100
HOST ?= 127.0.0.1
# The demo's mock LLM answers at a model's pace, so the chat page visibly streams and Stop has time to work:
# the first token after DEMO_TTFT_MS, then DEMO_TPS tokens/s, prose of DEMO_MIN_TOKENS..DEMO_MAX_TOKENS tokens.
# Tests and benchmarks start their own mock, instant and with plain 20-word answers.
DEMO_TTFT_MS ?= 300
DEMO_TPS ?= 30
DEMO_MIN_TOKENS ?= 40
DEMO_MAX_TOKENS ?= 260
DEMO_MOCK_FLAGS = --prose --ttft-ms $(DEMO_TTFT_MS) --tps $(DEMO_TPS) --min-tokens $(DEMO_MIN_TOKENS) --tokens $(DEMO_MAX_TOKENS)
UVICORN_FLAGS := --loop uvloop --http httptools --no-access-log --ws wsproto --ws-per-message-deflate false --ws-max-size 1048576

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint install install-test browser otp migrate clean

# Polls a URL until it answers (the mock LLM must be up before the platform takes requests).
define WAIT_FOR_MOCK
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the mock LLM server did not start")
endef
export WAIT_FOR_MOCK

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-base: $(BIN)/python requirements/base.txt
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base requirements/test.txt
	$(BIN)/pip install --quiet -r requirements/test.txt
	touch $@

# The Vercel AI SDK for tests/test_ai_sdk_live.py, pinned by tests/js/package-lock.json.
tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed-base
install-test: $(VENV)/.installed-test tests/js/node_modules/.installed

## browser: Debian's Chromium for the chat page's browser tests (Playwright drives it; no download)
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; }

## run: migrate, seed the demo tenant, key and mock catalogue, serve on $(HOST):$(PORT) beside the mock LLM
## (Ctrl+C or SIGTERM stops both cleanly: the server finishes its shutdown, make exits 0)
run: install
	@DJANGO_SETTINGS_MODULE=catalyst.settings.local $(BIN)/python manage.py preflight
	DJANGO_SETTINGS_MODULE=catalyst.settings.local $(BIN)/python manage.py migrate --noinput -v 0
	DJANGO_SETTINGS_MODULE=catalyst.settings.local $(BIN)/python manage.py seed_demo \
		--base-url http://$(HOST):$(PORT) --mock-url http://$(HOST):$(MOCK_PORT)
	@export DJANGO_SETTINGS_MODULE=catalyst.settings.local; \
	$(BIN)/python manage.py runmock --host $(HOST) --port $(MOCK_PORT) $(DEMO_MOCK_FLAGS) & mock=$$!; \
	trap 'kill $$mock 2>/dev/null' EXIT; \
	$(BIN)/python -c "$$WAIT_FOR_MOCK" http://$(HOST):$(MOCK_PORT)/_mock/health || exit 1; \
	$(BIN)/uvicorn --host $(HOST) --port $(PORT) $(UVICORN_FLAGS) catalyst.asgi:application & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null; echo "Catalyst stopped."; exit 0' INT TERM; \
	wait $$server

## test: lint, migration check and the whole suite on PostgreSQL + pgvector and Redis
test: install-test browser lint
	DJANGO_SETTINGS_MODULE=catalyst.settings.test $(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=catalyst.settings.local CATALYST_VAR_DIR=$$(mktemp -d) $(BIN)/python manage.py makemigrations --check --dry-run -v 0

## otp: print the local admin's current TOTP code (DEBUG only)
otp: install
	DJANGO_SETTINGS_MODULE=catalyst.settings.local $(BIN)/python manage.py totp_code admin

clean:
	rm -rf $(VENV) var tests/js/node_modules
