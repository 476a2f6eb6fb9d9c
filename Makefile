# dealbooks — every target sets up what it needs (virtualenv, packages, generated code) first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
UV := $(BIN)/uv
UV_VERSION := 0.13.9
BUF := node_modules/.bin/buf
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
PROTOS := $(shell find proto -name '*.proto')
GEN_STAMP := src/dealbooks/v1/.generated-stamp
PYTEST_ARGS ?=
# The browser tests drive Debian's Chromium (Playwright cannot download a browser here); the
# tests read the same variable. APT_GET is there to try the target's other branches.
DEALBOOKS_CHROMIUM ?= /usr/bin/chromium
APT_GET ?= apt-get
CHROMIUM_INSTALL := apt-get update && apt-get install -y chromium

export PYTHONPATH := $(CURDIR)/src
export PYTHONDONTWRITEBYTECODE := 1
export DEALBOOKS_CHROMIUM

.PHONY: help setup proto gen lint lint-python lint-proto breaking test test-unit test-contract \
        test-integration test-e2e test-resilience test-browser chromium run migrate bench soak \
        clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(PY) -r requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMP) $(NODE_STAMP) $(GEN_STAMP) ## create the virtualenv, install packages, generate code

$(GEN_STAMP): $(PROTOS) $(STAMP)
	@mkdir -p src/dealbooks/v1
	$(PY) -m grpc_tools.protoc -I proto --python_out=src --pyi_out=src --grpc_python_out=src \
		--include_source_info --descriptor_set_out=src/dealbooks/v1/descriptors.binpb $(PROTOS)
	@touch src/dealbooks/__init__.py src/dealbooks/v1/__init__.py
	@touch $@

proto gen: $(STAMP) ## regenerate the gRPC/protobuf code from proto/
	@rm -f $(GEN_STAMP)
	@$(MAKE) --no-print-directory $(GEN_STAMP)

lint: lint-python lint-proto ## ruff, mypy --strict, import-linter, buf lint/format/breaking

lint-python: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

lint-proto: $(NODE_STAMP)
	$(BUF) lint
	$(BUF) format -d --exit-code
	@$(MAKE) --no-print-directory breaking

breaking: $(NODE_STAMP) ## buf breaking against main (skipped until main has a proto)
	@if git rev-parse --verify -q main >/dev/null && git cat-file -e main:buf.yaml 2>/dev/null; then \
	  echo "buf breaking --against .git#branch=main"; \
	  $(BUF) breaking --against '.git#branch=main'; \
	else echo "buf breaking: no proto on main yet, nothing to compare"; fi

chromium: ## Debian's chromium for the browser tests: installed if missing (as root), else how to
	@if [ -x "$(DEALBOOKS_CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v "$(APT_GET)" >/dev/null 2>&1; then \
	  echo "$(DEALBOOKS_CHROMIUM) is missing: installing Debian's chromium for the browser tests"; \
	  log=$$(mktemp); \
	  { $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive \
	      $(APT_GET) install -y -qq chromium; } >"$$log" 2>&1 \
	    || { tail -n 20 "$$log" >&2; rm -f "$$log"; \
	         echo "make: installing chromium failed (above); as root, run: $(CHROMIUM_INSTALL)" >&2; \
	         exit 1; }; \
	  rm -f "$$log"; \
	  [ -x "$(DEALBOOKS_CHROMIUM)" ] && exit 0; \
	  echo "make: chromium is installed but $(DEALBOOKS_CHROMIUM) is not it; run:" >&2; \
	  echo "    make $(MAKECMDGOALS) DEALBOOKS_CHROMIUM=$$(command -v chromium || echo /path/to/chromium)" >&2; \
	elif command -v "$(APT_GET)" >/dev/null 2>&1; then \
	  echo "make: the browser tests need Debian's chromium at $(DEALBOOKS_CHROMIUM); run:" >&2; \
	  echo "    sudo sh -c '$(CHROMIUM_INSTALL)'" >&2; \
	else \
	  echo "make: the browser tests need Chromium at $(DEALBOOKS_CHROMIUM); install it, or run:" >&2; \
	  echo "    make $(MAKECMDGOALS) DEALBOOKS_CHROMIUM=/path/to/chromium" >&2; \
	fi; \
	exit 1

test: chromium setup lint ## lint, then the whole test suite (unit ... e2e, browser, resilience short)
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-contract: setup
	$(BIN)/pytest tests/contract $(PYTEST_ARGS)

test-integration: setup
	$(BIN)/pytest tests/integration tests/emulators $(PYTEST_ARGS)

test-e2e: setup
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

test-browser: chromium setup ## the browser tests (headless Chromium through the demo page)
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

test-resilience: setup ## the resilience suite at short scale (make test runs it too)
	$(BIN)/pytest tests/resilience $(PYTEST_ARGS)

soak: setup ## the resilience suite at full scale: 1,000 creates from 20 clients, 60 s outage...
	DEALBOOKS_SOAK=1 $(BIN)/pytest tests/resilience $(PYTEST_ARGS)

migrate: setup ## apply database migrations
	$(BIN)/dealbooks migrate

run: setup ## start the demo: embedded Postgres, emulators, the service
	$(BIN)/dealbooks demo

bench: setup ## run the benchmarks in bench/, write bench/results.json
	$(PY) -m bench

clean: ## remove the virtualenv, generated code and local data
	rm -rf $(VENV) node_modules src/dealbooks .data .pytest_cache .mypy_cache .ruff_cache
